import Synchronization

/// Messages whose `eta` (or `countdown`) lies ahead: held, still unacknowledged in kombu's
/// `unacked` as Celery holds them, without occupying an execution slot or prefetch room,
/// until they are due.
///
/// ``run(into:)`` moves each message into the delivery buffer when its time comes; on
/// shutdown ``drain()`` hands back what is still waiting so it can be returned to its queue.
/// While they wait, the worker keeps their `unacked_index` scores fresh so no visibility
/// restore takes them from a live worker (``EtaVisibility``).
final class EtaSchedule: Sendable {
    private struct Entry {
        var due: ContinuousClock.Instant
        var item: QueuedDelivery
    }

    private struct State {
        var entries: [Entry] = []
        var wakeUp: CheckedContinuation<Void, Never>?
        var generation: UInt64 = 0
        var isShutDown = false

        /// Takes the waiting scheduler's continuation, so exactly one caller resumes it.
        mutating func takeWakeUp() -> CheckedContinuation<Void, Never>? {
            defer { wakeUp = nil }
            return wakeUp
        }
    }

    private let state = Mutex(State())

    /// Holds `item` until `due`.
    func schedule(_ item: QueuedDelivery, due: ContinuousClock.Instant) {
        let wakeUp = state.withLock { state -> CheckedContinuation<Void, Never>? in
            let index = state.entries.firstIndex(where: { $0.due > due }) ?? state.entries.endIndex
            state.entries.insert(Entry(due: due, item: item), at: index)
            // Only a new earliest entry changes how long the scheduler must sleep.
            return index == 0 ? state.takeWakeUp() : nil
        }
        wakeUp?.resume()
    }

    /// The held messages with when they are due, without taking them.
    func snapshot() -> [(due: ContinuousClock.Instant, item: QueuedDelivery)] {
        state.withLock { $0.entries.map { ($0.due, $0.item) } }
    }

    /// How many messages are waiting.
    var count: Int { state.withLock { $0.entries.count } }

    /// Moves due messages into `buffer` until shut down.
    func run(into buffer: DeliveryBuffer) async {
        let clock = ContinuousClock()
        while true {
            let (due, nextDue, isShutDown) = state.withLock { state -> ([QueuedDelivery], ContinuousClock.Instant?, Bool) in
                let now = clock.now
                let split = state.entries.firstIndex(where: { $0.due > now }) ?? state.entries.endIndex
                let due = state.entries[..<split].map(\.item)
                state.entries.removeSubrange(..<split)
                return (due, state.entries.first?.due, state.isShutDown)
            }
            if isShutDown { return }
            if !due.isEmpty { buffer.prepend(due) }
            await waitForChange(until: nextDue)
        }
    }

    /// Sleeps until `deadline` (or indefinitely) unless an earlier entry or shutdown wakes it.
    private func waitForChange(until deadline: ContinuousClock.Instant?) async {
        var timer: Task<Void, Never>?
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let generation = state.withLock { state -> UInt64? in
                if state.isShutDown { return nil }
                state.generation += 1
                state.wakeUp = continuation
                return state.generation
            }
            guard let generation else { return continuation.resume() }
            if let deadline {
                timer = Task {
                    try? await Task.sleep(until: deadline, clock: ContinuousClock())
                    let wakeUp = self.state.withLock { state in
                        state.generation == generation ? state.takeWakeUp() : nil
                    }
                    wakeUp?.resume()
                }
            }
        }
        timer?.cancel()
    }

    /// Stops ``run(into:)``; waiting messages stay for ``drain()``.
    func shutdown() {
        let wakeUp = state.withLock { state in
            state.isShutDown = true
            return state.takeWakeUp()
        }
        wakeUp?.resume()
    }

    /// Takes every message still waiting.
    func drain() -> [Delivery] {
        state.withLock { state in
            defer { state.entries = [] }
            return state.entries.map(\.item.delivery)
        }
    }
}
