import Synchronization

/// How a task run under time limits ended.
enum LimitedOutcome: Sendable {
    /// The task returned or threw (a throw after the soft limit is usually its cancellation).
    case finished(Result<JSONValue, any Error>)
    /// The hard limit passed first; the task was cancelled and abandoned.
    case hardLimitExceeded
}

/// Runs `body` under Celery-style time limits.
///
/// At the soft limit the task is cancelled (Swift's form of `SoftTimeLimitExceeded`: it can
/// catch the cancellation and finish); at the hard limit the caller stops waiting and the
/// slot is free again, whether or not the task honours cancellation.
///
/// `work` is the task's own unstructured `Task`, so that a revoke with `terminate` can cancel
/// it too; cancelling the caller (a cold shutdown) cancels it as well.
func runWithTimeLimits(soft: Duration?, hard: Duration?, work: Task<JSONValue, any Error>) async -> LimitedOutcome {
    await withTaskCancellationHandler {
        await race(soft: soft, hard: hard, work: work)
    } onCancel: {
        work.cancel()
    }
}

private func race(soft: Duration?, hard: Duration?, work: Task<JSONValue, any Error>) async -> LimitedOutcome {
    let softTimer = soft.map { limit in
        Task {
            try await Task.sleep(for: limit)
            work.cancel()
        }
    }
    defer { softTimer?.cancel() }
    guard let hard else { return .finished(await work.result) }

    let decision = FirstOutcome()
    var waiter: Task<Void, Never>?
    var timer: Task<Void, Never>?
    let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<LimitedOutcome, Never>) in
        waiter = Task {
            let result = await work.result
            if decision.claim() { continuation.resume(returning: .finished(result)) }
        }
        timer = Task {
            try? await Task.sleep(for: hard)
            if decision.claim() {
                work.cancel()
                continuation.resume(returning: .hardLimitExceeded)
            }
        }
    }
    timer?.cancel()
    waiter?.cancel()
    return outcome
}

/// Lets exactly one of several racing tasks resume a continuation.
private final class FirstOutcome: Sendable {
    private let decided = Atomic<Bool>(false)

    func claim() -> Bool {
        decided.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }
}

extension Duration {
    /// The limit to enforce: `nil` (none) unless it is longer than zero.
    var enforcedLimit: Duration? { self > .zero ? self : nil }
}
