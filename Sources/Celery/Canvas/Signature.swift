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
