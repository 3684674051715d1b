import ArgumentParser
import Celery
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `swift-celery`: send tasks, read results and look into queues from the shell.
@main
struct SwiftCelery: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swift-celery",
        abstract: "Call Celery tasks, read their results and inspect queues over Redis.",
        subcommands: [Call.self, Apply.self, ResultCommand.self, Peek.self, Purge.self, Decode.self, Inspect.self, Control.self]
    )
}

/// Where the broker and backend are, shared by the subcommands that talk to Redis.
struct ConnectionOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Broker URL (default: $CELERY_BROKER_URL, then redis://localhost:6379/0).")
    var broker: String?

    @Option(name: [.long, .customLong("result-backend")], help: "Result backend URL (default: $CELERY_RESULT_BACKEND, then the broker URL).")
    var backend: String?

    @Option(name: .long, help: "A config file of Celery settings (celeryconfig.py of plain assignments, or JSON); CELERY_<NAME> variables and the flags above override it.")
    var config: String?

    func makeClient() throws -> CeleryClient {
        let (configuration, _) = try CeleryConfiguration.load(file: config, broker: broker, backend: backend)
        return try CeleryClient(configuration: configuration, logger: Logger(label: "swift-celery"))
    }
}

/// Exit codes: 0 success, 1 the task failed or was revoked, 2 usage, 3 timeout, 4 Redis or data error.
enum ExitCodes {
    static let taskFailed = ExitCode(1)
    static let timeout = ExitCode(3)
    static let backendError = ExitCode(4)
}

func printError(_ text: String, newline: Bool = true) {
    var line = text + (newline ? "\n" : "")
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func parseJSON(_ text: String, option: String) throws -> JSONValue {
    do {
        return try JSONValue(parsing: text)
    } catch {
        throw ValidationError("\(option) is not JSON: \(error)")
    }
}

/// Waits for a result and prints its value (or, with `json`, the whole result document);
/// the states stored meanwhile (STARTED, RETRY, PROGRESS, ...) are shown on stderr when
/// `progress` is set. Failures print the exception and exit 1.
func printResult(_ result: AsyncResult, timeout: Double, json: Bool = false, progress: Bool = false) async throws {
    do {
        let id = result.id
        let showUpdate: @Sendable (TaskResultDocument) -> Void = { update in
            let detail = update.result.isNull ? "" : " " + PythonRepr.repr(update.result, limit: 200)
            printError("\(id): \(update.status.rawValue)\(detail)")
        }
        let document: TaskResultDocument = try await result.wait(
            timeout: .milliseconds(Int(timeout * 1000)), onUpdate: progress ? showUpdate : nil)
        if json {
            print(String(decoding: document.jsonBytes(), as: UTF8.self))
            if document.status != .success { throw ExitCodes.taskFailed }
            return
        }
        if let exception = document.exception, document.status != .success {
            throw TaskFailedError(taskID: result.id, state: document.status, exception: exception, traceback: document.traceback)
        }
        print(document.result.pythonJSONString())
    } catch let failure as TaskFailedError {
        let module = failure.exception.module == "builtins" ? "" : failure.exception.module + "."
        printError("\(failure.state): \(module)\(failure.exception.pythonRepr)")
        if let traceback = failure.traceback { printError(traceback) }
        throw ExitCodes.taskFailed
    } catch let error as CeleryError where error.code == .timeout {
        printError("timeout: \(error)")
        throw ExitCodes.timeout
    } catch let error as CeleryError {
        printError("error: \(error)")
        throw ExitCodes.backendError
    }
}

struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
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

    @Flag(help: "Wait for the result and print it.")
    var wait = false

    @Option(help: "Seconds to wait with --wait.")
    var timeout: Double = 60

    @Flag(help: "Print JSON for scripts: {\"task_id\": ...}, or with --wait the whole result document.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        guard case .array(let arguments) = try parseJSON(args, option: "--args") else {
            throw ValidationError("--args must be a JSON array")
        }
        guard case .object(let keywordArguments) = try parseJSON(kwargs, option: "--kwargs") else {
            throw ValidationError("--kwargs must be a JSON object")
        }
        var options = TaskOptions(taskID: taskId, queue: queue, priority: priority)
        options.exchange = exchange
        options.routingKey = routingKey
        if let countdown { options.countdown = .milliseconds(Int(countdown * 1000)) }
        if let expires { options.expiresIn = .milliseconds(Int(expires * 1000)) }
        if let eta {
            guard let parsed = CeleryTime.parse(eta) else { throw ValidationError("--eta is not ISO-8601: \(eta)") }
            options.eta = parsed.date
        }
        let client = try connection.makeClient()
        defer { client.close() }
        let result: AsyncResult
        do {
            result = try await client.send(name, args: arguments, kwargs: keywordArguments, options: options)
        } catch {
            printError("error: \(error)")
            throw ExitCodes.backendError
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

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish a canvas (a serialized Celery signature: task, chain, group or chord, as json.dumps(sig) prints it) as sig.apply_async() does.",
        discussion: """
            Prints the id of the result standing for the canvas (a chain's last step, a chord's body, a group's id), \
            then, for a group, one member id per line. With --wait prints the return value (a group's: the list of its members').
            """)

    @Argument(help: "The signature as JSON, e.g. {\"task\": \"celery.chain\", \"kwargs\": {\"tasks\": [...]}, \"subtask_type\": \"chain\"}.")
    var signature: String

    @Option(name: [.short, .long], help: "Arguments put in front of the (first) task's, as a JSON array.")
    var args: String = "[]"

    @Flag(help: "Save a group's result (GroupResult.save()) so Python's GroupResult.restore(id) reads it.")
    var save = false

    @Flag(help: "Wait for the result and print it.")
    var wait = false

    @Option(help: "Seconds to wait with --wait.")
    var timeout: Double = 60

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        guard let signature = Signature(json: try parseJSON(self.signature, option: "signature")) else {
            throw ValidationError("signature must be a JSON object with a 'task' name")
        }
        guard case .array(let arguments) = try parseJSON(args, option: "--args") else {
            throw ValidationError("--args must be a JSON array")
        }
        let client = try connection.makeClient()
        defer { client.close() }
        do {
            if signature.subtaskType == "group" {
                let group = try await client.applyGroup(signature, args: arguments)
                if save { try await group.save() }
                guard wait else {
                    print(([group.id] + group.results.map(\.id)).joined(separator: "\n"))
                    return
                }
                print(JSONValue.array(try await group.get(timeout: .milliseconds(Int(timeout * 1000)))).pythonJSONString())
                return
            }
            let result = try await client.apply(signature, args: arguments)
            if wait {
                try await printResult(result, timeout: timeout)
            } else {
                print(result.id)
            }
        } catch let error as CeleryError {
            printError("error: \(error)")
            throw error.code == .timeout ? ExitCodes.timeout : ExitCodes.backendError
        } catch let failure as TaskFailedError {
            let module = failure.exception.module == "builtins" ? "" : failure.exception.module + "."
            printError("\(failure.state): \(module)\(failure.exception.pythonRepr)")
            throw ExitCodes.taskFailed
        }
    }
}

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
        let client = try connection.makeClient()
        defer { client.close() }
        let result = client.asyncResult(taskID)
        if wait {
            try await printResult(result, timeout: timeout, json: json, progress: !quiet)
            return
        }
        do {
            if let document = try await result.document() {
                print(String(decoding: document.jsonBytes(), as: UTF8.self))
            } else {
                print(JSONValue.object(JSONObject([("status", "PENDING"), ("task_id", .string(taskID))])).pythonJSONString())
            }
        } catch {
            printError("error: \(error)")
            throw ExitCodes.backendError
        }
    }
}

struct Peek: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the messages waiting in a queue, next first, without taking them (one JSON object per line).")

    @Argument(help: "Queue name.")
    var queue: String = "celery"

    @Option(help: "At most this many messages.")
    var limit: Int = 10

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let client = try connection.makeClient()
        defer { client.close() }
        let entries: [(key: String, raw: [UInt8])]
        do {
            entries = try await client.peek(queue: queue, limit: limit)
        } catch {
            printError("error: \(error)")
            throw ExitCodes.backendError
        }
        for entry in entries {
            var view = MessageView.describe(entry.raw)
            view["list"] = .string(entry.key)
            print(JSONValue.object(view).pythonJSONString())
        }
    }
}

struct Purge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
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
        let client = try connection.makeClient()
        defer { client.close() }
        var removed: [(String, JSONValue)] = []
        do {
            for name in names { removed.append((name, .integer(Int64(try await client.purge(queue: name))))) }
        } catch {
            printError("error: \(error)")
            throw ExitCodes.backendError
        }
        if json {
            print(JSONValue.object(JSONObject(removed)).pythonJSONString())
        } else {
            let total = removed.reduce(0) { $0 + Int($1.1.integerValue ?? 0) }
            print("Purged \(total) message\(total == 1 ? "" : "s") from \(names.count) known task queue\(names.count == 1 ? "" : "s").")
        }
    }
}

struct Decode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode one raw queue entry from standard input into a JSON object with Celery's field names.")

    func run() async throws {
        var input: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(0, &chunk, chunk.count)
            if count <= 0 { break }
            input.append(contentsOf: chunk[0..<count])
        }
        while let last = input.last, last == 0x0A || last == 0x0D || last == 0x20 { input.removeLast() }
        do {
            let message = try TaskMessage(envelope: input)
            print(JSONValue.object(MessageView.object(for: message)).pythonJSONString())
        } catch {
            printError("error: cannot decode the message: \(error)")
            throw ExitCode(1)
        }
    }
}

/// The decoded view `decode` and `peek` print.
enum MessageView {
    static func object(for message: TaskMessage) -> JSONObject {
        JSONObject([
            ("protocol", .integer(Int64(message.protocolVersion))), ("content-type", .string(message.contentType)),
            ("content-encoding", .string(message.contentEncoding)), ("headers", .object(message.headers.object)),
            ("properties", .object(message.properties.object)), ("args", .array(message.args)),
            ("kwargs", .object(message.kwargs)), ("embed", .object(message.embed)),
        ])
    }

    static func describe(_ raw: [UInt8]) -> JSONObject {
        do {
            return object(for: try TaskMessage(envelope: raw))
        } catch {
            return JSONObject([("error", .string("\(error)"))])
        }
    }
}

/// Prints each node's reply as `celery inspect` does, then how many nodes answered.
func printReplies(_ replies: [String: JSONValue]) throws {
    guard !replies.isEmpty else {
        printError("Error: No nodes replied within time constraint")
        throw ExitCode(69)
    }
    for node in replies.keys.sorted() {
        print("->  \(node): OK")
        print("    \(replies[node]!.pythonJSONString())")
    }
    print("\n\(replies.count) node\(replies.count == 1 ? "" : "s") online.")
}

struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask every worker (Python or Swift): ping, stats, active, reserved, scheduled, registered, active_queues, revoked, conf, report, clock.")

    @Argument(help: "The inspect command.")
    var method: String

    @Option(help: "Seconds to wait for replies.")
    var timeout: Double = 1

    @Option(name: .customShort("d"), help: "Only these workers (comma-separated node names).")
    var destination: String?

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let client = try connection.makeClient()
        defer { client.close() }
        let replies = try await client.control.broadcast(
            method, destination: destination?.split(separator: ",").map(String.init),
            timeout: .milliseconds(Int(timeout * 1000)))
        try printReplies(replies)
    }
}

struct Control: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
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
        let client = try connection.makeClient()
        defer { client.close() }
        var arguments = JSONObject()
        switch method {
        case "revoke", "terminate":
            guard let id = values.first else { throw ValidationError("\(method) needs a task id") }
            arguments = ["task_id": .string(id), "terminate": .bool(terminate || method == "terminate"), "signal": "SIGTERM"]
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
        let replies = try await client.control.broadcast(method, arguments: arguments, timeout: .milliseconds(Int(timeout * 1000)))
        try printReplies(replies)
    }
}
