public import CeleryJSON

/// The protocol-2 headers of a task message (`id`, `task`, `eta`, `retries`, ...).
///
/// Backed by the headers object itself, so headers read from the wire are re-sent byte for
/// byte and custom headers (`apply_async(headers=...)`) ride along untouched. The typed
/// properties read and write the standard fields; ``validate()`` checks their types once.
public struct TaskHeaders: Sendable, Hashable {
    /// The headers object in wire order.
    public var object: JSONObject

    /// Headers exactly as read; call ``validate()`` before trusting the typed accessors.
    public init(object: JSONObject) {
        self.object = object
    }

    /// Headers in the order and with the defaults Celery 5.7's `as_task_v2` writes.
    public init(
        task: String, id: String, lang: String = "py", shadow: String? = nil, eta: String? = nil,
        expires: String? = nil, group: String? = nil, groupIndex: Int? = nil, retries: Int = 0,
        timeLimit: (hard: Double?, soft: Double?) = (nil, nil), rootID: String? = nil, parentID: String? = nil,
        argsrepr: String, kwargsrepr: String, origin: String, ignoreResult: Bool = false
    ) {
        func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        func number(_ value: Double?) -> JSONValue {
            guard let value else { return .null }
            if value == value.rounded(), abs(value) < 1e15 { return .integer(Int64(value)) }
            return .double(value)
        }
        object = JSONObject([
            ("lang", .string(lang)), ("task", .string(task)), ("id", .string(id)), ("shadow", optional(shadow)),
            ("eta", optional(eta)), ("expires", optional(expires)), ("group", optional(group)),
            ("group_index", groupIndex.map { .integer(Int64($0)) } ?? .null), ("retries", .integer(Int64(retries))),
            ("timelimit", .array([number(timeLimit.hard), number(timeLimit.soft)])),
            ("root_id", .string(rootID ?? id)), ("parent_id", optional(parentID)), ("argsrepr", .string(argsrepr)),
            ("kwargsrepr", .string(kwargsrepr)), ("origin", .string(origin)), ("ignore_result", .bool(ignoreResult)),
            ("replaced_task_nesting", .integer(0)), ("stamped_headers", .null), ("stamps", .object(JSONObject())),
        ])
    }

    /// The registered task name.
    public var task: String { object["task"]?.stringValue ?? "" }
    /// The task id.
    public var id: String { object["id"]?.stringValue ?? "" }
    /// The origin language (`py` for Python clients).
    public var lang: String? { object["lang"]?.stringValue }
    /// The name shown in logs instead of ``task``, when given (Celery's `shadow or name`: an
    /// empty one is none).
    public var shadow: String? { object["shadow"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } }
    /// When to run, ISO-8601 as sent.
    public var eta: String? {
        get { object["eta"]?.stringValue }
        set { object["eta"] = newValue.map(JSONValue.string) ?? .null }
    }
    /// When the task expires, ISO-8601 as sent.
    public var expires: String? { object["expires"]?.stringValue }
    /// The group id for group and chord members (an empty one is none, as Celery's `if group_id`).
    public var group: String? { object["group"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } }
    /// The position inside the group; `nil` when absent or not an integer.
    public var groupIndex: Int? { object["group_index"]?.integerValue.map { Int($0) } }
    /// Retries already done (0 when absent or not an integer).
    public var retries: Int {
        get { object["retries"]?.integerValue.map { Int($0) } ?? 0 }
        set { object["retries"] = .integer(Int64(newValue)) }
    }
    /// The id of the workflow's first task.
    public var rootID: String? { object["root_id"]?.stringValue }
    /// The id of the task that published this one.
    public var parentID: String? {
        get { object["parent_id"]?.stringValue }
        set { object["parent_id"] = newValue.map(JSONValue.string) ?? .null }
    }
    /// The `compression` kombu writes for a compressed body (`application/x-gzip`, ...);
    /// ``TaskMessage/envelopeBytes()`` compresses the body with it.
    public var compression: String? {
        get { object["compression"]?.stringValue }
        set { object["compression"] = newValue.map(JSONValue.string) }
    }
    /// `repr` of the arguments, for logs.
    public var argsrepr: String? { object["argsrepr"]?.stringValue }
    /// `repr` of the keyword arguments, for logs.
    public var kwargsrepr: String? { object["kwargsrepr"]?.stringValue }
    /// The publisher, `gen<pid>@<host>`.
    public var origin: String? { object["origin"]?.stringValue }
    /// Whether no result must be stored; `nil` (absent or null) means the task's default. Any
    /// other value counts by its Python truth, as Celery's `if self._ignore_result` does.
    public var ignoreResult: Bool? {
        guard let value = object["ignore_result"], !value.isNull else { return nil }
        return !value.isPythonFalsy
    }
    /// `[hard, soft]` time limits in seconds.
    public var timeLimit: (hard: Double?, soft: Double?) {
        guard let limits = object["timelimit"]?.arrayValue, limits.count == 2 else { return (nil, nil) }
        // Celery's `time_limit or task.time_limit`: a falsy limit (0, null) is none.
        return (limits[0].isPythonFalsy ? nil : limits[0].doubleValue, limits[1].isPythonFalsy ? nil : limits[1].doubleValue)
    }

    /// Checks the headers exactly as far as Celery 5.7's worker does before running a task:
    /// `id` and `task` are there; `eta` and `expires`, when not null, read as ISO-8601 (Celery
    /// fails on anything else, an empty string included); a truthy `timelimit` is a
    /// `[hard, soft]` pair; `stamps` is a mapping when `stamped_headers` names any. What
    /// Celery reads as `x or default` takes any falsy value (`[]` from PHP or Node clients,
    /// `""`, `0`) as the default, and the headers Celery only logs or copies (`lang`,
    /// `origin`, `argsrepr`, `kwargsrepr`, `shadow`, `retries`, `group_index`,
    /// `replaced_task_nesting`, `ignore_result`) are not checked. `group`, `root_id` and
    /// `parent_id` must be strings when truthy: Celery would carry another type into result
    /// keys and chord counters, this worker refuses it with the reason.
    public func validate() throws(ProtocolError) {
        for key in ["id", "task"] {
            switch object[key] {
            case .string(let text)? where !text.isEmpty: break
            case nil, .null?: throw ProtocolError(code: .missingField, field: "headers.\(key)", reason: "is required")
            case let other?: throw ProtocolError.wrongType("headers.\(key)", expected: "a non-empty string", got: other)
            }
        }
        for key in ["group", "root_id", "parent_id"] {
            switch object[key] {
            case .string?: break
            case let other? where !other.isPythonFalsy: throw ProtocolError.wrongType("headers.\(key)", expected: "a string", got: other)
            default: break
            }
        }
        for key in ["eta", "expires"] {
            if let text = try object.optionalString(key, field: "headers.\(key)"), CeleryTime.parse(text) == nil {
                throw ProtocolError(code: .invalidField, field: "headers.\(key)", reason: "'\(text)' is not an ISO-8601 time")
            }
        }
        // `if timelimit: self.time_limits = timelimit`, later unpacked as `hard, soft`.
        switch object["timelimit"] {
        case .array(let limits)? where limits.count == 2 && limits.allSatisfy({ $0.isPythonFalsy || $0.doubleValue != nil }): break
        case let other? where !other.isPythonFalsy:
            throw ProtocolError.wrongType("headers.timelimit", expected: "[hard, soft] numbers or nulls", got: other)
        default: break
        }
        // `stamps = self._request_dict.get('stamps') or {}`, read only for `stamped_headers`.
        switch object["stamps"] {
        case .object?: break
        case let other? where !other.isPythonFalsy && !(object["stamped_headers"]?.isPythonFalsy ?? true):
            throw ProtocolError.wrongType("headers.stamps", expected: "an object", got: other)
        default: break
        }
    }
}
