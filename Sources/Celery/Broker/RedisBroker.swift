import Synchronization
internal import CeleryRedis
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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
    let consumer: RedisConnection
    let transport = RedisScript(name: "transport", source: RedisBroker.transportScript)
    let supportsBlockingMove = Atomic<Bool>(true)
    /// Whether the server has `LMPOP` (Redis 7.0); without it every message goes through the script.
    let supportsMultiPop = Atomic<Bool>(true)
    /// Set when the script last stopped at a message over ``scriptedFetchLimit``: the consumer
    /// pops without the script until it takes a batch of small messages again.
    let takingLargeMessages = Atomic<Bool>(false)

    /// The largest message the transport script fetches. Redis's Lua hashes every byte of
    /// every string a script touches (twice per message here: the popped entry and its
    /// `unacked` record), about 2 ns a byte on this machine: for a 100 KB argument that was
    /// 69% of Redis's time and most of a task's cost. Larger messages are popped with `LMPOP`
    /// and recorded by the command that follows on the same connection, as kombu records
    /// every message; the pop-then-record window this reopens for them is one round trip.
    static let scriptedFetchLimit = 32 * 1024
    /// Queues whose kombu binding this broker has declared.
    let declaredQueues = Mutex<Set<String>>([])
    /// Names the record of a message whose delivery tag another held message already has.
    let rekeying = UnackedTags.Nonces()

    /// Acknowledgements waiting to go out together.
    let acknowledgements: RequestBatcher<[UInt8], Void>

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
    func deliveries(fromScriptReply reply: RedisReply, keys: [String], limit: Int) async throws -> [Delivery] {
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
    func fetchWithoutScript(keys: [String], limit: Int) async throws -> [Delivery] {
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
    static func scriptKeys(_ lists: [String]) -> [String] {
        [QueueKeys.unacked, QueueKeys.unackedIndex] + lists
    }

    /// `fetch limit now nonce [largest]`: the size limit only when large messages can be taken
    /// without the script; the nonce names records of messages whose tag is taken (``UnackedTags``).
    func fetchArguments(limit: Int) -> [any RedisArgumentConvertible] {
        var arguments: [any RedisArgumentConvertible] = ["fetch", String(limit), Self.now(), rekeying.next()]
        if supportsMultiPop.load(ordering: .relaxed) { arguments.append(String(Self.scriptedFetchLimit)) }
        return arguments
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

    static func deliveries(from reply: RedisReply) throws -> [Delivery] {
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
    func runScript(keys: [String], arguments: [any RedisArgumentConvertible]) async throws -> RedisReply {
        try await transport.run(on: commands, keys: Self.scriptKeys(keys), arguments: arguments)
    }

}
