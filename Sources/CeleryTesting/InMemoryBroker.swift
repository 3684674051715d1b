public import Celery
import DequeModule
import Synchronization

/// A broker in this process with kombu's semantics, for unit tests of tasks and workers:
/// queues with priorities (0 is served first, as on Redis), deliveries held unacknowledged until
/// acknowledged or restored, restores of deliveries held past the visibility timeout, exchange
/// bindings, fanout exchanges (events, remote control) and remote-control reply queues.
///
/// Messages are kept as the encoded envelopes a Redis list holds, so the worker decodes exactly
/// what it decodes in production. Nothing leaves the process.
public final class InMemoryBroker: BrokerTransport, Sendable {
    private struct Held {
        var queue: String
        var raw: [UInt8]
        var priority: Int
        var deliveredAt: ContinuousClock.Instant
    }

    private struct State {
        /// Per queue, one line per priority 0...9.
        var queues: [String: [Deque<[UInt8]>]] = [:]
        var unacked: [[UInt8]: Held] = [:]
        /// Exchange → (routing key, queue) bindings.
        var bindings: [String: Set<Binding>] = [:]
        var subscribers: [String: [UInt64: @Sendable ([UInt8]) -> Void]] = [:]
        var replyQueues: [String: Deque<[UInt8]>] = [:]
        var nextTag: UInt64 = 0
        var nextSubscription: UInt64 = 0
        var closed = false
    }

    private struct Binding: Hashable {
        var routingKey: String
        var queue: String
    }

    private let state = Mutex(State())
    private let published = WakeSignal()

    /// An empty broker.
    public init() {}

    package var location: String { "memory://" }

    package var connectionInfo: BrokerConnectionInfo {
        BrokerConnectionInfo(transport: "memory", hostname: "localhost", port: 0, userID: nil, virtualHost: "/", ssl: false)
    }

    /// How many messages wait in `queue` (not counting those held unacknowledged).
    public func count(queue: String) -> Int {
        state.withLock { $0.queues[queue]?.reduce(0) { $0 + $1.count } ?? 0 }
    }

    /// How many deliveries are held unacknowledged.
    public var unackedCount: Int { state.withLock { $0.unacked.count } }

    package func ping() async throws {
        try state.withLock { state in if state.closed { throw InMemoryTransportError.closed } }
    }

    package func declare(queue: String) async throws {
        state.withLock { state in
            state.bindings[queue, default: []].insert(Binding(routingKey: queue, queue: queue))
            if state.queues[queue] == nil { state.queues[queue] = Self.emptyLines }
        }
    }

    package func fetch(queues: [String], limit: Int) async throws -> [Delivery] {
        try state.withLock { state in
            if state.closed { throw InMemoryTransportError.closed }
            var taken: [Delivery] = []
            // Priority first, then the queues in the order given, as kombu's BRPOP names the lists.
            for priority in 0..<10 where taken.count < limit {
                for queue in queues where taken.count < limit {
                    while taken.count < limit, let raw = state.queues[queue]?[priority].popFirst() {
                        state.nextTag &+= 1
                        let tag = Array("memory-\(state.nextTag)".utf8)
                        state.unacked[tag] = Held(queue: queue, raw: raw, priority: priority, deliveredAt: .now)
                        taken.append(Delivery(queueKey: queue, raw: raw, deliveryTag: tag))
                    }
                }
            }
            return taken
        }
    }

    package func waitAndFetch(queues: [String], limit: Int, timeout: Duration) async throws -> [Delivery] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let generation = published.generation
            let taken = try await fetch(queues: queues, limit: limit)
            let remaining = ContinuousClock.now.duration(to: deadline)
            if !taken.isEmpty || remaining <= .zero || Task.isCancelled { return taken }
            await published.wait(after: generation, timeout: remaining)
        }
    }

    package func ack(deliveryTag: [UInt8]) async throws {
        _ = state.withLock { $0.unacked.removeValue(forKey: deliveryTag) }
    }

    package func restore(deliveryTag: [UInt8], leftmost: Bool) async throws {
        state.withLock { state in
            guard let held = state.unacked.removeValue(forKey: deliveryTag) else { return }
            Self.put(held.raw, queue: held.queue, priority: held.priority, first: leftmost, in: &state)
        }
        published.signal()
    }

    package func restoreVisible(visibilityTimeout: Duration) async throws -> Int {
        let ceiling = ContinuousClock.now.advanced(by: .zero - visibilityTimeout)
        let restored = state.withLock { state -> Int in
            let due = state.unacked.filter { $0.value.deliveredAt <= ceiling }
            for (tag, held) in due {
                state.unacked[tag] = nil
                Self.put(held.raw, queue: held.queue, priority: held.priority, first: true, in: &state)
            }
            return due.count
        }
        if restored > 0 { published.signal() }
        return restored
    }

    package func refreshVisibility(of tags: [[UInt8]]) async throws {
        state.withLock { state in
            for tag in tags { state.unacked[tag]?.deliveredAt = .now }
        }
    }

    package func publish(_ messages: [(message: TaskMessage, options: TaskOptions)], defaultQueue: String) async throws {
        try await publish(
            encoded: messages.map { (task: $0.message.headers.task, envelope: $0.message.envelopeBytes(), options: $0.options) },
            defaultQueue: defaultQueue)
    }

    package func publish(encoded messages: [(task: String, envelope: [UInt8], options: TaskOptions)], defaultQueue: String) async throws {
        try state.withLock { state in
            if state.closed { throw InMemoryTransportError.closed }
            for (task, envelope, options) in messages {
                if options.routedByExchange {
                    let exchange = options.exchange ?? "", routingKey = options.routingKey ?? ""
                    let queues = exchange.isEmpty
                        ? [routingKey]
                        : (state.bindings[exchange] ?? []).filter { $0.routingKey == routingKey }.map(\.queue).sorted()
                    guard !queues.isEmpty else {
                        throw UnroutableMessageError(task: task, exchange: exchange, routingKey: routingKey)
                    }
                    for queue in queues { Self.put(envelope, queue: queue, priority: options.priority, first: false, in: &state) }
                } else {
                    let queue = options.queue ?? defaultQueue
                    state.bindings[queue, default: []].insert(Binding(routingKey: queue, queue: queue))
                    Self.put(envelope, queue: queue, priority: options.priority, first: false, in: &state)
                }
            }
        }
        published.signal()
    }

    package func publish(_ envelope: [UInt8], queue: String, priority: Int) async throws {
        state.withLock { Self.put(envelope, queue: queue, priority: priority, first: false, in: &$0) }
        published.signal()
    }

    package func publishFanout(_ envelope: [UInt8], exchange: String, routingKey: String) async throws {
        let receivers = state.withLock { Array(($0.subscribers[exchange] ?? [:]).values) }
        for receive in receivers { receive(envelope) }
    }

    package func subscribeFanout(exchange: String, onMessage: @escaping @Sendable ([UInt8]) -> Void) async throws
        -> any FanoutSubscription
    {
        let id = state.withLock { state -> UInt64 in
            state.nextSubscription &+= 1
            state.subscribers[exchange, default: [:]][state.nextSubscription] = onMessage
            return state.nextSubscription
        }
        return Subscription { [weak self] in
            _ = self?.state.withLock { $0.subscribers[exchange]?.removeValue(forKey: id) }
        }
    }

    private struct Subscription: FanoutSubscription {
        let end: @Sendable () -> Void
        func cancel() { end() }
    }

    package func publishReply(_ envelope: [UInt8], routingKey: String) async throws {
        state.withLock { $0.replyQueues[routingKey]?.append(envelope) }
    }

    package func bindReplyQueue(oid: String, bound: Bool) async throws {
        state.withLock { state in
            if bound {
                if state.replyQueues[oid] == nil { state.replyQueues[oid] = [] }
            } else {
                state.replyQueues[oid] = nil
            }
        }
    }

    package func takeReplies(oid: String) async throws -> [[UInt8]] {
        state.withLock { state in
            defer { if state.replyQueues[oid] != nil { state.replyQueues[oid] = [] } }
            return Array(state.replyQueues[oid] ?? [])
        }
    }

    package func deleteReplyQueue(oid: String) async throws {
        _ = state.withLock { $0.replyQueues.removeValue(forKey: oid) }
    }

    package func purge(queue: String) async throws -> Int {
        state.withLock { state in
            let count = state.queues[queue]?.reduce(0) { $0 + $1.count } ?? 0
            if state.queues[queue] != nil { state.queues[queue] = Self.emptyLines }
            return count
        }
    }

    package func peek(queue: String, limit: Int) async throws -> [(key: String, raw: [UInt8])] {
        state.withLock { state in
            Array((state.queues[queue] ?? []).joined().prefix(limit)).map { (key: queue, raw: $0) }
        }
    }

    package func close() {
        state.withLock { $0.closed = true }
        published.signal()
    }

    private static let emptyLines = [Deque<[UInt8]>](repeating: [], count: 10)

    private static func put(_ raw: [UInt8], queue: String, priority: Int, first: Bool, in state: inout State) {
        let line = min(max(priority, 0), 9)
        if state.queues[queue] == nil { state.queues[queue] = emptyLines }
        if first {
            state.queues[queue]![line].prepend(raw)
        } else {
            state.queues[queue]![line].append(raw)
        }
    }
}

/// Why the in-memory transport refused a call.
public enum InMemoryTransportError: Error, CustomStringConvertible, TransportError {
    /// The broker or store was closed.
    case closed

    public var description: String {
        switch self {
        case .closed: "the in-memory transport is closed"
        }
    }

    package var isConnectionError: Bool { false }
    package var isOutOfMemory: Bool { false }
    package var isConfigurationError: Bool { false }
    package var isClosed: Bool { true }
    package var configurationProblem: String? { nil }
}
