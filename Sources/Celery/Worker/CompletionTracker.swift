import Synchronization

/// Runs the Redis work that follows a task (acknowledgement, callbacks, result, chord) off
/// the execution slot, so a slot goes on to its next task while that work is pipelined with
/// other slots' work; at most `limit` such jobs are in flight, and ``drain()`` waits for all.
///
/// Each job keeps its own order (callbacks, then result, then ack), so what Redis sees per
/// task is exactly what Celery does; only different tasks' commands interleave.
final class CompletionTracker: Sendable {
    private struct State {
        var inFlight = 0
        var slotWaiters: [CheckedContinuation<Void, Never>] = []
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let limit: Int
    /// Where the jobs run (`nil`: the global pool).
    private let executor: (any TaskExecutor)?
    private let state = Mutex(State())

    init(limit: Int, executor: (any TaskExecutor)? = nil) {
        self.limit = max(1, limit)
        self.executor = executor
    }

    /// Starts `job` once fewer than `limit` jobs are in flight.
    func start(_ job: @escaping @Sendable () async -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = state.withLock { state -> Bool in
                guard state.inFlight < limit else {
                    state.slotWaiters.append(continuation)
                    return false
                }
                state.inFlight += 1
                return true
            }
            if admitted { continuation.resume() }
        }
        Task(executorPreference: executor) {
            await job()
            self.finished()
        }
    }

    private func finished() {
        let (next, drained) = state.withLock { state -> (CheckedContinuation<Void, Never>?, [CheckedContinuation<Void, Never>]) in
            if !state.slotWaiters.isEmpty {
                // The finished job's place goes straight to a waiting one.
                return (state.slotWaiters.removeFirst(), [])
            }
            state.inFlight -= 1
            guard state.inFlight == 0 else { return (nil, []) }
            defer { state.drainWaiters = [] }
            return (nil, state.drainWaiters)
        }
        next?.resume()
        for waiter in drained { waiter.resume() }
    }

    /// Waits until no job is in flight.
    func drain() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.inFlight == 0 { return true }
                state.drainWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}
