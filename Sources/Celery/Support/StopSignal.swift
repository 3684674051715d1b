import Synchronization

/// The worker's "stop taking work" as something a loop can wait on: a housekeeping loop sleeps
/// until its next round or until the worker stops, whichever comes first, instead of waking
/// every 100 ms to look at a flag.
final class StopSignal: Sendable {
    private struct State {
        var stopped = false
        var nextID: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Sleeps whose time was up before they began waiting.
        var expired: Set<UInt64> = []
    }

    private let state = Mutex(State())

    /// Whether ``stop()`` was called.
    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Wakes every sleeper now and every later one at once.
    func stop() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.stopped = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Sleeps for `duration`, or less when the signal stops or the task is cancelled.
    ///
    /// - Returns: `true` when the worker is stopping (the loop should end).
    @discardableResult
    func sleep(for duration: Duration) async -> Bool {
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        let timer = Task {
            guard (try? await Task.sleep(for: duration)) != nil else { return }
            self.wake(id)
        }
        defer {
            timer.cancel()
            _ = state.withLock { $0.expired.remove(id) }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.stopped || state.expired.remove(id) != nil { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            self.wake(id)
        }
        return isStopped || Task.isCancelled
    }

    private func wake(_ id: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiters.removeValue(forKey: id) else {
                state.expired.insert(id)
                return nil
            }
            return waiter
        }
        waiter?.resume()
    }
}
