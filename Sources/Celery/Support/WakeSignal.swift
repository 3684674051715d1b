import Synchronization

/// Wakes the tasks waiting for something to change (a message published, a result stored),
/// without losing a wake-up that happens between a caller's look and its wait: a caller reads
/// ``generation`` before it looks, and ``wait(after:timeout:)`` returns at once when the
/// generation moved since. The worker's ``StopSignal`` and the in-memory transport wait on it.
package final class WakeSignal: Sendable {
    private struct State {
        package var generation: UInt64 = 0
        var nextID: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Waits whose timeout or cancellation came before they began waiting.
        var expired: Set<UInt64> = []
    }

    private let state = Mutex(State())

    /// A signal nothing has waited on yet.
    package init() {}

    /// The number of changes signalled so far.
    package var generation: UInt64 { state.withLock { $0.generation } }

    /// Records a change and wakes every waiter.
    package func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until a change after `generation` is signalled, `timeout` passes, or the task is
    /// cancelled; returns at once when one was already signalled.
    package func wait(after generation: UInt64, timeout: Duration) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self.wake(id)
        }
        defer {
            timer.cancel()
            _ = state.withLock { $0.expired.remove(id) }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    guard state.generation == generation, state.expired.remove(id) == nil else { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            self.wake(id)
        }
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
