public import CeleryJSON

/// A task state as the result backend stores it (`SUCCESS`, `FAILURE`, ... or a custom one).
public struct TaskState: RawRepresentable, Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    /// Unknown: nothing stored yet.
    public static let pending: TaskState = "PENDING"
    /// Received by a worker.
    public static let received: TaskState = "RECEIVED"
    /// Started (stored only with `track_started`).
    public static let started: TaskState = "STARTED"
    /// Returned a value.
    public static let success: TaskState = "SUCCESS"
    /// Raised an exception.
    public static let failure: TaskState = "FAILURE"
    /// Will be retried.
    public static let retry: TaskState = "RETRY"
    /// Revoked or expired.
    public static let revoked: TaskState = "REVOKED"
    /// Rejected by the task.
    public static let rejected: TaskState = "REJECTED"
    /// Ignored by the task.
    public static let ignored: TaskState = "IGNORED"

    /// `SUCCESS`, `FAILURE` and `REVOKED`: the states `AsyncResult.get()` stops at.
    public var isReady: Bool { self == .success || self == .failure || self == .revoked }
    /// `FAILURE`, `RETRY` and `REVOKED`: the states whose result is an exception.
    public var carriesException: Bool { self == .failure || self == .retry || self == .revoked }

    public var description: String { rawValue }
}

/// A Python exception as the result backend stores it:
/// `{"exc_type": "ValueError", "exc_message": ["bad"], "exc_module": "builtins"}`.
///
/// Python's `AsyncResult` rebuilds the class from `exc_module` and `exc_type` and re-raises it
/// with `exc_message` as its arguments.
public struct ExceptionInfo: Sendable, Hashable, CustomStringConvertible {
    /// The class name (`__qualname__`): `ValueError`, `NotRegistered`, `Outer.Inner`.
    public var type: String
    /// The module the class lives in: `builtins`, `celery.exceptions`, `myapp.errors`.
    public var module: String
    /// The exception's `args`.
    public var arguments: [JSONValue]

    /// An exception of `type` from `module` with `arguments`.
    public init(type: String, module: String = "builtins", arguments: [JSONValue]) {
        self.type = type
        self.module = module
        self.arguments = arguments
    }

    /// Reads the stored form; `nil` when `value` is not one.
    public init?(_ value: JSONValue) {
        guard let object = value.objectValue, let type = object["exc_type"]?.stringValue else { return nil }
        self.type = type
        self.module = object["exc_module"]?.stringValue ?? "builtins"
        switch object["exc_message"] {
        case .array(let values)?: arguments = values
        case nil, .null?: arguments = []
        case let other?: arguments = [other]
        }
    }

    /// The stored form.
    public var jsonValue: JSONValue {
        .object(JSONObject([("exc_type", .string(type)), ("exc_message", .array(arguments)), ("exc_module", .string(module))]))
    }

    /// Python's `repr(exc)`: `ValueError('bad')`, `KeyError('k', 1)`.
    public var pythonRepr: String {
        type.split(separator: ".").last.map(String.init)! + "(" + arguments.map(PythonRepr.repr).joined(separator: ", ") + ")"
    }

    /// Python's `str(exc)`: the one argument as text, or the tuple of them.
    public var pythonStr: String {
        switch arguments.count {
        case 0: return ""
        case 1: return arguments[0].stringValue ?? PythonRepr.repr(arguments[0])
        default: return PythonRepr.tupleRepr(arguments)
        }
    }

    public var description: String { pythonRepr }
}

/// A result document, `celery-task-meta-<id>`, in the field order Celery's Redis backend writes.
public struct TaskResultDocument: Sendable, Hashable {
    /// The state.
    public var status: TaskState
    /// The return value, the exception (``ExceptionInfo``'s form) or the progress meta.
    public var result: JSONValue
    /// The formatted traceback for failures raised in task code.
    public var traceback: String?
    /// Child results: `[[[child_id, null], null], ...]`.
    public var children: JSONValue
    /// When the task became ready, ISO-8601 UTC; `nil` for STARTED and RETRY.
    public var dateDone: String?
    /// The group id, for group and chord members.
    public var groupID: String?
    /// The parent task id, when the task had one.
    public var parentID: String?
    /// Fields written between `date_done`/`group_id`/`parent_id` and `task_id`: the
    /// `result_extended` ones (`name`, `args`, `kwargs`, `worker`, `retries`, `queue`) and,
    /// for stamped tasks, `stamped_headers` and each stamp, in their stored order.
    public var extended: JSONObject?
    /// The task id.
    public var taskID: String

    /// A document from its parts.
    public init(
        taskID: String, status: TaskState, result: JSONValue, traceback: String? = nil, children: JSONValue = .array([]),
        dateDone: String? = nil, groupID: String? = nil, parentID: String? = nil, extended: JSONObject? = nil
    ) {
        self.taskID = taskID
        self.status = status
        self.result = result
        self.traceback = traceback
        self.children = children
        self.dateDone = dateDone
        self.groupID = groupID
        self.parentID = parentID
        self.extended = extended
    }

    /// Reads a stored document.
    public init(json: JSONValue) throws(ProtocolError) {
        guard case .object(let object) = json else {
            throw ProtocolError(code: .malformedEnvelope, field: nil, reason: "result document is not a JSON object")
        }
        guard let status = object["status"]?.stringValue else {
            throw ProtocolError(code: .missingField, field: "status", reason: "is required")
        }
        self.status = TaskState(rawValue: status)
        self.result = object["result"] ?? .null
        self.traceback = object["traceback"]?.stringValue
        self.children = object["children"] ?? .null
        self.dateDone = object["date_done"]?.stringValue
        self.groupID = object["group_id"]?.stringValue
        self.parentID = object["parent_id"]?.stringValue
        self.taskID = object["task_id"]?.stringValue ?? ""
        let standard: Set<String> = [
            "status", "result", "traceback", "children", "date_done", "group_id", "parent_id", "task_id",
        ]
        var extended = JSONObject()
        for member in object where !standard.contains(member.key) {
            extended.appendUnchecked(key: member.key, value: member.value)
        }
        self.extended = extended.isEmpty ? nil : extended
    }

    /// The exception, for FAILURE, RETRY and REVOKED documents.
    public var exception: ExceptionInfo? {
        status.carriesException ? ExceptionInfo(result) : nil
    }

    /// What Python's `AsyncResult.get()` raises for this document: for FAILURE and REVOKED
    /// (Celery's `PROPAGATE_STATES`) always, whatever the result's shape: the stored
    /// exception, else (a `null` result, a bare string, from another implementation) an
    /// `Exception` saying so, as Python's `get()` raises too instead of returning. `nil` for
    /// every other state.
    public var propagatedFailure: ExceptionInfo? {
        guard status == .failure || status == .revoked else { return nil }
        return exception ?? ExceptionInfo(
            type: "Exception",
            arguments: [.string("task \(status.rawValue) without a readable exception (result: \(PythonRepr.repr(result, limit: 200)))")])
    }

    /// The document as Python-compatible JSON, in Celery's field order.
    public func jsonBytes() -> [UInt8] {
        var members: [(String, JSONValue)] = [
            ("status", .string(status.rawValue)), ("result", result),
            ("traceback", traceback.map(JSONValue.string) ?? .null), ("children", children),
            ("date_done", dateDone.map(JSONValue.string) ?? .null),
        ]
        if let groupID { members.append(("group_id", .string(groupID))) }
        if let parentID { members.append(("parent_id", .string(parentID))) }
        if let extended { members += extended.members.map { ($0.key, $0.value) } }
        members.append(("task_id", .string(taskID)))
        return JSONValue.object(JSONObject(members)).pythonJSONBytes()
    }
}
