public import Logging

/// What a task handler receives: its arguments and the request context Celery's
/// `self.request` offers (id, retries, headers, delivery info, ...).
public struct TaskRequest: Sendable {
    /// The task id.
    public var id: String { message.headers.id }
    /// The registered task name.
    public var name: String { message.headers.task }
    /// Positional arguments.
    public var args: [JSONValue] { message.args }
    /// Keyword arguments.
    public var kwargs: JSONObject { message.kwargs }
    /// All headers, custom ones included.
    public var headers: TaskHeaders { message.headers }
    /// Retries already done.
    public var retries: Int { message.headers.retries }
    /// The id of the workflow's first task.
    public var rootID: String? { message.headers.rootID }
    /// The id of the task that published this one.
    public var parentID: String? { message.headers.parentID }
    /// The group id, for group and chord members.
    public var group: String? { message.headers.group }
    /// `eta` as sent.
    public var eta: String? { message.headers.eta }
    /// `expires` as sent.
    public var expires: String? { message.headers.expires }
    /// The envelope properties (delivery info, priority, ...).
    public var properties: MessageProperties { message.properties }
    /// The queue it was taken from.
    public let queue: String
    /// The worker's node name (`celery@host`).
    public let hostname: String
    /// The hard time limit in force, in seconds (`self.request.time_limit`).
    public var timeLimit: Double?
    /// The soft time limit in force, in seconds (`self.request.soft_time_limit`).
    public var softTimeLimit: Double?
    /// A logger whose metadata names the task (`celery.task.id`, `celery.task.name`).
    public let logger: Logger
    /// The whole decoded message.
    public let message: TaskMessage
    /// Stores a state for this task in the result backend; set by the worker.
    let stateUpdater: (@Sendable (TaskState, JSONValue) async throws -> Void)?

    /// A request for `message` taken from `queue` by worker `hostname`.
    public init(message: TaskMessage, queue: String, hostname: String, logger: Logger) {
        self.init(message: message, queue: queue, hostname: hostname, logger: logger, stateUpdater: nil)
    }

    init(
        message: TaskMessage, queue: String, hostname: String, logger: Logger,
        stateUpdater: (@Sendable (TaskState, JSONValue) async throws -> Void)?
    ) {
        self.message = message
        self.queue = queue
        self.hostname = hostname
        self.logger = logger
        self.stateUpdater = stateUpdater
    }

    /// Celery's `self.update_state(state=..., meta=...)`: stores `state` (a custom one such as
    /// `PROGRESS`, or a standard one) with `meta` as its result, which Python reads as
    /// `AsyncResult.state` and `AsyncResult.info`.
    public func updateState(_ state: TaskState, meta: JSONValue = nil) async throws {
        guard let stateUpdater else {
            throw CeleryError(code: .resultBackend, message: "update_state needs a worker-provided request")
        }
        try await stateUpdater(state, meta)
    }

    /// Binds arguments to parameter names as Python calls a function: positional first,
    /// then keywords; raises Python's `TypeError` for too many, missing, duplicate or
    /// unexpected arguments, worded as Python words it.
    ///
    /// - Parameters:
    ///   - parameters: the parameter names in order.
    ///   - defaults: values for parameters that may be left out.
    /// - Returns: every parameter's value, by name.
    public func bind(_ parameters: [String], defaults: [String: JSONValue] = [:]) throws -> [String: JSONValue] {
        let function = String(name.split(separator: ".").last ?? Substring(name))
        guard args.count <= parameters.count else {
            let required = parameters.count
            throw PythonException.typeError(
                "\(function)() takes \(required) positional argument\(required == 1 ? "" : "s") but \(args.count) \(args.count == 1 ? "was" : "were") given")
        }
        var bound: [String: JSONValue] = [:]
        for (parameter, value) in zip(parameters, args) { bound[parameter] = value }
        for (key, value) in kwargs {
            guard parameters.contains(key) else {
                throw PythonException.typeError("\(function)() got an unexpected keyword argument '\(key)'")
            }
            guard bound[key] == nil else {
                throw PythonException.typeError("\(function)() got multiple values for argument '\(key)'")
            }
            bound[key] = value
        }
        let missing = parameters.filter { bound[$0] == nil && defaults[$0] == nil }
        if !missing.isEmpty {
            let names = missing.map { "'\($0)'" }
            let list = names.count == 1 ? names[0] : names.dropLast().joined(separator: ", ") + " and " + names.last!
            throw PythonException.typeError(
                "\(function)() missing \(missing.count) required positional argument\(missing.count == 1 ? "" : "s"): \(list)")
        }
        for (parameter, value) in defaults where bound[parameter] == nil { bound[parameter] = value }
        return bound
    }
}
