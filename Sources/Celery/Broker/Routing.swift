import Synchronization
internal import CeleryRedis
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// kombu's routing on Redis: `_kombu.binding.*` tables, publishing to queues, exchanges and
/// fanout channels, and the queue admin commands (`purge`, `peek`).
extension RedisBroker {
    /// Declares `queue` as kombu's `queue_bind` does for a queue named in `-Q` or published
    /// to by name: exchange and routing key are the queue's own name, the member
    /// `routing_key\x06\x16pattern\x06\x16queue` goes into `_kombu.binding.<exchange>` and
    /// `_kombu.binding_permanent.<exchange>`. Peers restoring or routing by exchange read it.
    func declareBinding(queue: String, exchange: String? = nil, routingKey: String? = nil) async throws {
        let exchange = exchange ?? queue
        let member = QueueKeys.bindingMember(routingKey: routingKey ?? queue, queue: queue)
        let replies = try await commands.pipeline([
            RedisCommand("SADD", QueueKeys.bindingKey(exchange: exchange), member),
            RedisCommand("SADD", QueueKeys.permanentBindingKey(exchange: exchange), member),
        ])
        for reply in replies { try reply.unwrapped(command: "SADD (queue_bind)") }
    }

    /// The queues a message published to `exchange` with `routingKey` goes to, as kombu's
    /// direct-exchange `_lookup` finds them: the anonymous exchange (`""`) delivers to the
    /// queue named by the routing key; any other exchange to every queue whose binding in
    /// `_kombu.binding.<exchange>` has that routing key. Empty when nothing is bound.
    func queues(exchange: String, routingKey: String) async throws -> [String] {
        guard !exchange.isEmpty else { return [routingKey] }
        let reply = try await commands.send(RedisCommand("SMEMBERS", QueueKeys.bindingKey(exchange: exchange)))
            .unwrapped(command: "SMEMBERS")
        let bindings = (reply.array ?? []).compactMap { $0.bytes.flatMap(QueueKeys.binding(fromMember:)) }
        var queues: [String] = []
        for binding in bindings.sorted(by: { $0.queue < $1.queue }) where binding.routingKey == routingKey {
            if !queues.contains(binding.queue) { queues.append(binding.queue) }
        }
        return queues
    }

    /// Publishes to a fanout exchange as kombu's Redis transport does: `PUBLISH
    /// /<db>.<exchange>[/<routing key>]` (events, pidbox broadcasts).
    func publishFanout(_ envelope: [UInt8], exchange: String, routingKey: String) async throws {
        try await commands.send(RedisCommand("PUBLISH", Self.fanoutChannel(database: endpoint.database, exchange: exchange, routingKey: routingKey), envelope))
            .unwrapped(command: "PUBLISH")
    }

    /// The pub/sub channel of a fanout exchange: `/<db>.<exchange>` plus `/<routing key>` when one is given.
    static func fanoutChannel(database: Int, exchange: String, routingKey: String) -> String {
        "/\(database).\(exchange)" + (routingKey.isEmpty ? "" : "/\(routingKey)")
    }

    /// Sends a remote-control reply as kombu's pidbox does: to every queue bound to the
    /// `reply.celery.pidbox` exchange with `routingKey` (the caller's oid). Dropped when the
    /// caller has already gone (no binding), as with Celery.
    func publishReply(_ envelope: [UInt8], routingKey: String) async throws {
        let members = try await commands.send(RedisCommand("SMEMBERS", "_kombu.binding.reply.celery.pidbox"))
            .unwrapped(command: "SMEMBERS")
        for member in members.array ?? [] {
            guard let binding = member.bytes.flatMap(QueueKeys.binding(fromMember:)), binding.routingKey == routingKey else { continue }
            try await publish(envelope, queue: binding.queue, priority: 0)
        }
    }

    /// LPUSHes many messages in one pipelined round trip.
    func publishMany(_ messages: [(envelope: [UInt8], queue: String, priority: Int)]) async throws {
        let replies = try await commands.pipeline(messages.map {
            RedisCommand("LPUSH", QueueKeys.key(queue: $0.queue, priority: $0.priority), $0.envelope)
        })
        for reply in replies { try reply.unwrapped(command: "LPUSH") }
    }

    /// Publishes task messages where their options send them, as Celery's producer does: to a
    /// queue by name (declaring its kombu binding the first time this broker publishes to it,
    /// as Celery declares the queue it sends to), or through an exchange's bindings. Messages
    /// go out in one pipeline.
    ///
    /// - Throws: ``UnroutableMessageError`` when an exchange has no binding for the routing key.
    func publish(_ messages: [(message: TaskMessage, options: TaskOptions)], defaultQueue: String) async throws {
        try await publish(
            encoded: messages.map { (task: $0.message.headers.task, envelope: $0.message.envelopeBytes(), options: $0.options) },
            defaultQueue: defaultQueue)
    }

    /// ``publish(_:defaultQueue:)`` for envelopes already encoded (``CeleryClient/sendBatch(_:)``
    /// encodes a large batch on several cores).
    func publish(encoded messages: [(task: String, envelope: [UInt8], options: TaskOptions)], defaultQueue: String) async throws {
        var pushes: [(envelope: [UInt8], queue: String, priority: Int)] = []
        pushes.reserveCapacity(messages.count)
        for (task, envelope, options) in messages {
            if options.routedByExchange {
                let exchange = options.exchange ?? "", routingKey = options.routingKey ?? ""
                let queues = try await queues(exchange: exchange, routingKey: routingKey)
                guard !queues.isEmpty else { throw UnroutableMessageError(task: task, exchange: exchange, routingKey: routingKey) }
                pushes += queues.map { (envelope, $0, options.priority) }
            } else {
                let queue = options.queue ?? defaultQueue
                if declaredQueues.withLock({ $0.insert(queue).inserted }) {
                    do { try await declareBinding(queue: queue) } catch {
                        declaredQueues.withLock { _ = $0.remove(queue) }
                        throw error
                    }
                }
                pushes.append((envelope, queue, options.priority))
            }
        }
        if pushes.count == 1 {
            try await publish(pushes[0].envelope, queue: pushes[0].queue, priority: pushes[0].priority)
        } else {
            try await publishMany(pushes)
        }
    }

    /// kombu's `_purge`: empties every priority list of `queue`; returns how many messages
    /// were removed. Unacknowledged messages (in `unacked`) are not touched, as in kombu.
    func purge(queue: String) async throws -> Int {
        var commands: [RedisCommand] = [RedisCommand("MULTI")]
        for key in QueueKeys.keys(queue: queue) { commands += [RedisCommand("LLEN", key), RedisCommand("DEL", key)] }
        commands.append(RedisCommand("EXEC"))
        let replies = try await self.commands.pipeline(commands)
        let results = try RedisReply.transactionResult(replies, command: "purge \(queue)").array ?? []
        return stride(from: 0, to: results.count, by: 2).reduce(0) { $0 + Int(results[$1].integer ?? 0) }
    }

    /// LPUSHes a message onto the list for its queue and priority.
    func publish(_ envelope: [UInt8], queue: String, priority: Int) async throws {
        try await commands.send(RedisCommand("LPUSH", QueueKeys.key(queue: queue, priority: priority), envelope))
            .unwrapped(command: "LPUSH")
    }

    /// Up to `limit` entries of `queue` in the order a worker would take them, without
    /// taking them: each priority list from its consuming (right) end, lowest step first.
    func peek(queue: String, limit: Int) async throws -> [(key: String, raw: [UInt8])] {
        var entries: [(key: String, raw: [UInt8])] = []
        for key in QueueKeys.keys(queue: queue) where entries.count < limit {
            let reply = try await commands.send(RedisCommand("LRANGE", key, -(limit - entries.count), -1))
                .unwrapped(command: "LRANGE")
            for item in (reply.array ?? []).reversed() {
                if let raw = item.bytes { entries.append((key, raw)) }
            }
        }
        return entries
    }

    /// A message to put back in its queue: what ``redelivery(fromUnackedRecord:)`` reads.
    struct Redelivery {
        /// The message with `redelivered` set, as bytes to push.
        var payload: [UInt8]
        /// The exchange and routing key it was published with.
        var exchange: String
        var routingKey: String
        /// Its priority, which picks the sub-list.
        var priority: Int
    }
}

/// A message sent to an exchange that has no queue bound with its routing key. kombu drops
/// such a message without a word; the Swift client refuses to lose it silently.
package struct UnroutableMessageError: Error, CustomStringConvertible {
    package var task: String
    package var exchange: String
    package var routingKey: String

    /// No queue takes `task` published to `exchange` with `routingKey`.
    package init(task: String, exchange: String, routingKey: String) {
        self.task = task
        self.exchange = exchange
        self.routingKey = routingKey
    }

    package var description: String {
        "no queue is bound to exchange '\(exchange)' with routing key '\(routingKey)' (\(QueueKeys.bindingKey(exchange: exchange)) has no such binding); task \(task) not published"
    }
}
