import Synchronization
internal import CeleryRedis

/// Celery's Redis result backend: documents at `celery-task-meta-<id>`, written with GET
/// first (a stored SUCCESS is final) and then `MULTI SETEX PUBLISH EXEC`, so Python's
/// `AsyncResult.get()` waiting on the channel of the same name wakes up.
final class RedisResultBackend: Sendable {
    let endpoint: RedisEndpoint
    let connection: RedisConnection
    /// How long results, failures and chords are kept.
    let expiry: ResultExpiry
    /// How long results are kept (`result_expires`).
    var expires: Duration? { expiry.results }
    /// `result_compression`: the content type documents are stored compressed with, or `nil`.
    let compression: String?
    private let listener = Mutex<ResultListener?>(nil)

    /// Documents up to ``scriptedStoreLimit``, stored together by one script call per batch.
    private let smallDocuments: RequestBatcher<(key: String, body: [UInt8]), Bool>

    /// The event loop of the client or worker this backend serves (its waits run there).
    let eventLoop: RedisEventLoop?

    /// - Parameter eventLoop: where the connection does its I/O (a client's or a worker's
    ///   loop), or `nil` for a dispatch queue of its own.
    convenience init(url: String, expires: Duration?, eventLoop: RedisEventLoop? = nil, compression: String? = nil) throws {
        try self.init(url: url, expiry: ResultExpiry(expires), eventLoop: eventLoop, compression: compression)
    }

    /// - Parameters:
    ///   - expiry: how long results, failures and chords are kept.
    ///   - eventLoop: where the connection does its I/O (a client's or a worker's loop), or
    ///     `nil` for a dispatch queue of its own.
    ///   - compression: `result_compression`, when results are stored compressed.
    init(url: String, expiry: ResultExpiry, eventLoop: RedisEventLoop? = nil, compression: String? = nil) throws {
        self.compression = compression
        endpoint = try RedisEndpoint(url: url)
        self.eventLoop = eventLoop
        let connection = RedisConnection(endpoint: endpoint, name: "backend", eventLoop: eventLoop)
        self.connection = connection
        self.expiry = expiry
        let secondsToLive = ResultExpiry.seconds(expiry.results)
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
        let body = ResultPayload.encode(document.jsonBytes(), compression: compression)
        // The store script cannot read a compressed document, and stores every document of a
        // batch with one lifetime: those and failures kept for another time are checked here.
        let expires = document.status == .failure ? expiry.failures : expiry.results
        guard body.count <= Self.scriptedStoreLimit, compression == nil, expires == expiry.results else {
            let existing = try await connection.send(RedisCommand("GET", key)).unwrapped(command: "GET")
            if let stored = existing.bytes, Self.isSuccess((try? ResultPayload.decode(stored)) ?? stored) { return false }
            try await setAndPublish(key, body, expires: expires)
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

    /// The Redis backend's `_set`: SETEX with `expires` (the result expiry by default; SET
    /// without one) and PUBLISH on the key's channel, in one transaction.
    private func setAndPublish(_ key: String, _ body: [UInt8], expires: Duration?? = nil) async throws {
        let write: RedisCommand
        if let expires = expires ?? self.expires, expires > .zero {
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
        try await setAndPublish(QueueKeys.groupResultKey(groupID: groupID), ResultPayload.encode(document.pythonJSONBytes(), compression: compression))
    }

    /// `GroupResult.save()` of a chord header whose results are not all plain task results
    /// (the Redis backend's `apply_chord`, a plain SET with the chord expiry, as its
    /// `_set_chord_key`): `resultTuples` are the members' `as_tuple()`.
    func saveChordHeader(groupID: String, resultTuples: [JSONValue]) async throws {
        let key = QueueKeys.groupResultKey(groupID: groupID)
        let document = JSONValue.object(["result": .array([.array([.string(groupID), .null]), .array(resultTuples)])])
        let stored = ResultPayload.encode(document.pythonJSONBytes(), compression: compression)
        let set = if let expires = expiry.chords, expires > .zero {
            RedisCommand("SET", key, stored, "EX", Int(expires.components.seconds))
        } else {
            RedisCommand("SET", key, stored)
        }
        try await connection.send(set).unwrapped(command: "SET \(key) (apply_chord)")
    }

    /// The `as_tuple()` of each member of a saved group, in order; `nil` when none is saved.
    func restoreGroupTuples(groupID: String) async throws -> [JSONValue]? {
        let reply = try await connection.send(RedisCommand("GET", QueueKeys.groupResultKey(groupID: groupID))).unwrapped(command: "GET")
        guard let bytes = reply.bytes else { return nil }
        guard case .array(let tuple)? = try JSONValue(parsing: ResultPayload.decode(bytes))["result"], tuple.count == 2, case .array(let members) = tuple[1] else {
            throw CeleryError(code: .invalidResult, message: "\(QueueKeys.groupResultKey(groupID: groupID)) is not a saved group")
        }
        return members
    }

    /// The member ids of a saved group, in order; `nil` when none is saved.
    func restoreGroup(groupID: String) async throws -> [String]? {
        try await restoreGroupTuples(groupID: groupID)?.compactMap { $0.arrayValue?.first?.arrayValue?.first?.stringValue }
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
            let expires = document.status == .failure ? expiry.failures : expiry.results
            if body.count <= Self.scriptedStoreLimit, compression == nil, expires == expiry.results {
                small.append((QueueKeys.resultKey(taskID: document.taskID), body))
            } else {
                try await store(document)
            }
        }
        let secondsToLive = ResultExpiry.seconds(expiry.results)
        for start in stride(from: 0, to: small.count, by: 1000) {
            _ = try await Self.storeBatch(Array(small[start..<min(start + 1000, small.count)]), on: connection, secondsToLive: secondsToLive)
        }
    }

    /// Deletes the stored result (`AsyncResult.forget()`).
    func forget(taskID: String) async throws {
        try await connection.send(RedisCommand("DEL", QueueKeys.resultKey(taskID: taskID))).unwrapped(command: "DEL")
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
            return try ResultPayload.document(bytes)
        } catch {
            throw CeleryError(code: .invalidResult, message: "stored result is not a Celery result document: \(error)")
        }
    }
}
