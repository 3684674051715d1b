import ArgumentParser
import Celery

/// `purge`: removes every waiting message from queues, as `celery purge` does, after asking.
struct PurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Remove every waiting message from queues, as `celery purge` (no undo).",
        discussion: "Messages a worker already holds (in unacked) are not touched.")

    @Option(name: [.customShort("Q"), .long], help: "Comma-separated queues (default: celery).")
    var queues: String = "celery"

    @Flag(name: [.short, .long], help: "Do not ask for confirmation.")
    var force = false

    @Flag(help: "Print {\"queue\": removed, ...} as JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let names = queues.split(separator: ",").map { String($0).filter { !$0.isWhitespace } }
        if !force {
            printError("WARNING: This will remove all tasks from \(names.count == 1 ? "queue" : "queues"): \(names.joined(separator: ", ")).")
            printError("         There is no undo for this operation!")
            printError("Do you wish to continue? [y/N] ", newline: false)
            guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
                printError("Aborted.")
                throw ExitCode(1)
            }
        }
        try await connection.withClient { client in
            let removed = try await withExitCodes {
                var removed: [(String, JSONValue)] = []
                for name in names { removed.append((name, .integer(Int64(try await client.purge(queue: name))))) }
                return removed
            }
            if json {
                print(JSONValue.object(JSONObject(removed)).pythonJSONString())
            } else {
                let total = removed.reduce(0) { $0 + Int($1.1.integerValue ?? 0) }
                let knownQueues = "\(names.count) known task queue\(names.count == 1 ? "" : "s")"
                print("Purged \(total) message\(total == 1 ? "" : "s") from \(knownQueues).")
            }
        }
    }
}
