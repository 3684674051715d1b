@testable import Celery
import Foundation
import Testing

/// Celery's order of effects, stated as the planner's decisions: no broker, no store, no I/O.
@Suite("Task lifecycle planner")
struct TaskLifecycleTests {
    typealias Step = TaskLifecycle.Step

    static func arrival(
        registered: Bool = true, revoked: Bool = false, expires: Date? = nil, eta: Date? = nil, held: Bool = false,
        acksLate: Bool = false, trackStarted: Bool = false
    ) -> TaskLifecycle.Arrival {
        TaskLifecycle.Arrival(
            isRegistered: registered, isRevoked: revoked, expires: expires, eta: eta, wasHeld: held, acksLate: acksLate,
            trackStarted: trackStarted)
    }

    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("arrival: unregistered, then revoked, then expired, then ETA, as the worker checks them")
    func arrivalOrder() {
        let later = Self.now.addingTimeInterval(60), earlier = Self.now.addingTimeInterval(-60)
        #expect(TaskLifecycle.arrival(Self.arrival(registered: false, revoked: true), now: Self.now) == .unregistered)
        #expect(TaskLifecycle.arrival(Self.arrival(revoked: true, expires: earlier), now: Self.now) == .discard(.revoked))
        #expect(TaskLifecycle.arrival(Self.arrival(expires: earlier, eta: later), now: Self.now) == .discard(.expired))
        #expect(TaskLifecycle.arrival(Self.arrival(eta: later), now: Self.now) == .hold(until: later))
        // Back from the ETA schedule it runs, even if the clock is a little early.
        #expect(TaskLifecycle.arrival(Self.arrival(eta: later, held: true), now: Self.now) == .run(acknowledgeFirst: true, storeStarted: false))
        // A revoke that came while it was held still wins.
        #expect(TaskLifecycle.arrival(Self.arrival(revoked: true, eta: later, held: true), now: Self.now) == .discard(.revoked))
        #expect(TaskLifecycle.arrival(Self.arrival(eta: earlier), now: Self.now) == .run(acknowledgeFirst: true, storeStarted: false))
    }

    @Test("arrival: early ack unless acks_late; STARTED stored only with task_track_started")
    func arrivalRun() {
        #expect(TaskLifecycle.arrival(Self.arrival(acksLate: true, trackStarted: true), now: Self.now) == .run(acknowledgeFirst: false, storeStarted: true))
        #expect(TaskLifecycle.arrival(Self.arrival(), now: Self.now) == .run(acknowledgeFirst: true, storeStarted: false))
    }

    @Test("success: callbacks and the chain's next step go out before the result is stored, the chord counts after it, the ack comes last")
    func success() {
        #expect(TaskLifecycle.afterRun(.succeeded(5), acksLate: true, ignoreResult: false) == [
            .publishSuccessors, .store(.success), .chordPartReturn(.success), .event("task-succeeded"), .acknowledge,
        ])
        // Early ack: acknowledged when the task started, nothing at the end.
        #expect(TaskLifecycle.afterRun(.succeeded(5), acksLate: false, ignoreResult: false).last == .event("task-succeeded"))
        // ignore_result stores nothing, but the chord still counts the task.
        #expect(TaskLifecycle.afterRun(.succeeded(5), acksLate: false, ignoreResult: true) == [
            .publishSuccessors, .chordPartReturn(.success), .event("task-succeeded"),
        ])
    }

    @Test("failure: stored, counted by the chord, the rest of the chain failed, then the errbacks (backends/base.py mark_as_failure)")
    func failure() {
        #expect(TaskLifecycle.afterRun(.failed(.valueError("x")), acksLate: true, ignoreResult: false) == [
            .store(.failure), .chordPartReturn(.failure), .failChain, .publishErrbacks, .event("task-failed"), .acknowledge,
        ])
        // The hard time limit: the same, as Celery 5.7's on_timeout, even with ignore_result.
        let exceeded = ExceptionInfo(type: "TimeLimitExceeded", module: "billiard.exceptions", arguments: [1])
        #expect(TaskLifecycle.afterRun(.timedOut(exceeded), acksLate: false, ignoreResult: true) == [
            .store(.failure), .chordPartReturn(.failure), .failChain, .publishErrbacks, .event("task-failed"),
        ])
    }

    @Test("task_acks_on_failure off rejects a failed acks_late message; task_acks_on_timeout off requeues a timed-out one")
    func acksOnFailureAndTimeout() {
        let exceeded = ExceptionInfo(type: "TimeLimitExceeded", module: "billiard.exceptions", arguments: [1])
        #expect(TaskLifecycle.afterRun(.failed(.valueError("x")), acksLate: true, ignoreResult: false, acksOnFailure: false).last == .reject)
        #expect(TaskLifecycle.afterRun(.timedOut(exceeded), acksLate: true, ignoreResult: false, acksOnTimeout: false).last == .requeue)
        #expect(TaskLifecycle.afterRun(.timedOut(exceeded), acksLate: true, ignoreResult: false, acksOnFailure: false).last == .acknowledge)
        // worker_disable_prefetch: an early-acknowledged task frees its credit when done.
        #expect(TaskLifecycle.afterRun(.succeeded(1), acksLate: false, ignoreResult: false, creditHeld: true).last == .releaseCredit)
        // Without acks_late the message was acknowledged when the task started: nothing to decide.
        #expect(TaskLifecycle.afterRun(.failed(.valueError("x")), acksLate: false, ignoreResult: false, acksOnFailure: false).last == .event("task-failed"))
    }

    @Test("retry: the new message is published before RETRY is stored; the original is acknowledged")
    func retry() {
        #expect(TaskLifecycle.afterRun(.retried(TaskRetry(countdown: .seconds(1))), acksLate: true, ignoreResult: false) == [
            .publishRetry, .store(.retry), .event("task-retried"), .acknowledge,
        ])
    }

    @Test("Reject: requeued with acks_late and nothing stored; a permanent rejection stores FAILURE(Reject)")
    func reject() {
        #expect(TaskLifecycle.afterRun(.rejected(TaskReject(reason: "later", requeue: true)), acksLate: true, ignoreResult: false) == [
            .event("task-rejected"), .requeue,
        ])
        #expect(TaskLifecycle.afterRun(.rejected(TaskReject(reason: "bad", requeue: false)), acksLate: true, ignoreResult: false) == [
            .store(.failure), .event("task-rejected"), .acknowledge,
        ])
        #expect(TaskLifecycle.afterRun(.ignored, acksLate: true, ignoreResult: false) == [.acknowledge])
    }

    @Test("autoretry_for and max_retries decide between retry and failure")
    func retryBudget() throws {
        var options = TaskDefinitionOptions(maxRetries: 2)
        options.autoretryFor = ["ValueError"]
        var message = TaskMessageBuilder(defaultQueue: "celery").message("t.x", args: [1, 2], kwargs: [:], options: TaskOptions())
        guard case .retried = TaskLifecycle.outcome(of: PythonException.valueError("x"), message: message, options: options, softLimited: false) else {
            Issue.record("ValueError is in autoretry_for: a retry")
            return
        }
        guard case .failed(let other) = TaskLifecycle.outcome(of: PythonException.typeError("x"), message: message, options: options, softLimited: false) else {
            Issue.record("TypeError is not in autoretry_for: a failure")
            return
        }
        #expect(other.info.type == "TypeError")
        message.headers.retries = 2
        guard case .failed(let exhausted) = TaskLifecycle.outcome(of: TaskRetry(), message: message, options: options, softLimited: false) else {
            Issue.record("past max_retries: a failure")
            return
        }
        #expect(exhausted.info.type == "MaxRetriesExceededError")
        #expect(exhausted.info.arguments.first?.stringValue?.hasPrefix("Can't retry t.x[") == true)
    }

    @Test("the retry message: same id, retries + 1, ETA from the countdown, parent and origin set")
    func retryMessage() throws {
        let message = TaskMessageBuilder(defaultQueue: "celery").message("t.x", args: [1], kwargs: [:], options: TaskOptions())
        let now = Self.now
        let next = TaskMessageBuilder.retryMessage(
            of: message, retry: TaskRetry(countdown: .seconds(5)), defaultDelay: .seconds(180), deliveredFrom: "celery",
            origin: "gen1@host", now: now)
        #expect(next.message.headers.id == message.headers.id)
        #expect(next.message.headers.retries == 1)
        #expect(next.message.headers.eta == CeleryTime.isoformat(now.addingTimeInterval(5)))
        #expect(next.message.headers.parentID == message.headers.id)
        #expect(next.queue == "celery")
        #expect(next.when == "in 5s")
    }
}
