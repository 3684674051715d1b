import ArgumentParser
import Celery

/// `inspect`: asks every worker (Python or Swift) a read-only remote-control question.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Ask every worker (Python or Swift): ping, stats, active, reserved, scheduled, registered, active_queues, revoked, conf, report, clock.")

    @Argument(help: "The inspect command.")
    var method: String

    @Option(help: "Seconds to wait for replies.")
    var timeout: Double = 1

    @Option(name: .customShort("d"), help: "Only these workers (comma-separated node names).")
    var destination: String?

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await connection.withClient { client in
            let replies = try await client.control.broadcast(
                method, destination: destination?.split(separator: ",").map(String.init),
                timeout: duration(seconds: timeout))
            try printReplies(replies)
        }
    }
}
