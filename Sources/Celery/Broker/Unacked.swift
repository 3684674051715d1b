import Synchronization
internal import CeleryRedis
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// kombu's acknowledgement emulation: acks, restores by tag and the visibility restore, over
/// the `unacked` hash and `unacked_index` sorted set.
extension RedisBroker {
    /// kombu's ack (and reject without requeue): drop the tag from `unacked_index` and `unacked`.
    /// Acks of many tasks made at about the same time go out as one `ZREM` and one `HDEL`.
    func ack(deliveryTag: [UInt8]) async throws {
        try await acknowledgements.submit(deliveryTag)
    }

    static func acknowledge(_ tags: [[UInt8]], on connection: RedisConnection) async throws -> [Void] {
        _ = try await ackScript.run(on: connection, keys: [QueueKeys.unackedIndex, QueueKeys.unacked], arguments: tags)
        return Array(repeating: (), count: tags.count)
    }

    /// kombu's ack, `ZREM unacked_index tags` and `HDEL unacked tags` together, as a script
    /// rather than kombu's `MULTI`/`EXEC`: under `maxmemory` with `noeviction` Redis refuses
    /// every command queued in a transaction, so a `MULTI` ack fails (`EXECABORT`) and the
    /// message runs again after the visibility timeout, while a script that only deletes runs.
    /// `unpack` takes at most a few thousand values, hence the slices.
    static let ackScript = RedisScript(name: "ack", source: #"""
        for first = 1, #ARGV, 1000 do
          local last = math.min(first + 999, #ARGV)
          redis.call('ZREM', KEYS[1], unpack(ARGV, first, last))
          redis.call('HDEL', KEYS[2], unpack(ARGV, first, last))
        end
        return #ARGV
        """#)

    /// Puts an unacknowledged message back in its queue as kombu's `restore_by_tag` does:
    /// `redelivered` set in its headers and delivery info, RPUSH (next to be taken) or LPUSH
    /// (`leftmost`, for reject-with-requeue), and removed from `unacked` in the same step.
    func restore(deliveryTag: [UInt8], leftmost: Bool = false) async throws {
        let stored = try await commands.send(RedisCommand("HGET", QueueKeys.unacked, deliveryTag)).unwrapped(command: "HGET")
        guard let record = stored.bytes else {
            try await ack(deliveryTag: deliveryTag)
            return
        }
        guard let redelivery = Self.redelivery(fromUnackedRecord: record) else {
            try await ack(deliveryTag: deliveryTag)
            return
        }
        // kombu's _restore routes again through the exchange's bindings; a message published
        // by routing key to a bound exchange goes back to the queue it came from.
        let queues = try await queues(exchange: redelivery.exchange, routingKey: redelivery.routingKey)
        guard let first = queues.first else {
            // kombu drops a message whose exchange has no matching binding any more; keep it
            // instead, in the queue its routing key names.
            return try await restore(redelivery, to: redelivery.routingKey, deliveryTag: deliveryTag, record: record, leftmost: leftmost)
        }
        try await restore(redelivery, to: first, deliveryTag: deliveryTag, record: record, leftmost: leftmost)
        for queue in queues.dropFirst() {
            try await publish(redelivery.payload, queue: queue, priority: redelivery.priority)
        }
    }

    func restore(_ redelivery: Redelivery, to queue: String, deliveryTag: [UInt8], record: [UInt8], leftmost: Bool) async throws {
        // Compare-and-move in one script: only if nobody else restored or acked it meanwhile.
        _ = try await runScript(
            keys: [QueueKeys.key(queue: queue, priority: redelivery.priority)],
            arguments: ["restore", deliveryTag, record, redelivery.payload, leftmost ? "1" : "0"])
    }

    /// kombu's `restore_visible`: under the shared `unacked_mutex` (taken with `SET NX PX`,
    /// released by compare-and-delete as redis-py's lock does), puts back every message that
    /// has been unacknowledged longer than `visibilityTimeout`, newest first.
    ///
    /// - Returns: how many messages were restored; 0 when another worker holds the mutex.
    func restoreVisible(visibilityTimeout: Duration) async throws -> Int {
        let token = RandomUUID.hexToken(bytes: 16)
        let acquired = try await commands.send(RedisCommand("SET", QueueKeys.unackedMutex, token, "NX", "PX", 300_000))
            .unwrapped(command: "SET unacked_mutex")
        guard acquired.string == "OK" else { return 0 }
        var restored = 0
        do {
            let ceiling = Date().timeIntervalSince1970 - Double(visibilityTimeout.components.seconds)
            let reply = try await commands.send(RedisCommand("ZRANGE", QueueKeys.unackedIndex, ceiling, 0, "BYSCORE", "REV", "WITHSCORES"))
                .unwrapped(command: "ZRANGE unacked_index")
            let items = reply.array ?? []
            for index in stride(from: 0, to: items.count, by: 2) {
                guard let tag = items[index].bytes else { continue }
                try await restore(deliveryTag: tag)
                restored += 1
            }
        } catch {
            _ = try? await runScript(keys: [QueueKeys.unackedMutex], arguments: ["unlock", token])
            throw error
        }
        _ = try await runScript(keys: [QueueKeys.unackedMutex], arguments: ["unlock", token])
        return restored
    }

    /// The unacked record `[message, exchange, routing_key]` turned into the message to push
    /// back and where it was published.
    static func redelivery(fromUnackedRecord record: [UInt8]) -> Redelivery? {
        guard case .array(let parts)? = try? JSONValue(parsing: record, maximumDepth: 512), parts.count == 3,
            case .object(var message) = parts[0], let routingKey = parts[2].stringValue
        else { return nil }
        let exchange = parts[1].stringValue ?? ""
        if case .object(var headers)? = message["headers"] {
            headers["redelivered"] = .bool(true)
            message["headers"] = .object(headers)
        }
        if case .object(var properties)? = message["properties"], case .object(var info)? = properties["delivery_info"] {
            info["redelivered"] = .bool(true)
            properties["delivery_info"] = .object(info)
            message["properties"] = .object(properties)
        }
        let priority = MessageProperties(object: message["properties"]?.objectValue ?? JSONObject()).priority
        return Redelivery(payload: JSONValue.object(message).pythonJSONBytes(), exchange: exchange, routingKey: routingKey, priority: priority)
    }
}

extension RedisBroker {
    /// Marks the messages filed under `tags` as delivered now (`ZADD XX unacked_index now`),
    /// so no visibility restore, this worker's or a peer's, takes them while this worker holds
    /// them. `XX` skips tags that were acknowledged or restored meanwhile. One pipelined round
    /// trip, at most 1,000 tags per command.
    ///
    /// - Throws: the Redis error of a failed `ZADD`.
    func refreshVisibility(of tags: [[UInt8]]) async throws {
        guard !tags.isEmpty else { return }
        let now = Self.now()
        let chunk = 1000
        let commands = stride(from: 0, to: tags.count, by: chunk).map { start in
            RedisCommand(
                "ZADD",
                arguments: [QueueKeys.unackedIndex, "XX"] as [any RedisArgumentConvertible]
                    + tags[start..<min(start + chunk, tags.count)].flatMap { [now, $0] as [any RedisArgumentConvertible] })
        }
        for reply in try await self.commands.pipeline(commands) {
            try reply.unwrapped(command: "ZADD XX unacked_index (visibility refresh)")
        }
    }
}
