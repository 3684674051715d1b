import ArgumentParser
import Celery

/// `control`: sends a remote-control command that changes the workers (revoke, rate_limit, shutdown, ...).
struct ControlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "control",
        abstract: "Steer the workers: revoke ID [--terminate], rate_limit TASK RATE, shutdown, add_consumer QUEUE, cancel_consumer QUEUE.")

    @Argument(help: "The control command.")
    var method: String

    @Argument(help: "Its arguments (a task id, a task name and rate, a queue).")
    var values: [String] = []

    @Flag(help: "With revoke: cancel the task if it is running.")
    var terminate = false

    @Option(help: "Seconds to wait for replies.")
    var timeout: Double = 1

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await connection.withClient { client in
            var arguments = JSONObject()
            switch method {
            case "revoke", "terminate":
                guard let id = values.first else { throw ValidationError("\(method) needs a task id") }
                arguments = [
                    "task_id": .string(id), "terminate": .bool(terminate || method == "terminate"), "signal": "SIGTERM",
                ]
            case "rate_limit":
                guard values.count == 2 else { throw ValidationError("rate_limit needs a task name and a rate") }
                arguments = ["task_name": .string(values[0]), "rate_limit": .string(values[1])]
            case "add_consumer", "cancel_consumer":
                guard let queue = values.first else { throw ValidationError("\(method) needs a queue") }
                arguments = ["queue": .string(queue)]
            case "shutdown":
                try await client.control.shutdown()
                print("shutdown sent")
                return
            default:
                break
            }
            let replies = try await client.control.broadcast(
                method, arguments: arguments, timeout: duration(seconds: timeout))
            try printReplies(replies)
        }
    }
}
