import DequeModule
import Synchronization

/// A delivery waiting for an execution slot; decoded already when it comes back from the
/// ETA schedule.
struct QueuedDelivery: Sendable {
    var delivery: Delivery
    var message: TaskMessage?
}

/// The messages a worker holds between fetching and acknowledging them, and the prefetch
/// limit on them.
///
/// The consumer waits for room (``waitForRoom()``), appends what it fetched; execution slots
/// take messages in order (``next()``); an acknowledgement gives the room back
/// (``release()``). After ``shutdown()`` no slot gets another message, and the consumer
/// takes back the unstarted ones (``drainUnstarted()``) to return them to their queues.
final class DeliveryBuffer: Sendable {
    private struct State {
        var pending: Deque<QueuedDelivery> = []
        var held = 0
        var isShutDown = false
        var slotWaiters: Deque<CheckedContinuation<QueuedDelivery?, Never>> = []
        var roomWaiter: CheckedContinuation<Int, Never>?

        var pendingCount: Int { pending.count }

        mutating func popFirst() -> QueuedDelivery? { pending.popFirst() }
    }

    /// The most messages held at once (concurrency × prefetch multiplier).
    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Waits until fewer than `limit` messages are held; returns how many more may be
    /// fetched, or 0 once shut down.
    func waitForRoom() async -> Int {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
            let room = state.withLock { state -> Int? in
                if state.isShutDown { return 0 }
                let room = limit - state.held
                if room > 0 { return room }
                state.roomWaiter = continuation
                return nil
            }
            if let room { continuation.resume(returning: room) }
        }
    }

    /// Adds fetched messages (counted as held until released).
    func append(_ deliveries: [Delivery]) {
        enqueue(deliveries.map { QueuedDelivery(delivery: $0, message: nil) }, atFront: false)
    }

    /// Puts messages whose ETA came back in front of the line, counted as held again.
    func prepend(_ items: [QueuedDelivery]) {
        enqueue(items, atFront: true)
    }

    /// Returns a message a slot took but will not run, to the front, still counted as held.
    func putBack(_ item: QueuedDelivery) {
        enqueue([item], atFront: true, countAsHeld: false)
    }

    private func enqueue(_ items: [QueuedDelivery], atFront: Bool, countAsHeld: Bool = true) {
        let handOff = state.withLock { state -> [(CheckedContinuation<QueuedDelivery?, Never>, QueuedDelivery)] in
            if countAsHeld { state.held += items.count }
            var handOff: [(CheckedContinuation<QueuedDelivery?, Never>, QueuedDelivery)] = []
            var remaining: [QueuedDelivery] = []
            for item in items {
                if !state.slotWaiters.isEmpty {
                    handOff.append((state.slotWaiters.removeFirst(), item))
                } else {
                    remaining.append(item)
                }
            }
            if atFront {
                state.pending.insert(contentsOf: remaining, at: 0)
            } else {
                state.pending.append(contentsOf: remaining)
            }
            return handOff
        }
        for (waiter, item) in handOff { waiter.resume(returning: item) }
    }

    /// The next message to run, waiting for one; `nil` once shut down.
    func next() async -> QueuedDelivery? {
        await withCheckedContinuation { (continuation: CheckedContinuation<QueuedDelivery?, Never>) in
            let ready = state.withLock { state -> QueuedDelivery?? in
                if state.isShutDown { return .some(nil) }
                if let delivery = state.popFirst() { return .some(delivery) }
                state.slotWaiters.append(continuation)
                return .none
            }
            if case .some(let delivery) = ready { continuation.resume(returning: delivery) }
        }
    }

    /// Gives back the room of one message that was acknowledged or returned.
    func release() {
        let waiter = state.withLock { state -> (CheckedContinuation<Int, Never>, Int)? in
            state.held -= 1
            guard let waiter = state.roomWaiter, state.held < limit else { return nil }
            state.roomWaiter = nil
            return (waiter, state.isShutDown ? 0 : limit - state.held)
        }
        if let (waiter, room) = waiter { waiter.resume(returning: room) }
    }

    /// Stops handing out messages; waiting slots and the consumer are woken with nothing.
    func shutdown() {
        let (slots, room) = state.withLock { state in
            state.isShutDown = true
            defer {
                state.slotWaiters = []
                state.roomWaiter = nil
            }
            return (state.slotWaiters, state.roomWaiter)
        }
        for slot in slots { slot.resume(returning: nil) }
        room?.resume(returning: 0)
    }

    /// How many messages wait for a slot.
    var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Whether ``shutdown()`` was called.
    var isShutDown: Bool { state.withLock { $0.isShutDown } }

    /// The messages waiting for a slot, in order, without taking them.
    func pendingSnapshot() -> [QueuedDelivery] {
        state.withLock { Array($0.pending) }
    }

    /// Takes every message no slot has started.
    func drainUnstarted() -> [Delivery] {
        state.withLock { state in
            var unstarted: [Delivery] = []
            while let item = state.popFirst() { unstarted.append(item.delivery) }
            return unstarted
        }
    }
}
