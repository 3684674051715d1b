import ArgumentParser
import Celery

/// `result`: prints a task's stored result document, or with `--wait` its value once it is ready.
struct ResultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "result", abstract: "Print a task's stored result document; --wait prints its value when ready.")

    @Argument(help: "Task id.")
    var taskID: String

    @Flag(help: "Wait until the task is ready and print its return value; states stored meanwhile are shown on stderr.")
    var wait = false

    @Option(help: "Seconds to wait with --wait.")
    var timeout: Double = 60

    @Flag(help: "With --wait: print the whole result document as JSON instead of the value.")
    var json = false

    @Flag(help: "With --wait: do not show intermediate states.")
    var quiet = false

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await connection.withClient { client in
            let result = client.asyncResult(taskID)
            if wait {
                try await printResult(result, timeout: timeout, json: json, progress: !quiet)
                return
            }
            let document = try await withExitCodes { try await result.document() }
            if let document {
                print(String(decoding: document.jsonBytes(), as: UTF8.self))
            } else {
                let pending = JSONObject([("status", "PENDING"), ("task_id", .string(taskID))])
                print(JSONValue.object(pending).pythonJSONString())
            }
        }
    }
}
