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

    init(url: String, expires: Duration?) throws {
        endpoint = try RedisEndpoint(url: url)
        connection = RedisConnection(endpoint: endpoint, name: "backend")
        self.expires = expires
    }

    func close() {
        connection.close()
        listener.withLock { $0?.shutdown() }
    }

    /// Stores `document` unless a SUCCESS is already stored for the task, and publishes it.
    ///
    /// - Returns: `false` when an earlier SUCCESS was kept.
    @discardableResult
    func store(_ document: TaskResultDocument) async throws -> Bool {
        let key = QueueKeys.resultKey(taskID: document.taskID)
        let existing = try await connection.send(RedisCommand("GET", key)).unwrapped(command: "GET")
        if let bytes = existing.bytes, let stored = try? TaskResultDocument(json: JSONValue(parsing: bytes)),
            stored.status == .success
        {
            return false
        }
        let body = document.jsonBytes()
        let write: RedisCommand
        if let expires, expires > .zero {
            write = RedisCommand("SETEX", key, Int(expires.components.seconds), body)
        } else {
            write = RedisCommand("SET", key, body)
        }
        let replies = try await connection.pipeline([
            RedisCommand("MULTI"), write, RedisCommand("PUBLISH", key, body), RedisCommand("EXEC"),
        ])
        try replies[3].unwrapped(command: "EXEC (store result)")
        return true
    }

    /// The stored document, or `nil` while the task is PENDING (nothing stored).
    func get(taskID: String) async throws -> TaskResultDocument? {
        let reply = try await connection.send(RedisCommand("GET", QueueKeys.resultKey(taskID: taskID))).unwrapped(command: "GET")
        guard let bytes = reply.bytes else { return nil }
        return try Self.decode(bytes)
    }

    /// Deletes the stored result (`AsyncResult.forget()`).
    func forget(taskID: String) async throws {
        try await connection.send(RedisCommand("DEL", QueueKeys.resultKey(taskID: taskID))).unwrapped(command: "DEL")
    }

    /// The shared pub/sub listener, started on first use.
    var resultListener: ResultListener {
        listener.withLock { listener in
            if let listener { return listener }
            let created = ResultListener(endpoint: endpoint)
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

/// Waits for result notifications on one pub/sub connection shared by every `AsyncResult`
/// of a client, as Celery's `ResultConsumer` does.
final class ResultListener: Sendable {
    private struct Mailbox {
        var messages: [[UInt8]] = []
        var waiter: CheckedContinuation<[UInt8]?, Never>?
    }

    /// The mailboxes, in a class so the subscriber's callback can share them.
    private final class Mailboxes: Sendable {
        let state = Mutex<[String: [UInt64: Mailbox]]>([:])
    }

    private let subscriber: RedisSubscriber
    private let store: Mailboxes
    private let nextToken = Atomic<UInt64>(0)

    init(endpoint: RedisEndpoint) {
        let store = Mailboxes()
        self.store = store
        subscriber = RedisSubscriber(endpoint: endpoint) { channel, payload in
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
    }

    func shutdown() {
        subscriber.shutdown()
    }

    /// Subscribes to the channel (confirmed by Redis when this returns).
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

    /// The next message for `token`, or `nil` when `timeout` passes first (or the task is cancelled).
    func next(_ channel: String, token: UInt64, timeout: Duration) async -> [UInt8]? {
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.wakeWithoutMessage(channel, token: token)
        }
        defer { timer.cancel() }
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
            self.wakeWithoutMessage(channel, token: token)
        }
    }

    private func wakeWithoutMessage(_ channel: String, token: UInt64) {
        let waiter = store.state.withLock { boxes -> CheckedContinuation<[UInt8]?, Never>? in
            let waiter = boxes[channel]?[token]?.waiter
            boxes[channel]?[token]?.waiter = nil
            return waiter
        }
        waiter?.resume(returning: nil)
    }
}
