/// A failure of the Celery client or worker that is not the task's own exception.
public struct CeleryError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidConfiguration, broker, resultBackend, timeout, invalidResult, system, unroutable, invalidCanvas
        }
        private let base: Base

        /// A URL or setting is unusable.
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        /// Talking to the broker failed.
        public static let broker = Code(base: .broker)
        /// Talking to the result backend failed.
        public static let resultBackend = Code(base: .resultBackend)
        /// A result did not become ready in time.
        public static let timeout = Code(base: .timeout)
        /// A stored result document could not be read.
        public static let invalidResult = Code(base: .invalidResult)
        /// A system call the worker process needed failed (the `exec` of a SIGHUP restart).
        public static let system = Code(base: .system)
        /// A message routed by exchange found no queue bound with its routing key.
        public static let unroutable = Code(base: .unroutable)
        /// A canvas cannot be applied as given (a chord without a result backend, an empty
        /// group where Celery refuses one, ...).
        public static let invalidCanvas = Code(base: .invalidCanvas)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What failed, without secrets.
    public var message: String
    /// The error this one wraps, when there is one (a Redis or system error), for callers that
    /// want more than the message.
    public var underlying: (any Error & Sendable)?

    /// Creates an error of `code` explained by `message`, wrapping `underlying` if given.
    public init(code: Code, message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }
}

/// A task that ended in FAILURE (or REVOKED), surfaced to the caller of `AsyncResult.get`.
///
/// Carries the Python exception as stored: its class, module and arguments, and the
/// traceback text.
public struct TaskFailedError: Error, Sendable, CustomStringConvertible {
    /// The task's id.
    public var taskID: String
    /// The state it ended in.
    public var state: TaskState
    /// The exception it raised (`ValueError('bad')`).
    public var exception: ExceptionInfo
    /// The formatted traceback, when the worker stored one.
    public var traceback: String?

    /// Creates the error for a failed task.
    public init(taskID: String, state: TaskState, exception: ExceptionInfo, traceback: String?) {
        self.taskID = taskID
        self.state = state
        self.exception = exception
        self.traceback = traceback
    }

    public var description: String {
        "task \(taskID) \(state): \(exception.module == "builtins" ? "" : exception.module + ".")\(exception.pythonRepr)"
    }
}
