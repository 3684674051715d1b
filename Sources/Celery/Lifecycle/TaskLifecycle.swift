#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Celery's task lifecycle as decisions: what the worker does with a decoded message, and
/// what it does after the task ran, in which order. Pure values, no I/O: the worker's executor
/// (`CeleryWorker.perform`) carries the steps out against the broker and the result store, as
/// postgres-nio's state machine returns actions its channel handler performs.
///
/// The orders are `celery/app/trace.py`'s and `celery/backends/base.py`'s: callbacks and the
/// chain's next step are sent before the result is stored (so its `children` are filled in);
/// a chord counts a header task after its result is stored; a failure fails the rest of the
/// chain and then calls the errbacks; with `acks_late` the acknowledgement comes last.
enum TaskLifecycle {
    /// What is known of a decoded message when it comes to the worker.
    struct Arrival: Sendable {
        /// A task of that name is registered.
        var isRegistered: Bool
        /// Its id was revoked.
        var isRevoked: Bool
        /// Its `expires`, if any.
        var expires: Date?
        /// Its `eta`, if any.
        var eta: Date?
        /// It comes back from the ETA schedule (its ETA was already waited for).
        var wasHeld: Bool
        /// `acks_late` applies to it (the task's option, else the worker's).
        var acksLate: Bool
        /// `task_track_started`.
        var trackStarted: Bool
    }

    /// Why a message is discarded with a REVOKED result (`TaskRevokedError(reason)`).
    enum DiscardReason: String, Sendable, Equatable {
        case revoked, expired, terminated
    }

    /// What the worker does with a decoded message.
    enum ArrivalDecision: Sendable, Equatable {
        /// No such task: store `NotRegistered` as FAILURE and acknowledge (Celery discards it).
        case unregistered
        /// Store REVOKED, count it towards its chord, send `task-revoked`, acknowledge.
        case discard(DiscardReason)
        /// Hold it unacknowledged until its ETA, releasing its prefetch credit meanwhile.
        case hold(until: Date)
        /// Run it: acknowledge first unless `acks_late`, then store STARTED when tracked.
        case run(acknowledgeFirst: Bool, storeStarted: Bool)
    }

    /// The decision for a decoded message at `now`, in Celery's order of checks: registered,
    /// revoked, expired, ETA.
    static func arrival(_ arrival: Arrival, now: Date) -> ArrivalDecision {
        guard arrival.isRegistered else { return .unregistered }
        if arrival.isRevoked { return .discard(.revoked) }
        if let expires = arrival.expires, expires < now { return .discard(.expired) }
        if !arrival.wasHeld, let eta = arrival.eta, eta > now { return .hold(until: eta) }
        return .run(acknowledgeFirst: !arrival.acksLate, storeStarted: arrival.trackStarted)
    }

    /// What a task's run came to, once the worker's options are applied (autoretry, max retries).
    enum Outcome: Sendable {
        case succeeded(JSONValue)
        case failed(PythonException)
        case retried(TaskRetry)
        /// `Reject`: requeued (with acks_late) or recorded as FAILURE.
        case rejected(TaskReject)
        /// `Ignore`: nothing is stored.
        case ignored
        /// The hard time limit passed: `TimeLimitExceeded(limit)` (Celery's `on_timeout`).
        case timedOut(ExceptionInfo)
    }

    /// One effect after a task ran.
    enum Step: Sendable, Equatable {
        /// Publish the link callbacks and the chain's next step (their ids become `children`).
        case publishSuccessors
        /// Store the result document in this state (the outcome's value or exception).
        case store(TaskState)
        /// Publish the retry message (same id, `retries + 1`, the new ETA).
        case publishRetry
        /// Count the task towards its chord (`on_chord_part_return`) in this state.
        case chordPartReturn(TaskState)
        /// Fail every later step of the chain with the same exception.
        case failChain
        /// Call or publish the errbacks.
        case publishErrbacks
        /// Send a task event (`task-succeeded`, `task-failed`, ...).
        case event(String)
        /// Acknowledge the message (acks_late): the broker forgets it; frees its prefetch credit.
        /// When the result store refused the outcome until the worker stopped, the message is
        /// returned instead, so its outcome is computed again rather than lost.
        case acknowledge
        /// Return the message to its queue (acks_late); frees its prefetch credit.
        case requeue
        /// Free the prefetch credit of an early-acknowledged task now that it is done
        /// (`worker_disable_prefetch`).
        case releaseCredit
        /// Reject the message without requeue (acks_late with `task_acks_on_failure` off):
        /// dead-lettered where the broker has dead letters, removed on Redis (kombu's
        /// `QoS.reject`); frees its prefetch credit.
        case reject
    }

    /// Resolves a thrown error against the task's `autoretry_for` and the retry budget, as
    /// Celery's `Task.retry` and `autoretry_for` wrapper do.
    static func outcome(
        of error: any Error, message: TaskMessage, options: TaskDefinitionOptions, softLimited: Bool
    ) -> Outcome {
        let retries = message.headers.retries
        switch error {
        case let retry as TaskRetry:
            return retryOrFail(retry, message: message, options: options)
        case let reject as TaskReject:
            return .rejected(reject)
        case is TaskIgnore:
            return .ignored
        default:
            var exception = CeleryWorker.pythonException(for: error)
            if error is CancellationError, softLimited {
                exception = PythonException("SoftTimeLimitExceeded", module: "billiard.exceptions")
            }
            guard options.autoretryFor.contains(exception.info.type) else { return .failed(exception) }
            let countdown = options.retryBackoff > .zero ? options.backoffCountdown(retries: retries) : options.defaultRetryDelay
            return retryOrFail(TaskRetry(countdown: countdown, exception: exception), message: message, options: options)
        }
    }

    /// A retry, or past `max_retries` the failure Celery raises instead: the retry's own
    /// exception, else `MaxRetriesExceededError`.
    static func retryOrFail(_ retry: TaskRetry, message: TaskMessage, options: TaskDefinitionOptions) -> Outcome {
        let headers = message.headers
        let (next, overflow) = headers.retries.addingReportingOverflow(1)
        guard overflow || (retry.maxRetries ?? options.maxRetries).map({ next > $0 }) ?? false else { return .retried(retry) }
        let arguments = "args:\(PythonRepr.tupleRepr(retry.args ?? message.args)) kwargs:\(PythonRepr.dictRepr(retry.kwargs ?? message.kwargs))"
        return .failed(retry.exception ?? PythonException(
            "MaxRetriesExceededError", module: "celery.exceptions",
            arguments: [.string("Can't retry \(headers.task)[\(headers.id)] \(arguments)")]))
    }

    /// The steps after a task ran, in Celery's order.
    ///
    /// - Parameters:
    ///   - acksLate: the message was not acknowledged when the task started.
    ///   - ignoreResult: `ignore_result`: no result document (chords, chains and errbacks still run).
    ///   - acksOnFailure: `task_acks_on_failure`: with acks_late, a failure is acknowledged, else rejected.
    ///   - acksOnTimeout: `task_acks_on_timeout`: with acks_late, a timeout is acknowledged, else requeued.
    ///   - creditHeld: the early-acknowledged task kept its prefetch credit while it ran
    ///     (`worker_disable_prefetch`): it is freed last.
    static func afterRun(
        _ outcome: Outcome, acksLate: Bool, ignoreResult: Bool, acksOnFailure: Bool = true, acksOnTimeout: Bool = true,
        creditHeld: Bool = false
    ) -> [Step] {
        var steps: [Step]
        var requeue = false
        var reject = false
        switch outcome {
        case .succeeded:
            steps = [.publishSuccessors] + (ignoreResult ? [] : [.store(.success)])
                + [.chordPartReturn(.success), .event("task-succeeded")]
        case .failed:
            reject = !acksOnFailure
            steps = (ignoreResult ? [] : [.store(.failure)])
                + [.chordPartReturn(.failure), .failChain, .publishErrbacks, .event("task-failed")]
        case .timedOut:
            // Celery 5.7's on_timeout: mark_as_failure, the failure hooks and task-failed, then
            // acknowledge, or with acks_on_timeout off return the message to run again.
            requeue = !acksOnTimeout
            steps = [.store(.failure), .chordPartReturn(.failure), .failChain, .publishErrbacks, .event("task-failed")]
        case .retried:
            steps = [.publishRetry, .store(.retry), .event("task-retried")]
        case .rejected(let reject):
            requeue = requeue || reject.requeue
            steps = (reject.requeue || ignoreResult ? [] : [.store(.failure)]) + [.event("task-rejected")]
        case .ignored:
            steps = []
        }
        if acksLate { steps.append(requeue ? .requeue : reject ? .reject : .acknowledge) }
        if !acksLate, creditHeld { steps.append(.releaseCredit) }
        return steps
    }

    /// The steps when the retry message could not be published: the task fails instead
    /// (`RuntimeError`), keeping the acknowledgement the retry plan ended with.
    static func afterFailedRetry(acksLate: Bool) -> [Step] {
        afterRun(.failed(.runtimeError("retry could not be published")), acksLate: acksLate, ignoreResult: false)
    }
}
