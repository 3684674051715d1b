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
    /// The hard time limit in force (`self.request.time_limit`): the message's, else the one
    /// set by the `time_limit` control command, the task's, the worker's; `nil` or zero: none.
    public var timeLimit: Duration?
    /// The soft time limit in force (`self.request.soft_time_limit`), chosen likewise.
    public var softTimeLimit: Duration?
    /// A logger whose metadata names the task (`celery.task.id`, `celery.task.name`).
    public let logger: Logger
    /// The whole decoded message.
    public let message: TaskMessage
    /// Stores a state for this task in the result backend; set by the worker.
    let stateUpdater: (@Sendable (TaskState, JSONValue) async throws -> Void)?
    /// Publishing and the other tasks, for ``apply(_:args:)``, ``call(_:args:kwargs:)`` and
    /// ``replace(with:)``; set by the worker.
    var services: WorkerServices?

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

    /// The task's function name as Python error messages show it: the last part of its name.
    public var functionName: String {
        String(name.split(separator: ".").last ?? Substring(name))
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
        let function = functionName
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

/// What a worker lends the requests it runs: its publisher and its tasks.
struct WorkerServices: Sendable {
    let publisher: CanvasPublisher
    let registry: TaskRegistry
}

extension TaskRequest {
    /// `sig.apply_async()` from inside this task: publishes a task or canvas with this task as
    /// its parent (`parent_id`) and this task's root as its root; returns the id of the result
    /// standing for it.
    ///
    /// - Throws: ``CeleryError`` when the request does not come from a worker.
    @discardableResult
    public func apply(_ signature: Signature, args: [JSONValue] = []) async throws -> String {
        try await workerServices().publisher.apply(signature, prepending: args, origin: CanvasDispatch.origin(of: message)).id
    }

    /// Calls another registered task in this process, as Python's `task(*args, **kwargs)`
    /// does inside a task: no message, no stored result; its exception propagates.
    ///
    /// - Throws: Celery's `NotRegistered` (a ``PythonException``) when no task has that name.
    public func call(_ name: String, args: [JSONValue] = [], kwargs: JSONObject = JSONObject()) async throws -> JSONValue {
        let services = try workerServices()
        guard let definition = services.registry[name] else {
            throw PythonException("NotRegistered", module: "celery.exceptions", arguments: [.string(name)])
        }
        var inner = message
        inner.headers.object["task"] = .string(name)
        inner.args = args
        inner.kwargs = kwargs
        var request = TaskRequest(message: inner, queue: queue, hostname: hostname, logger: logger, stateUpdater: stateUpdater)
        request.services = services
        request.timeLimit = timeLimit
        request.softTimeLimit = softTimeLimit
        return try await definition.handler(request)
    }

    /// Celery's `self.replace(sig)`: publishes `signature` in this task's place and ends the
    /// task without a result. The replacement gets this task's id for its final result (so
    /// `AsyncResult(id)` callers get its outcome), its group, chord, root, callbacks and
    /// errbacks, and the rest of its chain; `replaced_task_nesting` goes up by one. A group is
    /// turned into a chord whose body (`celery.accumulate`) returns the list of its results.
    ///
    /// - Throws: always: ``TaskIgnore`` once the replacement is published, as Celery raises
    ///   `Ignore('Replaced by new task')`; a ``PythonException`` (`ImproperlyConfigured`) for an
    ///   empty chain.
    public func replace(with signature: Signature) async throws -> Never {
        let services = try workerServices()
        var replacement = signature
        if replacement.subtaskType == "chain", replacement.chainSteps.isEmpty {
            throw PythonException("ImproperlyConfigured", module: "celery.exceptions", arguments: ["Cannot replace with an empty chain"])
        }
        if replacement.options["chord"] != nil {
            throw PythonException(
                "ImproperlyConfigured", module: "celery.exceptions",
                arguments: ["A signature to replace with can not be a chord"])
        }
        if replacement.subtaskType == "group" {
            replacement = .chord(replacement.chainSteps, body: Signature("celery.accumulate", kwargs: ["index": 0]), options: replacement.options)
        }
        let nesting = (headers.object["replaced_task_nesting"]?.integerValue).map(Int.init) ?? 0
        if replacement.subtaskType == "chain" {
            var steps = replacement.chainSteps
            // A chain ending in a group gets the accumulating body too, so its result is the list.
            if let last = steps.last, last.subtaskType == "group" {
                steps[steps.count - 1] = .chord(last.chainSteps, body: Signature("celery.accumulate", kwargs: ["index": 0]), options: last.options)
            }
            steps = steps.map { $0.setting(["replaced_task_nesting": .integer(Int64(nesting + 1))]) }
            replacement.kwargs["tasks"] = .array(steps.map(\.jsonValue))
        }
        for callback in TaskOptions.signatures(message.embed["callbacks"]) { replacement = replacement.linking(callback) }
        for errback in TaskOptions.signatures(message.embed["errbacks"]) { replacement = replacement.linkingError(errback) }
        _ = replacement.freezeResultID(replyTo: services.publisher.builder.replyTo, id: id)
        var origin = CanvasDispatch.origin(of: message)
        origin.replacedTaskNesting = nesting + 1
        let remaining = TaskOptions.signatures(message.embed["chain"]).map {
            $0.setting(["replaced_task_nesting": .integer(Int64(nesting + 1))])
        }
        _ = try await services.publisher.apply(
            replacement, origin: origin, chain: remaining, groupID: headers.group, groupIndex: headers.groupIndex,
            chord: message.embed["chord"].flatMap(Signature.init(json:)))
        logger.info("Task \(name)[\(id)] replaced by \(replacement.task)")
        throw TaskIgnore()
    }

    /// Celery's `self.add_to_chord(sig)`: publishes `signature` as one more header task of
    /// the chord this task belongs to (its group, index, chord body and root), and grows the
    /// chord's expected size (`.t` key of the Redis backend) so the body waits for it.
    ///
    /// - Returns: the id of the task added.
    /// - Throws: Python's `ValueError` when this task is not part of a chord.
    @discardableResult
    public func addToChord(_ signature: Signature) async throws -> String {
        let services = try workerServices()
        guard let chord = message.embed["chord"].flatMap(Signature.init(json:)), let group = headers.group else {
            throw PythonException.valueError("Current task is not member of any chord")
        }
        var frozen = signature
        let id = frozen.freezeResultID(replyTo: services.publisher.builder.replyTo)
        try await services.publisher.backend.addToChord(groupID: group)
        _ = try await services.publisher.apply(frozen, origin: CanvasDispatch.origin(of: message), groupID: group, groupIndex: headers.groupIndex, chord: chord)
        return id
    }

    private func workerServices() throws -> WorkerServices {
        guard let services else {
            throw CeleryError(code: .invalidConfiguration, message: "\(name)[\(id)]: publishing from a task needs a request made by a worker")
        }
        return services
    }
}
