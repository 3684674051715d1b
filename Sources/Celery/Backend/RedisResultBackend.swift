import Synchronization
internal import CeleryRedis

/// Celery's Redis result backend: documents at `celery-task-meta-<id>`, written with GET
/// first (a stored SUCCESS is final) and then `MULTI SETEX PUBLISH EXEC`, so Python's
/// `AsyncResult.get()` waiting on the channel of the same name wakes up.
final class RedisResultBackend: Sendable {
    let endpoint: RedisEndpoint
    private let connection: RedisConnection
    private let expires: Duration?
    private let listener = Mutex<ResultListener?>(nil)

    /// Documents up to ``scriptedStoreLimit``, stored together by one script call per batch.
    private let smallDocuments: RequestBatcher<(key: String, body: [UInt8]), Bool>

    /// The event loop of the client or worker this backend serves (its waits run there).
    let eventLoop: RedisEventLoop?

    /// - Parameter eventLoop: where the connection does its I/O (a client's or a worker's
    ///   loop), or `nil` for a dispatch queue of its own.
    init(url: String, expires: Duration?, eventLoop: RedisEventLoop? = nil) throws {
        endpoint = try RedisEndpoint(url: url)
        self.eventLoop = eventLoop
        let connection = RedisConnection(endpoint: endpoint, name: "backend", eventLoop: eventLoop)
        self.connection = connection
        self.expires = expires
        let secondsToLive = expires.map { max(0, Int($0.components.seconds)) } ?? 0
        smallDocuments = RequestBatcher(executor: eventLoop) { documents in
            try await Self.storeBatch(documents, on: connection, secondsToLive: secondsToLive)
        }
    }

    func close() {
        connection.close()
        listener.withLock { $0?.shutdown() }
    }

    /// Stores `document` unless a SUCCESS is already stored for the task, and publishes it.
    ///
    /// - Returns: `false` when an earlier SUCCESS was kept.
    ///
    /// Celery's backend does `GET`, then `SETEX` and `PUBLISH`: three commands, two round
    /// trips, and a window in which another worker's write can slip between the check and the
    /// set. Here one script does the same commands on the same key atomically, in one round
    /// trip; what Python peers see (the key, its document, the notification) is the same.
    /// Documents over ``scriptedStoreLimit`` are stored as Celery stores them, check and
    /// write in two round trips.
    @discardableResult
    func store(_ document: TaskResultDocument) async throws -> Bool {
        let key = QueueKeys.resultKey(taskID: document.taskID)
        let body = document.jsonBytes()
        guard body.count <= Self.scriptedStoreLimit else {
            let existing = try await connection.send(RedisCommand("GET", key)).unwrapped(command: "GET")
            if let stored = existing.bytes, Self.isSuccess(stored) { return false }
            try await setAndPublish(key, body)
            return true
        }
        return try await smallDocuments.submit((key, body))
    }

    /// Stores documents of many tasks with one call of the store script.
    private static func storeBatch(
        _ documents: [(key: String, body: [UInt8])], on connection: RedisConnection, secondsToLive: Int
    ) async throws -> [Bool] {
        let reply = try await storeScript.run(
            on: connection, keys: documents.map(\.key), arguments: [secondsToLive] + documents.map(\.body))
        guard let flags = reply.array, flags.count == documents.count else {
            throw RedisError(code: .unexpectedReply, message: "the store script answered \(reply) for \(documents.count) documents")
        }
        return flags.map { $0.integer == 1 }
    }

    /// The largest document the store script writes. Redis's Lua hashes every byte of each
    /// argument (see ``RedisBroker/scriptedFetchLimit``): a 100 KB result cost Redis more in
    /// hashing than everything else the task needed.
    static let scriptedStoreLimit = 32 * 1024

    /// Whether a stored document is a SUCCESS, as the store script judges it: its `status`,
    /// or for a document that is not strict JSON, the text `"status": "SUCCESS"` in it.
    static func isSuccess(_ stored: [UInt8]) -> Bool {
        if case .object(let document)? = try? JSONValue(parsing: stored) {
            return document["status"] == "SUCCESS"
        }
        let marker = Array(#""status": "SUCCESS""#.utf8)
        return stored.count >= marker.count && (0...(stored.count - marker.count)).contains { stored[$0..<($0 + marker.count)].elementsEqual(marker) }
    }

    /// `KEYS` the result keys, `ARGV[1]` seconds to live (0: none), `ARGV[1 + i]` the document
    /// for `KEYS[i]`: for each key in order, keeps a stored SUCCESS, else writes and publishes
    /// the document. Returns an array with 1 for each document written, 0 for each kept.
    static let storeScript = RedisScript(name: "store results", source: #"""
        local ttl = tonumber(ARGV[1])
        local written = {}
        for i, key in ipairs(KEYS) do
          local document = ARGV[i + 1]
          local kept = false
          local existing = redis.call('GET', key)
          if existing then
            local ok, doc = pcall(cjson.decode, existing)
            if ok and type(doc) == 'table' then
              kept = doc['status'] == 'SUCCESS'
            else
              -- NaN/Infinity in the result: not cjson's JSON, but Python's
              kept = string.find(existing, '"status": "SUCCESS"', 1, true) ~= nil
            end
          end
          if kept then
            written[i] = 0
          else
            if ttl > 0 then
              redis.call('SETEX', key, ttl, document)
            else
              redis.call('SET', key, document)
            end
            redis.call('PUBLISH', key, document)
            written[i] = 1
          end
        end
        return written
        """#)

    /// The Redis backend's `_set`: SETEX with the result expiry (SET without one) and PUBLISH
    /// on the key's channel, in one transaction.
    private func setAndPublish(_ key: String, _ body: [UInt8]) async throws {
        let write: RedisCommand
        if let expires, expires > .zero {
            write = RedisCommand("SETEX", key, Int(expires.components.seconds), body)
        } else {
            write = RedisCommand("SET", key, body)
        }
        let replies = try await connection.pipeline([
            RedisCommand("MULTI"), write, RedisCommand("PUBLISH", key, body), RedisCommand("EXEC"),
        ])
        _ = try RedisReply.transactionResult(replies, command: "store \(key)")
    }

    /// `GroupResult.save()`: `celery-taskset-meta-<id>` holding `{"result": GroupResult.as_tuple()}`,
    /// which Python's `GroupResult.restore(id)` reads.
    func saveGroup(groupID: String, memberIDs: [String]) async throws {
        let members: [JSONValue] = memberIDs.map { .array([.array([.string($0), .null]), .null]) }
        let document = JSONValue.object(["result": .array([.array([.string(groupID), .null]), .array(members)])])
        try await setAndPublish(QueueKeys.groupResultKey(groupID: groupID), document.pythonJSONBytes())
    }

    /// `GroupResult.save()` of a chord header whose results are not all plain task results
    /// (the Redis backend's `apply_chord`, a plain SET with the chord expiry, as its
    /// `_set_chord_key`): `resultTuples` are the members' `as_tuple()`.
    func saveChordHeader(groupID: String, resultTuples: [JSONValue]) async throws {
        let key = QueueKeys.groupResultKey(groupID: groupID)
        let document = JSONValue.object(["result": .array([.array([.string(groupID), .null]), .array(resultTuples)])])
        let set = if let expires, expires > .zero {
            RedisCommand("SET", key, document.pythonJSONBytes(), "EX", Int(expires.components.seconds))
        } else {
            RedisCommand("SET", key, document.pythonJSONBytes())
        }
        try await connection.send(set).unwrapped(command: "SET \(key) (apply_chord)")
    }

    /// The `as_tuple()` of each member of a saved group, in order; `nil` when none is saved.
    func restoreGroupTuples(groupID: String) async throws -> [JSONValue]? {
        let reply = try await connection.send(RedisCommand("GET", QueueKeys.groupResultKey(groupID: groupID))).unwrapped(command: "GET")
        guard let bytes = reply.bytes else { return nil }
        guard case .array(let tuple)? = try JSONValue(parsing: bytes)["result"], tuple.count == 2, case .array(let members) = tuple[1] else {
            throw CeleryError(code: .invalidResult, message: "\(QueueKeys.groupResultKey(groupID: groupID)) is not a saved group")
        }
        return members
    }

    /// The member ids of a saved group, in order; `nil` when none is saved.
    func restoreGroup(groupID: String) async throws -> [String]? {
        let reply = try await connection.send(RedisCommand("GET", QueueKeys.groupResultKey(groupID: groupID))).unwrapped(command: "GET")
        guard let bytes = reply.bytes else { return nil }
        guard case .array(let tuple)? = try JSONValue(parsing: bytes)["result"], tuple.count == 2, case .array(let members) = tuple[1] else {
            throw CeleryError(code: .invalidResult, message: "\(QueueKeys.groupResultKey(groupID: groupID)) is not a saved group")
        }
        return members.compactMap { $0.arrayValue?.first?.arrayValue?.first?.stringValue }
    }

    /// The stored document, or `nil` while the task is PENDING (nothing stored).
    func get(taskID: String) async throws -> TaskResultDocument? {
        let reply = try await connection.send(RedisCommand("GET", QueueKeys.resultKey(taskID: taskID))).unwrapped(command: "GET")
        guard let bytes = reply.bytes else { return nil }
        return try Self.decode(bytes)
    }

    /// The stored state of each task, in order (`nil` while PENDING, or for a document that
    /// cannot be read): one `MGET` per call, for revoking many tasks at once.
    func states(taskIDs: [String]) async throws -> [TaskState?] {
        guard !taskIDs.isEmpty else { return [] }
        let reply = try await connection.send(RedisCommand("MGET", arguments: taskIDs.map(QueueKeys.resultKey(taskID:))))
            .unwrapped(command: "MGET (\(taskIDs.count) result keys)")
        guard let values = reply.array, values.count == taskIDs.count else {
            throw RedisError(code: .unexpectedReply, message: "MGET of \(taskIDs.count) result keys answered \(reply)")
        }
        return values.map { value in value.bytes.flatMap { try? Self.decode($0).status } }
    }

    /// Stores many documents, each unless a SUCCESS is already stored for its task, with one
    /// call of the store script per batch; larger documents go one by one through ``store(_:)``.
    func storeAll(_ documents: [TaskResultDocument]) async throws {
        var small: [(key: String, body: [UInt8])] = []
        for document in documents {
            let body = document.jsonBytes()
            if body.count <= Self.scriptedStoreLimit {
                small.append((QueueKeys.resultKey(taskID: document.taskID), body))
            } else {
                try await store(document)
            }
        }
        let secondsToLive = expires.map { max(0, Int($0.components.seconds)) } ?? 0
        for start in stride(from: 0, to: small.count, by: 1000) {
            _ = try await Self.storeBatch(Array(small[start..<min(start + 1000, small.count)]), on: connection, secondsToLive: secondsToLive)
        }
    }

    /// Deletes the stored result (`AsyncResult.forget()`).
    func forget(taskID: String) async throws {
        try await connection.send(RedisCommand("DEL", QueueKeys.resultKey(taskID: taskID))).unwrapped(command: "DEL")
    }

    /// The outcome of recording one header task of a chord (Celery's `on_chord_part_return`).
    enum ChordPartOutcome {
        /// The chord was already dispatched: a late duplicate.
        case alreadyDone
        /// Recorded; other header tasks are still running (or another worker claimed dispatch).
        case waiting
        /// This worker claimed the dispatch: the header results in `group_index` order, as
        /// `[tid, state, result]`, and the claim token for ``extendChordClaim`` and ``cleanUpChord``.
        case complete(results: [(taskID: String, state: TaskState, result: JSONValue)], token: String)
    }

    /// Records a header task's outcome in the chord's `.j`/`.d` keys and claims the dispatch
    /// when it was the last one, with Celery 5.7's own Lua script.
    func chordPartReturn(groupID: String, taskID: String, groupIndex: Int?, state: TaskState, result: JSONValue) async throws
        -> ChordPartOutcome
    {
        let prefix = QueueKeys.groupResultKey(groupID: groupID)
        let token = Self.randomHex()
        let encoded = JSONValue.array([1, .string(taskID), .string(state.rawValue), result]).pythonJSONBytes()
        let expires = expires.map { Int($0.components.seconds) } ?? 0
        let reply = try await ChordScripts.partReturn.run(
            on: connection, keys: [prefix + ".j", prefix + ".t", prefix + ".s", prefix + ".d", prefix, prefix + ".c"],
            arguments: [taskID, encoded, "1", groupIndex.map(String.init) ?? "+inf", expires, expires, 6, token])
        guard let values = reply.array, values.count == 4 else {
            throw RedisError(code: .unexpectedReply, message: "chord part return script returned \(reply)")
        }
        if values[0].integer == -1 { return .alreadyDone }
        guard values[3].integer == 1 else { return .waiting }
        let stored = try await connection.send(RedisCommand("ZRANGE", prefix + ".j", 0, -1)).unwrapped(command: "ZRANGE .j")
        var results: [(taskID: String, state: TaskState, result: JSONValue)] = []
        for item in stored.array ?? [] {
            guard let bytes = item.bytes, case .array(let tuple)? = try? JSONValue(parsing: bytes), tuple.count == 4,
                let tid = tuple[1].stringValue, let state = tuple[2].stringValue
            else { continue }
            results.append((tid, TaskState(rawValue: state), tuple[3]))
        }
        return .complete(results: results, token: token)
    }

    /// Extends this worker's dispatch claim before publishing the body (Celery's claim-extend script).
    func extendChordClaim(groupID: String, token: String) async throws -> Bool {
        let prefix = QueueKeys.groupResultKey(groupID: groupID)
        let reply = try await ChordScripts.claimExtend.run(on: connection, keys: [prefix + ".c", prefix + ".s"], arguments: [token, 21])
        return reply.integer == 1
    }

    /// Removes the chord's keys and marks it done for late duplicates (Celery's cleanup script).
    func cleanUpChord(groupID: String, token: String) async throws {
        let prefix = QueueKeys.groupResultKey(groupID: groupID)
        _ = try await ChordScripts.cleanup.run(
            on: connection, keys: [prefix + ".c", prefix + ".j", prefix + ".t", prefix + ".s", prefix + ".d"],
            arguments: [token, 300])
    }

    /// The Redis backend's `set_chord_size` when a chord is applied: forget any earlier run's
    /// dispatch claim (`.c`), then store the header size in `.s` with the result expiry.
    func setChordSize(groupID: String, size: Int) async throws {
        let prefix = QueueKeys.groupResultKey(groupID: groupID)
        let set = if let expires, expires > .zero {
            RedisCommand("SET", prefix + ".s", String(size), "EX", Int(expires.components.seconds))
        } else {
            RedisCommand("SET", prefix + ".s", String(size))
        }
        let replies = try await connection.pipeline([RedisCommand("DEL", prefix + ".c"), set])
        for reply in replies { try reply.unwrapped(command: "set_chord_size") }
    }

    /// The Redis backend's `add_to_chord`: one more header task to wait for (`.t` counter).
    func addToChord(groupID: String) async throws {
        try await connection.send(RedisCommand("INCR", QueueKeys.groupResultKey(groupID: groupID) + ".t")).unwrapped(command: "INCR .t")
    }

    /// Drops the chord size so a late header copy does not fail the chord again.
    func dropChordSize(groupID: String) async throws {
        _ = try await connection.send(RedisCommand("DEL", QueueKeys.groupResultKey(groupID: groupID) + ".s"))
    }

    static func randomHex() -> String {
        (0..<16).map { _ in String(format2(UInt8.random(in: 0...255))) }.joined()
    }

    private static func format2(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }

    /// The shared pub/sub listener, started on first use.
    var resultListener: ResultListener {
        listener.withLock { listener in
            if let listener { return listener }
            let created = ResultListener(endpoint: endpoint, eventLoop: eventLoop)
            listener = created
            return created
        }
    }

    static func decode(_ bytes: [UInt8]) throws -> TaskResultDocument {
        do {
            return try TaskResultDocument(json: JSONValue(parsing: bytes))
        } catch {
            throw CeleryError(code: .invalidResult, message: "stored result is not a Celery result document: \(error)")
        }
    }
}

/// Celery 5.7's chord scripts (celery/backends/redis.py), verbatim, so Swift and Python
/// header tasks count towards the same chord.
enum ChordScripts {
    static let partReturn = RedisScript(name: "chord part return", source: #"""
        local jkey, tkey, skey, dkey, gkey, ckey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
        local tid, value, ordered, score = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
        local expires, group_expires = tonumber(ARGV[5]), tonumber(ARGV[6])
        local claim_expires = tonumber(ARGV[7])
        local claim_token = ARGV[8]
        local done_marker = redis.call('GET', ckey)
        if done_marker == 'done' then
            return {-1, 0, 0, 0}
        end
        local member = tid .. ':' .. score
        if redis.call('SISMEMBER', dkey, member) == 0 then
            if ordered == '1' then
                redis.call('ZADD', jkey, score, value)
            else
                redis.call('RPUSH', jkey, value)
            end
            redis.call('SADD', dkey, member)
        end
        local readycount
        if ordered == '1' then
            readycount = redis.call('ZCOUNT', jkey, '-inf', '+inf')
        else
            readycount = redis.call('LLEN', jkey)
        end
        if expires > 0 then
            for _, key in ipairs({jkey, tkey, skey, dkey}) do
                redis.call('EXPIRE', key, expires)
            end
            if group_expires > 0 then
                redis.call('EXPIRE', gkey, group_expires)
            end
        end
        local totaldiff = redis.call('GET', tkey)
        local size = redis.call('GET', skey)
        local claimed = 0
        if size and readycount == tonumber(size) + tonumber(totaldiff or 0) then
            if redis.call('SET', ckey, claim_token, 'NX', 'EX', claim_expires) then
                claimed = 1
            end
        end
        return {readycount, totaldiff, size, claimed}
        """#)

    static let cleanup = RedisScript(name: "chord cleanup", source: #"""
        local ckey = KEYS[1]
        local jkey = KEYS[2]
        local tkey = KEYS[3]
        local skey = KEYS[4]
        local dkey = KEYS[5]
        local token = ARGV[1]
        local done_expires = tonumber(ARGV[2])
        if redis.call('GET', ckey) == token then
            redis.call('DEL', jkey, tkey, skey, dkey)
            if done_expires and done_expires > 0 then
                redis.call('SET', ckey, 'done', 'EX', done_expires)
            end
            return 1
        end
        return 0
        """#)

    static let claimExtend = RedisScript(name: "chord claim extend", source: #"""
        local ckey, skey = KEYS[1], KEYS[2]
        local token = ARGV[1]
        local expires = tonumber(ARGV[2])
        if redis.call('GET', ckey) == token then
            return redis.call('EXPIRE', ckey, expires)
        end
        if not redis.call('GET', ckey) and redis.call('EXISTS', skey) == 1 then
            return redis.call('SET', ckey, token, 'EX', expires, 'NX') and 1 or 0
        end
        return 0
        """#)
}

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
