#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Thrown by a task to be run again later, as Celery's `self.retry(...)`.
///
/// The worker re-publishes the same task id with `retries + 1` and the new `eta`, stores
/// RETRY, and acknowledges the original. Past `maxRetries` the task fails instead: with
/// `exception` when one is given, with Celery's `MaxRetriesExceededError` otherwise.
///
/// ```swift
/// throw request.retry(countdown: .seconds(5), exception: .valueError("flaky"), maxRetries: 3)
/// ```
public struct TaskRetry: Error, Sendable {
    /// When to run again, from now (`countdown`); Celery's default is 180 s.
    public var countdown: Duration?
    /// When to run again (`eta`); wins over `countdown`.
    public var eta: Date?
    /// The exception to report in the RETRY state (and to fail with past `maxRetries`).
    public var exception: PythonException?
    /// Retries allowed; Celery's default is 3; `nil` uses the task's setting.
    public var maxRetries: Int?
    /// New positional arguments for the next run.
    public var args: [JSONValue]?
    /// New keyword arguments for the next run.
    public var kwargs: JSONObject?
    /// A new expiry for the next run, from now (`self.retry(expires=...)`).
    public var expiresIn: Duration?

    /// A retry request; see the type's documentation.
    public init(
        countdown: Duration? = nil, eta: Date? = nil, exception: PythonException? = nil, maxRetries: Int? = nil,
        args: [JSONValue]? = nil, kwargs: JSONObject? = nil, expiresIn: Duration? = nil
    ) {
        self.expiresIn = expiresIn
        self.countdown = countdown
        self.eta = eta
        self.exception = exception
        self.maxRetries = maxRetries
        self.args = args
        self.kwargs = kwargs
    }
}

/// Thrown by a task to reject its message, as Celery's `Reject`: with `requeue` (and
/// `acks_late`, so the message is still unacknowledged) it goes back to its queue as kombu's
/// reject-with-requeue puts it; otherwise it is dropped.
public struct TaskReject: Error, Sendable {
    /// Why the task rejected its message.
    public var reason: String?
    /// Put the message back in its queue.
    public var requeue: Bool

    /// A rejection; see the type's documentation.
    public init(reason: String? = nil, requeue: Bool = false) {
        self.reason = reason
        self.requeue = requeue
    }
}

/// Thrown by a task to end without a state change, as Celery's `Ignore`: the message is
/// acknowledged and no result is stored (a state the task stored itself stays).
public struct TaskIgnore: Error, Sendable {
    /// Creates the signal.
    public init() {}
}

extension TaskRequest {
    /// A ``TaskRetry`` for this request: `throw request.retry(countdown: .seconds(5))`.
    public func retry(
        countdown: Duration? = nil, eta: Date? = nil, exception: PythonException? = nil, maxRetries: Int? = nil,
        args: [JSONValue]? = nil, kwargs: JSONObject? = nil, expiresIn: Duration? = nil
    ) -> TaskRetry {
        TaskRetry(
            countdown: countdown, eta: eta, exception: exception, maxRetries: maxRetries, args: args, kwargs: kwargs,
            expiresIn: expiresIn)
    }
}
