import ArgumentParser
import Celery

/// `peek`: shows the messages waiting in a queue, decoded by ``MessageView``, without taking them.
struct PeekCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peek",
        abstract: "Show the messages waiting in a queue, next first, without taking them (one JSON object per line).")

    @Argument(help: "Queue name.")
    var queue: String = "celery"

    @Option(help: "At most this many messages.")
    var limit: Int = 10

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await connection.withClient { client in
            let entries = try await withExitCodes { try await client.peek(queue: queue, limit: limit) }
            for entry in entries {
                var view = MessageView.describe(entry.raw)
                view["list"] = .string(entry.key)
                print(JSONValue.object(view).pythonJSONString())
            }
        }
    }
}
