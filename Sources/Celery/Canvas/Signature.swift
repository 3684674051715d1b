/// A serialized Celery signature: a task name with partial arguments and the options to
/// publish it with, as canvas (`link`, `link_error`, `chain`, `chord`) carries it in a
/// message's `embed`:
/// `{"task", "args", "kwargs", "options", "subtask_type", "immutable"}`.
public struct Signature: Sendable, Hashable {
    /// The task name.
    public var task: String
    /// Partial positional arguments; a parent's result is put in front unless ``immutable``.
    public var args: [JSONValue]
    /// Partial keyword arguments.
    public var kwargs: JSONObject
    /// `apply_async` options in Celery's names (`task_id`, `queue`, `countdown`, `link`, ...).
    public var options: JSONObject
    /// `null` for a task; `chain`, `group`, `chord`, ... for canvas primitives.
    public var subtaskType: String?
    /// `.si()`: ignore the parent's result.
    public var immutable: Bool

    /// A task signature.
    public init(
        _ task: String, args: [JSONValue] = [], kwargs: JSONObject = JSONObject(), options: JSONObject = JSONObject(),
        subtaskType: String? = nil, immutable: Bool = false
    ) {
        self.task = task
        self.args = args
        self.kwargs = kwargs
        self.options = options
        self.subtaskType = subtaskType
        self.immutable = immutable
    }

    /// Reads a serialized signature; `nil` when `json` is not one.
    public init?(json: JSONValue) {
        guard case .object(let object) = json, let task = object["task"]?.stringValue else { return nil }
        self.task = task
        self.args = object["args"]?.arrayValue ?? []
        self.kwargs = object["kwargs"]?.objectValue ?? JSONObject()
        self.options = object["options"]?.objectValue ?? JSONObject()
        self.subtaskType = object["subtask_type"]?.stringValue
        self.immutable = object["immutable"]?.boolValue ?? false
    }

    /// The serialized form, in Celery's key order.
    public var jsonValue: JSONValue {
        .object(JSONObject([
            ("task", .string(task)), ("args", .array(args)), ("kwargs", .object(kwargs)), ("options", .object(options)),
            ("subtask_type", subtaskType.map(JSONValue.string) ?? .null), ("immutable", .bool(immutable)),
        ]))
    }

    /// The task id the signature was frozen with (`options.task_id`), if any.
    public var taskID: String? { options["task_id"]?.stringValue }
}

// MARK: - Building canvas

extension Signature {
    /// `chain(a, b, c)`: each step's result is put in front of the next step's arguments.
    /// Serialized as Celery's `celery.chain` signature (`kwargs.tasks`).
    public static func chain(_ steps: some Sequence<Signature>, options: JSONObject = JSONObject()) -> Signature {
        Signature("celery.chain", kwargs: ["tasks": .array(steps.map(\.jsonValue))], options: options, subtaskType: "chain")
    }

    /// `group(a, b, c)`: the members run in parallel; their results are read together with
    /// ``GroupResult``. Serialized as Celery's `celery.group` signature (`kwargs.tasks`).
    public static func group(_ members: some Sequence<Signature>, options: JSONObject = JSONObject()) -> Signature {
        Signature("celery.group", kwargs: ["tasks": .array(members.map(\.jsonValue))], options: options, subtaskType: "group")
    }

    /// `chord(header, body)`: the header tasks run in parallel, then `body` runs once with the
    /// list of their results (in header order) put in front of its arguments. Serialized as
    /// Celery's `celery.chord` signature (`kwargs.header`, `kwargs.body`, `kwargs.kwargs`).
    public static func chord(_ header: some Sequence<Signature>, body: Signature, options: JSONObject = JSONObject()) -> Signature {
        Signature(
            "celery.chord",
            kwargs: JSONObject([("kwargs", .object(JSONObject())), ("header", .array(header.map(\.jsonValue))), ("body", body.jsonValue)]),
            options: options, subtaskType: "chord")
    }

    /// `.si()`: the same signature, ignoring a parent's result.
    public func immutableSignature() -> Signature {
        var copy = self
        copy.immutable = true
        return copy
    }

    /// `sig.link(callback)`: publish `callback` with this task's result when it succeeds.
    public func linking(_ callback: Signature) -> Signature {
        appending(callback, to: "link")
    }

    /// `sig.link_error(errback)`: publish `errback` with this task's id when it fails.
    public func linkingError(_ errback: Signature) -> Signature {
        appending(errback, to: "link_error")
    }

    /// `sig.set(**options)`: the same signature with these options set (Celery's names:
    /// `queue`, `countdown`, `priority`, `task_id`, ...).
    public func setting(_ options: JSONObject) -> Signature {
        var copy = self
        for (key, value) in options { copy.options[key] = value }
        return copy
    }

    private func appending(_ signature: Signature, to option: String) -> Signature {
        var copy = self
        let existing: [JSONValue] = switch options[option] {
        case .array(let items)?: items
        case let single? where !single.isNull: [single]
        default: []
        }
        copy.options[option] = .array(existing + [signature.jsonValue])
        return copy
    }
}
