#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The `apply_async` options a task can be sent with.
public struct TaskOptions: Sendable {
    /// The task id; a new UUID when `nil`.
    public var taskID: String?
    /// The queue to send to; the configuration's default queue when `nil` (and no ``exchange``).
    public var queue: String?
    /// Route through this exchange's kombu bindings (`_kombu.binding.<exchange>`) instead of
    /// naming a queue, as `apply_async(exchange=..., routing_key=...)` does: the message goes
    /// to every queue bound to it with ``routingKey``. Publishing fails when none is bound
    /// (kombu drops such a message silently).
    public var exchange: String?
    /// The routing key used with ``exchange``.
    public var routingKey: String?
    /// Run no earlier than this long after publishing (becomes `eta` on the wire, as in Celery).
    public var countdown: Duration?
    /// Run no earlier than this time.
    public var eta: Date?
    /// Expire (do not run) after this long from publishing.
    public var expiresIn: Duration?
    /// Expire (do not run) after this time.
    public var expires: Date?
    /// Message priority, 0 (first) to 9 (last) on Redis.
    public var priority: Int
    /// Extra headers, merged after the standard ones as `apply_async(headers=...)` does.
    public var headers: JSONObject
    /// Ask the worker not to store a result.
    public var ignoreResult: Bool
    /// Hard time limit (`time_limit`), sent in seconds as the first of the `timelimit` header's
    /// pair: whole seconds as an integer (`5`), others as a float (`1.5`), as Python sends them.
    public var timeLimit: Duration?
    /// Soft time limit (`soft_time_limit`), sent in seconds as the second of the pair.
    public var softTimeLimit: Duration?
    /// Display name for logs and monitors (`shadow`).
    public var shadow: String?
    /// The parent task, when publishing from inside a task.
    public var parentID: String?
    /// The workflow's root task, when publishing from inside a task.
    public var rootID: String?
    /// The group this task belongs to (`group_id`), for group and chord members.
    public var groupID: String?
    /// The position inside the group (`group_index`).
    public var groupIndex: Int?
    /// `link`: signatures to publish with this task's result when it succeeds.
    public var link: [Signature] = []
    /// `link_error`: signatures to publish with this task's id when it fails.
    public var linkError: [Signature] = []
    /// The rest of a chain, next step last, as Celery's `embed.chain`.
    public var chain: [Signature]?
    /// The chord body this task is a header member of (`embed.chord`).
    public var chord: Signature?
    /// The `reply_to` property; the client's id when `nil`.
    public var replyTo: String?
    /// `compression`: compress the message body with `gzip`/`zlib`, `bzip2`, `lzma`/`xz`,
    /// `zstd` or `brotli` (or their content types), as kombu does; `nil` uses the
    /// configuration's `task_compression`.
    public var compression: String?

    /// Options with Celery's defaults.
    public init(
        taskID: String? = nil, queue: String? = nil, countdown: Duration? = nil, eta: Date? = nil,
        expiresIn: Duration? = nil, expires: Date? = nil, priority: Int = 0, headers: JSONObject = JSONObject(),
        ignoreResult: Bool = false, timeLimit: Duration? = nil, softTimeLimit: Duration? = nil, shadow: String? = nil,
        parentID: String? = nil, rootID: String? = nil
    ) {
        self.taskID = taskID
        self.queue = queue
        self.countdown = countdown
        self.eta = eta
        self.expiresIn = expiresIn
        self.expires = expires
        self.priority = priority
        self.headers = headers
        self.ignoreResult = ignoreResult
        self.timeLimit = timeLimit
        self.softTimeLimit = softTimeLimit
        self.shadow = shadow
        self.parentID = parentID
        self.rootID = rootID
    }
}

/// One task to publish: what ``CeleryClient/sendBatch(_:)`` takes.
public struct TaskCall: Sendable {
    /// The task name.
    public var name: String
    /// Positional arguments.
    public var args: [JSONValue]
    /// Keyword arguments.
    public var kwargs: JSONObject
    /// `apply_async` options.
    public var options: TaskOptions

    /// A call of `name` with these arguments and options.
    public init(_ name: String, args: [JSONValue] = [], kwargs: JSONObject = JSONObject(), options: TaskOptions = TaskOptions()) {
        self.name = name
        self.args = args
        self.kwargs = kwargs
        self.options = options
    }
}
