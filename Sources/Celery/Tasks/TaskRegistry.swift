import Synchronization

/// The code a task runs: it gets the request and returns the task's JSON result, or throws
/// (a ``PythonException`` to choose the exception Python sees).
public typealias TaskHandler = @Sendable (TaskRequest) async throws -> JSONValue

/// Per-task settings, as Celery's task decorator options.
public struct TaskDefinitionOptions: Sendable {
    /// `ignore_result`: store nothing, whatever the message says.
    public var ignoreResult: Bool
    /// `acks_late`: acknowledge after the task ran instead of before; `nil` follows the worker.
    public var acksLate: Bool?
    /// `max_retries`: how often ``TaskRetry`` may re-run the task (`nil`: without limit).
    public var maxRetries: Int?
    /// `default_retry_delay`: the countdown of a retry that names none.
    public var defaultRetryDelay: Duration
    /// `time_limit`, when the message sets none; `nil` follows the worker, zero sets none.
    public var timeLimit: Duration?
    /// `soft_time_limit`, when the message sets none; `nil` follows the worker, zero sets none.
    public var softTimeLimit: Duration?
    /// `autoretry_for`: Python exception class names (`ValueError`) that retry the task
    /// instead of failing it.
    public var autoretryFor: Set<String>
    /// `retry_backoff`: the backoff factor for automatic retries, the countdown of the first
    /// one, doubled for each retry after it (zero: no backoff, retry after
    /// ``defaultRetryDelay``). Celery's `retry_backoff=True` is `.seconds(1)`.
    public var retryBackoff: Duration
    /// `retry_backoff_max`: the largest backoff countdown.
    public var retryBackoffMax: Duration
    /// `retry_jitter`: pick the countdown at random up to the backoff value.
    public var retryJitter: Bool
    /// How the task takes its arguments when it is another task's `link_error`.
    public var errbackArguments: ErrbackArguments = .taskID

    /// The two ways Celery calls an errback (`link_error`), told apart in Python by the task
    /// function's arity.
    public enum ErrbackArguments: Sendable {
        /// `def errback(task_id)`: published as a task with the failed task's id in front of
        /// its arguments, for any worker to run (the default, and the only form that crosses
        /// languages).
        case taskID
        /// `def errback(request, exc, traceback)`: called at once by the worker that ran the
        /// failed task, in that process, with the request context (an object with `id`,
        /// `task`, `args`, `kwargs`, `retries`, `root_id`, `parent_id`, `group`, `hostname`),
        /// the exception (`{"exc_type", "exc_message", "exc_module"}`) and the traceback text
        /// in front of its arguments; nothing is published or stored for it.
        case requestExceptionTraceback
    }

    /// Celery's defaults: results stored, ack before running unless the worker says
    /// otherwise, 3 retries 180 s apart, no time limits, no automatic retries, a backoff of at
    /// most 600 s with jitter when one is set.
    public init(
        ignoreResult: Bool = false, acksLate: Bool? = nil, maxRetries: Int? = 3, defaultRetryDelay: Duration = .seconds(180),
        timeLimit: Duration? = nil, softTimeLimit: Duration? = nil, autoretryFor: Set<String> = [],
        retryBackoff: Duration = .zero, retryBackoffMax: Duration = .seconds(600), retryJitter: Bool = true
    ) {
        self.ignoreResult = ignoreResult
        self.acksLate = acksLate
        self.maxRetries = maxRetries
        self.defaultRetryDelay = defaultRetryDelay
        self.timeLimit = timeLimit
        self.softTimeLimit = softTimeLimit
        self.autoretryFor = autoretryFor
        self.retryBackoff = retryBackoff
        self.retryBackoffMax = retryBackoffMax
        self.retryJitter = retryJitter
    }

    /// Celery's `get_exponential_backoff_interval`: `min(max, factor * 2**retries)`, drawn at
    /// random from 0 up to that, in whole seconds as Python's `randrange`, with jitter.
    ///
    /// - Parameter retries: retries already done (`request.retries`).
    /// - Returns: the countdown of the next automatic retry; zero when ``retryBackoff`` is zero.
    public func backoffCountdown(retries: Int) -> Duration {
        let maximum = retryBackoffMax.timeInterval
        let ceiling = min(maximum, retryBackoff.timeInterval * pow2(max(0, retries)))
        guard ceiling.isFinite, ceiling > 0 else { return .zero }
        guard retryJitter else { return .fromSeconds(ceiling) ?? .zero }
        return .seconds(Int.random(in: 0...Int(min(ceiling, 1e12))))
    }

    private func pow2(_ exponent: Int) -> Double {
        exponent >= 1023 ? .infinity : Double(sign: .plus, exponent: exponent, significand: 1)
    }
}

/// A registered task: its name, options and handler.
public struct TaskDefinition: Sendable {
    /// The name messages call it by (`tasks.add`).
    public var name: String
    /// Its options.
    public var options: TaskDefinitionOptions
    /// Its code.
    public var handler: TaskHandler
}

/// The tasks a worker can run, by name.
public final class TaskRegistry: Sendable {
    private let definitions = Mutex<[String: TaskDefinition]>([:])

    /// An empty registry.
    public init() {}

    /// Registers `handler` under `name`. Registering a name twice is a programming error.
    public func register(_ name: String, options: TaskDefinitionOptions = TaskDefinitionOptions(), handler: @escaping TaskHandler) {
        definitions.withLock { definitions in
            precondition(definitions[name] == nil, "task '\(name)' is registered twice")
            definitions[name] = TaskDefinition(name: name, options: options, handler: handler)
        }
    }

    /// The task registered under `name`.
    public subscript(name: String) -> TaskDefinition? {
        definitions.withLock { $0[name] }
    }

    /// Every registered name, sorted.
    public var names: [String] {
        definitions.withLock { $0.keys.sorted() }
    }

    /// The registered names without Celery's own `celery.*` tasks, sorted: what Celery's
    /// `registered` reply and start-up banner list.
    public var applicationNames: [String] {
        names.filter { !$0.hasPrefix("celery.") }
    }
}
