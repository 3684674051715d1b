import Synchronization
internal import CeleryRedis

/// Waits for result notifications on one pub/sub connection shared by every `AsyncResult`
/// of a client, as Celery's `ResultConsumer` does.
final class ResultListener: Sendable {
    private struct Mailbox {
        var messages: [[UInt8]] = []
        var waiter: CheckedContinuation<[UInt8]?, Never>?
        /// Counts the waits, so a timeout can tell whether its wait is still the current one.
        var waits: UInt64 = 0
    }

    /// The mailboxes, in a class so the subscriber's callback can share them.
    private final class Mailboxes: Sendable {
        let state = Mutex<[String: [UInt64: Mailbox]]>([:])
    }

    private let subscriber: RedisSubscriber
    private let store: Mailboxes
    private let nextToken = Atomic<UInt64>(0)

    /// What ``next(_:token:timeout:)`` returns when the subscription was restored after a
    /// reconnect: a notification may have been lost meanwhile, so look at the stored result.
    static let lookAgain: [UInt8] = []

    /// - Parameter eventLoop: the thread to listen on (the client's), or `nil` for one of its own.
    init(endpoint: RedisEndpoint, eventLoop: RedisEventLoop?) {
        let store = Mailboxes()
        self.store = store
        subscriber = RedisSubscriber(
            endpoint: endpoint, eventLoop: eventLoop, onResubscribed: { channel in Self.deliver(ResultListener.lookAgain, on: channel, to: store) }
        ) { channel, payload in
            Self.deliver(payload, on: channel, to: store)
        }
    }

    /// Hands `payload` to every waiter of `channel`, or queues it in their mailboxes.
    private static func deliver(_ payload: [UInt8], on channel: String, to store: Mailboxes) {
            let waiters = store.state.withLock { boxes -> [CheckedContinuation<[UInt8]?, Never>] in
                guard var channelBoxes = boxes[channel] else { return [] }
                var ready: [CheckedContinuation<[UInt8]?, Never>] = []
                for (token, var box) in channelBoxes {
                    if let waiter = box.waiter {
                        ready.append(waiter)
                        box.waiter = nil
                    } else {
                        box.messages.append(payload)
                    }
                    channelBoxes[token] = box
                }
                boxes[channel] = channelBoxes
                return ready
            }
            for waiter in waiters { waiter.resume(returning: payload) }
    }

    func shutdown() {
        subscriber.shutdown()
    }

    /// Subscribes to the channel (confirmed by Redis when this returns).
    ///
    /// - Throws: the connection's ``RedisError`` while Redis cannot be reached.
    func subscribe(_ channel: String) async throws {
        try await subscriber.subscribe(channel)
    }

    /// Starts collecting messages of `channel` for one waiter.
    func register(_ channel: String) -> UInt64 {
        let token = nextToken.wrappingAdd(1, ordering: .relaxed).newValue
        store.state.withLock { $0[channel, default: [:]][token] = Mailbox() }
        return token
    }

    /// Stops collecting for `token`; unsubscribes when nobody else waits on the channel.
    func unregister(_ channel: String, token: UInt64) {
        let (waiter, empty) = store.state.withLock { boxes -> (CheckedContinuation<[UInt8]?, Never>?, Bool) in
            let waiter = boxes[channel]?[token]?.waiter
            boxes[channel]?[token] = nil
            let empty = boxes[channel]?.isEmpty ?? true
            if empty { boxes[channel] = nil }
            return (waiter, empty)
        }
        waiter?.resume(returning: nil)
        if empty { subscriber.unsubscribe(channel) }
    }

    /// Whether a notification (not a ``lookAgain``) is waiting for `token`.
    func hasDelivered(_ channel: String, token: UInt64) -> Bool {
        store.state.withLock { boxes in
            boxes[channel]?[token]?.messages.contains { $0 != ResultListener.lookAgain } ?? false
        }
    }

    /// The oldest message already delivered for `token`, without waiting.
    private func delivered(_ channel: String, token: UInt64) -> [UInt8]? {
        store.state.withLock { boxes in
            guard var box = boxes[channel]?[token], !box.messages.isEmpty else { return nil }
            let message = box.messages.removeFirst()
            boxes[channel]?[token] = box
            return message
        }
    }

    /// The next message for `token`, or `nil` when `timeout` passes first (or the task is cancelled).
    func next(_ channel: String, token: UInt64, timeout: Duration) async -> [UInt8]? {
        if let message = delivered(channel, token: token) { return message }
        let wait = store.state.withLock { boxes -> UInt64 in
            boxes[channel]?[token]?.waits += 1
            return boxes[channel]?[token]?.waits ?? 0
        }
        // On the subscriber's loop: from a task running there, neither scheduling nor
        // cancelling the timeout wakes another thread (a sleeping Task did, twice per wait).
        let timer = subscriber.eventLoop.schedule(after: timeout) { [store] in
            Self.wakeWithoutMessage(channel, token: token, wait: wait, in: store)
        }
        defer { subscriber.eventLoop.cancel(timer) }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[UInt8]?, Never>) in
                let immediate = store.state.withLock { boxes -> [UInt8]?? in
                    guard var box = boxes[channel]?[token] else { return .some(nil) }
                    if !box.messages.isEmpty {
                        let message = box.messages.removeFirst()
                        boxes[channel]?[token] = box
                        return .some(message)
                    }
                    box.waiter = continuation
                    boxes[channel]?[token] = box
                    return .none
                }
                if case .some(let message) = immediate { continuation.resume(returning: message) }
            }
        } onCancel: {
            Self.wakeWithoutMessage(channel, token: token, wait: wait, in: store)
        }
    }

    /// Ends wait number `wait` of `token` without a message, unless a later wait began.
    private static func wakeWithoutMessage(_ channel: String, token: UInt64, wait: UInt64, in store: Mailboxes) {
        let waiter = store.state.withLock { boxes -> CheckedContinuation<[UInt8]?, Never>? in
            guard boxes[channel]?[token]?.waits == wait else { return nil }
            let waiter = boxes[channel]?[token]?.waiter
            boxes[channel]?[token]?.waiter = nil
            return waiter
        }
        waiter?.resume(returning: nil)
    }
}
