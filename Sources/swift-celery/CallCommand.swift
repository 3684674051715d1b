import ArgumentParser
import Celery

/// `call`: sends one task by name, as `apply_async` does, and prints its id (or, with `--wait`, its result).
struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Send a task by name, as apply_async does; print its id, or its result with --wait.")

    @Argument(help: "Task name, e.g. tasks.add.")
    var name: String

    @Option(name: [.short, .long], help: "Positional arguments as a JSON array.")
    var args: String = "[]"

    @Option(name: [.short, .long], help: "Keyword arguments as a JSON object.")
    var kwargs: String = "{}"

    @Option(name: [.short, .long], help: "Queue to send to (default: celery).")
    var queue: String?

    @Option(help: "Route through this exchange's kombu bindings instead of a queue (with --routing-key).")
    var exchange: String?

    @Option(help: "Routing key used with --exchange.")
    var routingKey: String?

    @Option(help: "Seconds to wait before running.")
    var countdown: Double?

    @Option(help: "Earliest run time, ISO-8601.")
    var eta: String?

    @Option(help: "Seconds after which the task expires.")
    var expires: Double?

    @Option(help: "Priority 0 (first) to 9.")
    var priority: Int = 0

    @Option(help: "Task id to use.")
    var taskId: String?

    @Option(help: "Compress the message as kombu does: gzip/zlib, bzip2, lzma/xz, zstd or brotli (default: task_compression).")
    var compression: String?

    @Flag(help: "Wait for the result and print it.")
    var wait = false

    @Option(help: "Seconds to wait with --wait.")
    var timeout: Double = 60

    @Flag(help: "Print JSON for scripts: {\"task_id\": ...}, or with --wait the whole result document.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let arguments = try parseJSONArray(args, option: "--args")
        let keywordArguments = try parseJSONObject(kwargs, option: "--kwargs")
        var options = TaskOptions(taskID: taskId, queue: queue, priority: priority)
        options.exchange = exchange
        options.routingKey = routingKey
        options.compression = compression
        if let countdown { options.countdown = duration(seconds: countdown) }
        if let expires { options.expiresIn = duration(seconds: expires) }
        if let eta {
            guard let parsed = CeleryTime.parse(eta) else { throw ValidationError("--eta is not ISO-8601: \(eta)") }
            options.eta = parsed.date
        }
        try await connection.withClient { client in
            let result = try await withExitCodes {
                try await client.send(name, args: arguments, kwargs: keywordArguments, options: options)
            }
            if wait {
                try await printResult(result, timeout: timeout, json: json)
            } else if json {
                print(JSONValue.object(["task_id": .string(result.id)]).pythonJSONString())
            } else {
                print(result.id)
            }
        }
    }
}
