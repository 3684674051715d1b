import Synchronization
internal import CeleryRedis
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One message taken from a queue and recorded in kombu's `unacked` hash, not yet decoded.
struct Delivery: Sendable {
    /// The list it came from (`celery`, `celery\x06\x163`, ...).
    var queueKey: String
    /// The entry exactly as it was in the list.
    var raw: [UInt8]
    /// The field of `unacked` its record is under, as the bytes Redis holds (a hostile tag need
    /// not be UTF-8): its delivery tag, or a name of its own when another held message had that
    /// tag already (``UnackedTags``); `nil` when the entry had no tag readable and nothing was
    /// recorded. Acks and restores go by it.
    var deliveryTag: [UInt8]?
    /// When this worker took it from Redis.
    var fetchedAt: ContinuousClock.Instant = .now

    /// The tag for log lines.
    var tagDescription: String {
        deliveryTag.map { String(decoding: $0, as: UTF8.self) } ?? "(no delivery tag)"
    }

    /// The queue name (the key without its priority suffix).
    var queue: String { QueueKeys.queue(fromKey: queueKey) }
}

/// kombu's Redis transport, worker and producer side: queues as lists, priorities as sub-lists,
/// acknowledgement emulated with the `unacked` hash and `unacked_index` sorted set.
///
/// Differences from kombu, all invisible to Python peers: messages are fetched several per
/// round trip by a Lua script that pops each one and records it in `unacked` atomically
/// (closing kombu's pop-then-record loss window); when the queues are empty the consumer
/// waits with a blocking command that takes nothing, then fetches with the script. Messages
/// larger than ``scriptedFetchLimit`` are taken as kombu takes every message: popped, then
/// recorded by the next command on the same connection.
final class RedisBroker: Sendable {
    let endpoint: RedisEndpoint
    /// Acks, records, restores and publishes; calls from many tasks are pipelined together.
    let commands: RedisConnection
    /// Fetches and blocking waits; only the consumer loop uses it.
    private let consumer: RedisConnection
    private let transport = RedisScript(name: "transport", source: RedisBroker.transportScript)
    private let supportsBlockingMove = Atomic<Bool>(true)
    /// Whether the server has `LMPOP` (Redis 7.0); without it every message goes through the script.
    private let supportsMultiPop = Atomic<Bool>(true)
    /// Set when the script last stopped at a message over ``scriptedFetchLimit``: the consumer
    /// pops without the script until it takes a batch of small messages again.
    private let takingLargeMessages = Atomic<Bool>(false)

    /// The largest message the transport script fetches. Redis's Lua hashes every byte of
    /// every string a script touches (twice per message here: the popped entry and its
    /// `unacked` record), about 2 ns a byte on this machine: for a 100 KB argument that was
    /// 69% of Redis's time and most of a task's cost. Larger messages are popped with `LMPOP`
    /// and recorded by the command that follows on the same connection, as kombu records
    /// every message; the pop-then-record window this reopens for them is one round trip.
    static let scriptedFetchLimit = 32 * 1024
    /// Queues whose kombu binding this broker has declared.
    private let declaredQueues = Mutex<Set<String>>([])
    /// Names the record of a message whose delivery tag another held message already has.
    private let rekeying = UnackedTags.Nonces()

    /// Acknowledgements waiting to go out together.
    private let acknowledgements: RequestBatcher<[UInt8], Void>

    /// - Parameter eventLoop: where the command and consumer connections do their I/O (a
    ///   client's or a worker's loop; a blocking wait holds up only its own connection there),
    ///   or `nil` for a dispatch queue each.
    init(url: String, eventLoop: RedisEventLoop? = nil) throws {
        endpoint = try RedisEndpoint(url: url)
        let commands = RedisConnection(endpoint: endpoint, name: "broker.commands", eventLoop: eventLoop)
        self.commands = commands
        consumer = RedisConnection(endpoint: endpoint, name: "broker.consume", readTimeout: .seconds(10), eventLoop: eventLoop)
        acknowledgements = RequestBatcher(executor: eventLoop) { tags in try await Self.acknowledge(tags, on: commands) }
    }

    func close() {
        commands.close()
        consumer.close()
    }

    /// Connects (logging in and selecting the database) and sends `PING`: whether the broker
    /// answers with this URL.
    ///
    /// - Throws: ``RedisError``; ``RedisError/isConfigurationError`` when the server refused
    ///   the URL's credentials or database (`NOAUTH` included: it wants a password).
    func ping() async throws {
        try await commands.send(RedisCommand("PING")).unwrapped(command: "PING")
    }

    /// Every list of these queues, in the order kombu's BRPOP names them: all step-0 lists
    /// first, then all step-3 lists, and so on.
    static func consumeKeys(queues: [String]) -> [String] {
        QueueKeys.prioritySteps.flatMap { step in queues.map { QueueKeys.key(queue: $0, priority: step) } }
    }

    /// Takes up to `limit` messages without blocking, each recorded in `unacked` in the same
    /// atomic step as its pop. Runs on the consumer's own connection, so acknowledgements on
    /// the command connection never wait behind a fetch.
    func fetch(keys: [String], limit: Int) async throws -> [Delivery] {
        if takingLargeMessages.load(ordering: .relaxed) {
            return try await fetchWithoutScript(keys: keys, limit: limit)
        }
        let reply = try await transport.run(on: consumer, keys: Self.scriptKeys(keys), arguments: fetchArguments(limit: limit))
        return try await deliveries(fromScriptReply: reply, keys: keys, limit: limit)
    }

    /// The script's deliveries; when it stopped at a large message (a lone trailing integer,
    /// its size), switches to popping without the script and fills the rest of `limit` so.
    private func deliveries(fromScriptReply reply: RedisReply, keys: [String], limit: Int) async throws -> [Delivery] {
        var deliveries = try Self.deliveries(from: reply)
        if let flat = reply.array, flat.count % 3 == 1, flat.last?.integer != nil {
            takingLargeMessages.store(true, ordering: .relaxed)
            if deliveries.count < limit {
                deliveries += try await fetchWithoutScript(keys: keys, limit: limit - deliveries.count)
            }
        }
        return deliveries
    }

    /// kombu's way for large messages: `LMPOP` up to `limit` entries from the first non-empty
    /// list, then, at once on the consumer's thread, `ZADD unacked_index` and `HSET unacked`
    /// for every entry with a delivery tag. Goes back to the script once a batch holds no
    /// message over ``scriptedFetchLimit``, or the queues are empty.
    private func fetchWithoutScript(keys: [String], limit: Int) async throws -> [Delivery] {
        let now = Self.now()
        let taken = PoppedEntries()
        let (reply, recorded) = try await consumer.send(
            RedisCommand("LMPOP", arguments: [keys.count] + keys + ["RIGHT", "COUNT", limit])
        ) { reply in
            guard let popped = reply.array, popped.count == 2, let key = popped[0].string, let items = popped[1].array else { return nil }
            let entries = items.compactMap(\.bytes).map { raw in (raw: raw, record: UnackedRecord(raw: raw, queueKey: key)) }
            taken.value.withLock { $0 = (key, entries) }
            let records = entries.compactMap(\.record)
            guard !records.isEmpty else { return nil }
            // HSETNX: a tag another held message has already keeps that message's record (see
            // UnackedTags); ZADD NX leaves that message's score alone.
            return [
                RedisCommand("ZADD", arguments: [QueueKeys.unackedIndex, "NX"] + records.flatMap { [now, $0.deliveryTag] as [any RedisArgumentConvertible] })
            ] + records.map { RedisCommand("HSETNX", QueueKeys.unacked, $0.deliveryTag, $0.record) }
        }
        if case .error(let message) = reply, message.lowercased().contains("unknown command") {
            supportsMultiPop.store(false, ordering: .relaxed)
            takingLargeMessages.store(false, ordering: .relaxed)
            return try await fetch(keys: keys, limit: limit)
        }
        try reply.unwrapped(command: "LMPOP")
        guard let (key, entries) = taken.value.withLock({ $0 }) else {
            takingLargeMessages.store(false, ordering: .relaxed)
            return []
        }
        if !entries.contains(where: { $0.raw.count > Self.scriptedFetchLimit }) {
            takingLargeMessages.store(false, ordering: .relaxed)
        }
        let tags = try await UnackedTags.fileCollisions(
            of: entries.map(\.record), replies: recorded ?? [], now: now, nonce: rekeying.next(), on: consumer)
        return zip(entries, tags).map { Delivery(queueKey: key, raw: $0.raw, deliveryTag: $1) }
    }

    /// Waits up to `timeout` seconds for a message, then fetches like ``fetch(keys:limit:)``.
    ///
    /// The wait is `BLMOVE k k RIGHT RIGHT`: it blocks until the first list has an entry and
    /// moves that entry from the list's end to the same end, which leaves the list as it was.
    /// Nothing is taken until the fetch script pops and records atomically, so no message is
    /// ever outside both its queue and `unacked` (kombu's BRPOP-then-record has that window).
    /// The fetch follows the wake-up on the connection's own thread, in the same job; every
    /// list is looked at after each wait. On a Redis without BLMOVE (< 6.2) it waits with
    /// `BRPOPLPUSH k k` instead.
    func waitAndFetch(keys: [String], limit: Int, timeout: Double) async throws -> [Delivery] {
        guard let first = keys.first else { return [] }
        if supportsBlockingMove.load(ordering: .relaxed) {
            let fetchCommand = transport.loadedCommand(keys: Self.scriptKeys(keys), arguments: fetchArguments(limit: limit))
            let (reply, fetched) = try await consumer.send(RedisCommand("BLMOVE", first, first, "RIGHT", "RIGHT", timeout)) { reply in
                if case .error = reply { return nil }
                return fetchCommand.map { [$0] }
            }
            if case .error(let message) = reply, message.lowercased().contains("unknown command") {
                supportsBlockingMove.store(false, ordering: .relaxed)
            } else {
                try reply.unwrapped(command: "BLMOVE")
                if let fetched = fetched?.first, !RedisScript.isNotLoaded(fetched) {
                    let reply = try fetched.unwrapped(command: "EVALSHA (transport fetch)")
                    return try await deliveries(fromScriptReply: reply, keys: keys, limit: limit)
                }
                return try await fetch(keys: keys, limit: limit)
            }
        }
        // Before 6.2: `BRPOPLPUSH k k` waits the same way and never takes a message out of its
        // list either (it moves the oldest entry to the newest end: on wake-up that entry is
        // served after the others of its list), so kombu's BRPOP-then-record window stays closed.
        let reply = try await consumer.send(RedisCommand("BRPOPLPUSH", first, first, max(1, Int(timeout.rounded(.up)))))
            .unwrapped(command: "BRPOPLPUSH")
        if case .null = reply { return [] }
        return try await fetch(keys: keys, limit: limit)
    }

    /// What the `LMPOP` follow-up took, handed from the connection's thread to the caller.
    private final class PoppedEntries: Sendable {
        let value = Mutex<(key: String, entries: [(raw: [UInt8], record: UnackedRecord?)])?>(nil)
    }

    /// The transport script's keys: `unacked`, `unacked_index`, then the lists.
    private static func scriptKeys(_ lists: [String]) -> [String] {
        [QueueKeys.unacked, QueueKeys.unackedIndex] + lists
    }

    /// `fetch limit now nonce [largest]`: the size limit only when large messages can be taken
    /// without the script; the nonce names records of messages whose tag is taken (``UnackedTags``).
    private func fetchArguments(limit: Int) -> [any RedisArgumentConvertible] {
        var arguments: [any RedisArgumentConvertible] = ["fetch", String(limit), Self.now(), rekeying.next()]
        if supportsMultiPop.load(ordering: .relaxed) { arguments.append(String(Self.scriptedFetchLimit)) }
        return arguments
    }

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

    /// kombu's ack (and reject without requeue): drop the tag from `unacked_index` and `unacked`.
    /// Acks of many tasks made at about the same time go out as one `ZREM` and one `HDEL`.
    func ack(deliveryTag: [UInt8]) async throws {
        try await acknowledgements.submit(deliveryTag)
    }

    private static func acknowledge(_ tags: [[UInt8]], on connection: RedisConnection) async throws -> [Void] {
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

    private func restore(_ redelivery: Redelivery, to queue: String, deliveryTag: [UInt8], record: [UInt8], leftmost: Bool) async throws {
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
        var token = ""
        for _ in 0..<16 { token += String(UInt8.random(in: 0...255), radix: 16) }
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
        let separator = Array(QueueKeys.prioritySeparator.utf8)
        for member in members.array ?? [] {
            guard let bytes = member.bytes else { continue }
            let fields = bytes.split(separator: separator[0], omittingEmptySubsequences: false)
            // "rk \x06\x16 pattern \x06\x16 queue": split on 0x06, then drop each 0x16.
            let parts = fields.enumerated().map { index, part in index == 0 ? Array(part) : Array(part.dropFirst()) }
            guard parts.count == 3, String(decoding: parts[0], as: UTF8.self) == routingKey else { continue }
            try await publish(envelope, queue: String(decoding: parts[2], as: UTF8.self), priority: 0)
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

    /// The `unacked_index` score: when the message was taken, in whole seconds rounded up (so a
    /// message is never restored before its visibility timeout has passed). kombu writes
    /// `time()` with its fraction; Redis keeps a small sorted set as a listpack and parses the
    /// text of every fractional score it passes on each insert (4.2 µs a ZADD with 64 messages
    /// in flight, the costliest command a task needed), while whole numbers are stored as
    /// integers. The visibility timeout is judged in seconds, by kombu as by this worker.
    static func now() -> String {
        String(Int(Date().timeIntervalSince1970.rounded(.up)))
    }

    private static func deliveries(from reply: RedisReply) throws -> [Delivery] {
        guard let flat = reply.array else { return [] }
        var deliveries: [Delivery] = []
        deliveries.reserveCapacity(flat.count / 3)
        var index = 0
        while index + 2 < flat.count {
            if let key = flat[index].string, let raw = flat[index + 1].bytes {
                deliveries.append(Delivery(queueKey: key, raw: raw, deliveryTag: flat[index + 2].bytes))
            }
            index += 3
        }
        return deliveries
    }

    /// Runs the transport script on the command connection with `unacked` and `unacked_index`
    /// as its first two keys.
    private func runScript(keys: [String], arguments: [any RedisArgumentConvertible]) async throws -> RedisReply {
        try await transport.run(on: commands, keys: Self.scriptKeys(keys), arguments: arguments)
    }

    /// KEYS[1] = unacked, KEYS[2] = unacked_index, KEYS[3...] = lists.
    /// `fetch limit now nonce [largest]`: pop up to limit entries from the lists in order,
    /// recording each as `[key, raw, tag]` (tag = the field its record is under: its delivery
    /// tag, or `<tag>~<nonce>.<position>` when another held message has that tag, see
    /// ``UnackedTags``); an entry longer than `largest` is pushed back where it was and the
    /// reply ends with its length instead (the caller takes it without the script).
    /// `restore tag record payload leftmost`: if `unacked[tag]` still equals record, remove the
    /// tag and push payload to KEYS[3] (kombu's restore_by_tag, with the WATCH made atomic).
    /// `unlock token`: delete the lock KEYS[3] if it still holds token (redis-py's lock release).
    static let transportScript = #"""
        -- The tail kombu and Celery write for every task message; read without decoding the JSON.
        local TAIL = '"delivery_info": {"exchange": "([^"\\]*)", "routing_key": "([^"\\]*)"}, ' ..
          '"priority": %d+, "body_encoding": "base64", "delivery_tag": "([^"\\]*)"}}$'

        -- Files a record under its delivery tag, or, when a message held now has that tag already
        -- (replayed or hostile copies), under a field of its own: no copy loses its record.
        local function file(tag, entry, now, position)
          if redis.call('HSETNX', KEYS[1], tag, entry) == 0 then
            local name = tag .. '~' .. ARGV[4] .. '.' .. position
            while redis.call('HSETNX', KEYS[1], name, entry) == 0 do name = name .. '+' end
            tag = name
          end
          redis.call('ZADD', KEYS[2], now, tag)
          return tag
        end

        local function record(key, raw, now, position)
          local tag = false
          local exchange, routing_key = '', key
          local sep = string.find(key, '\6\22', 1, true)
          if sep then routing_key = string.sub(key, 1, sep - 1) end
          local e, r, t = string.match(raw, TAIL, -1024)
          if t then
            return file(t, '[' .. raw .. ', "' .. e .. '", "' .. r .. '"]', now, position)
          end
          local ok, message = pcall(cjson.decode, raw)
          if ok and type(message) == 'table' and type(message.properties) == 'table' then
            local properties = message.properties
            if type(properties.delivery_tag) == 'string' then tag = properties.delivery_tag end
            local info = properties.delivery_info
            if type(info) == 'table' then
              if type(info.exchange) == 'string' then exchange = info.exchange end
              if type(info.routing_key) == 'string' then routing_key = info.routing_key end
            end
          end
          if tag then
            tag = file(tag, '[' .. raw .. ', ' .. cjson.encode(exchange) .. ', ' .. cjson.encode(routing_key) .. ']',
              now, position)
          end
          return tag
        end

        local mode = ARGV[1]
        if mode == 'fetch' then
          local limit = tonumber(ARGV[2])
          local largest = tonumber(ARGV[5])
          local out = {}
          local count = 0
          for i = 3, #KEYS do
            while count < limit do
              local raw = redis.call('RPOP', KEYS[i])
              if not raw then break end
              if largest and #raw > largest then
                redis.call('RPUSH', KEYS[i], raw)
                out[#out + 1] = #raw
                return out
              end
              out[#out + 1] = KEYS[i]
              out[#out + 1] = raw
              count = count + 1
              out[#out + 1] = record(KEYS[i], raw, ARGV[3], count)
            end
            if count >= limit then break end
          end
          return out
        elseif mode == 'restore' then
          if redis.call('HGET', KEYS[1], ARGV[2]) ~= ARGV[3] then return 0 end
          redis.call('ZREM', KEYS[2], ARGV[2])
          redis.call('HDEL', KEYS[1], ARGV[2])
          if ARGV[5] == '1' then
            redis.call('LPUSH', KEYS[3], ARGV[4])
          else
            redis.call('RPUSH', KEYS[3], ARGV[4])
          end
          return 1
        elseif mode == 'unlock' then
          local token = redis.call('GET', KEYS[3])
          if not token or token ~= ARGV[2] then return 0 end
          redis.call('DEL', KEYS[3])
          return 1
        end
        return redis.error_reply('unknown transport script mode ' .. tostring(mode))
        """#
}

/// A message sent to an exchange that has no queue bound with its routing key. kombu drops
/// such a message without a word; the Swift client refuses to lose it silently.
struct UnroutableMessageError: Error, CustomStringConvertible {
    var task: String
    var exchange: String
    var routingKey: String

    var description: String {
        "no queue is bound to exchange '\(exchange)' with routing key '\(routingKey)' (\(QueueKeys.bindingKey(exchange: exchange)) has no such binding); task \(task) not published"
    }
}
