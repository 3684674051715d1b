@testable import Celery
import CeleryRedis
import Foundation
import Logging
import Synchronization
import Testing

/// The Redis these tests use: `REDIS_URL` (set by the test script and CI, which start their
/// own loopback redis-server). Without it the suite fails rather than skipping, so CI can
/// never pass without having run it.
enum TestRedis {
    static var url: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["REDIS_URL"], !url.isEmpty else {
                throw CeleryError(code: .invalidConfiguration, message: "REDIS_URL is not set: start redis-server and export it (scripts/test does)")
            }
            return url
        }
    }

    /// A connection for inspecting and preparing keys.
    static func connection() throws -> RedisConnection {
        RedisConnection(endpoint: try RedisEndpoint(url: url), name: "test")
    }

    /// A queue name of this test's own, so tests never see each other's messages.
    static func uniqueQueue(_ label: String) -> String {
        "test.\(label).\(UUID().uuidString.prefix(8))"
    }
}

/// Runs a worker with the given tasks on `queue` while `body` runs, then shuts it down gracefully.
func withWorker(
    queue: String, concurrency: Int = 2, hostname: String = "test@local", pool: WorkerPool = .threads, logger: Logger? = nil,
    register: (TaskRegistry) -> Void, _ body: (CeleryClient) async throws -> Void
) async throws {
    let configuration = CeleryConfiguration(brokerURL: try TestRedis.url, defaultQueue: queue)
    let registry = TaskRegistry()
    register(registry)
    let logger = logger ?? {
        var quiet = Logger(label: "test.worker")
        quiet.logLevel = .critical
        return quiet
    }()
    var workerConfiguration = WorkerConfiguration(queues: [queue], concurrency: concurrency, hostname: hostname)
    workerConfiguration.pool = pool
    let worker = try CeleryWorker(
        configuration: configuration, workerConfiguration: workerConfiguration, registry: registry, logger: logger)
    let client = try CeleryClient(configuration: configuration)
    defer { client.close() }
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await worker.run() }
        defer { group.cancelAll() }
        try await body(client)
    }
}

@Suite("Worker and client on a real Redis", .serialized, .timeLimit(.minutes(1)))
struct WorkerIntegrationTests {
    @Test("a task runs and its result comes back to the client")
    func roundTrip() async throws {
        let queue = TestRedis.uniqueQueue("roundtrip")
        try await withWorker(queue: queue, register: { registry in
            registry.register("t.add") { request in
                let arguments = try request.bind(["x", "y"])
                return .integer(arguments["x"]!.integerValue! + arguments["y"]!.integerValue!)
            }
        }) { client in
            let result = try await client.send("t.add", args: [2, 3])
            #expect(try await result.get(timeout: .seconds(10)) == 5)
            let byKeyword = try await client.send("t.add", kwargs: ["x": 2, "y": 40])
            #expect(try await byKeyword.get(timeout: .seconds(10)) == 42)
        }
    }

    @Test("a typed task called with a typed client: arguments checked by the compiler, result decoded")
    func typedRoundTrip() async throws {
        struct Point: Codable, Sendable, Equatable { var x: Double; var y: Double }
        let scale = TypedTask<[Point], Double, [Point]>("t.scale", parameters: "points", "factor", defaults: ["factor": 2])
        let queue = TestRedis.uniqueQueue("typed")
        try await withWorker(queue: queue, register: { registry in
            registry.register(scale) { _, points, factor in points.map { Point(x: $0.x * factor, y: $0.y * factor) } }
        }) { client in
            let scaled = try await client.delay(scale, [Point(x: 1, y: 2)], 3).get(timeout: .seconds(10))
            #expect(scaled == [Point(x: 3, y: 6)])
            // Python's way, keywords and a default: the same task.
            let untyped = try await client.send("t.scale", kwargs: ["points": [["x": 1, "y": 1]]]).get(timeout: .seconds(10))
            #expect(untyped == [["x": 2.0, "y": 2.0]])
        }
    }

    @Test("get() waits through intermediate states (update_state) for the final result, and reports them")
    func getWaitsThroughProgress() async throws {
        let queue = TestRedis.uniqueQueue("progress")
        try await withWorker(queue: queue, register: { registry in
            registry.register("t.progress") { request in
                for step in 1...3 {
                    try await request.updateState("PROGRESS", meta: ["step": .integer(Int64(step))])
                    try await Task.sleep(for: .milliseconds(100))
                }
                return "done"
            }
        }) { client in
            let result = try await client.send("t.progress")
            let seen = Mutex<[JSONValue]>([])
            let final = try await result.wait(timeout: .seconds(10)) { update in seen.withLock { $0.append(update.result) } }
            #expect(final.status == .success && final.result == "done")
            #expect(seen.withLock { $0 }.suffix(2) == [["step": 2], ["step": 3]])
        }
    }

    @Test("a 10 MB payload goes to the worker and comes back unchanged")
    func largePayload() async throws {
        let queue = TestRedis.uniqueQueue("payload")
        // Every byte value a JSON string may carry plainly, plus escapes and multi-byte UTF-8,
        // so the envelope's base64 and the result's JSON both see more than ASCII letters.
        let unit = "0123456789 abcdefghij \"quoted\" back\\slash tab\t é ü € 😀 "
        let payload = String(repeating: unit, count: 10 * 1024 * 1024 / unit.utf8.count + 1)
        #expect(payload.utf8.count >= 10 * 1024 * 1024)
        try await withWorker(queue: queue, register: { registry in
            registry.register("t.echo") { request in try request.bind(["payload"])["payload"]! }
        }) { client in
            let result = try await client.send("t.echo", args: [.string(payload)])
            let echoed = try await result.get(timeout: .seconds(30))
            #expect(echoed.stringValue?.utf8.count == payload.utf8.count)
            #expect(echoed.stringValue == payload)
        }
    }

    @Test("sendBatch publishes a large batch in order, every result readable")
    func batch() async throws {
        let queue = TestRedis.uniqueQueue("batch")
        try await withWorker(queue: queue, concurrency: 8, register: { registry in
            registry.register("t.double") { request in .integer((request.args.first?.integerValue ?? 0) * 2) }
        }) { client in
            let results = try await client.sendBatch((0..<600).map { TaskCall("t.double", args: [.integer(Int64($0))]) })
            #expect(Set(results.map(\.id)).count == 600)
            for (index, result) in results.enumerated() {
                #expect(try await result.get(timeout: .seconds(20)) == .integer(Int64(index * 2)))
            }
        }
    }

    @Test("a failure surfaces as the Python exception with a traceback")
    func failure() async throws {
        let queue = TestRedis.uniqueQueue("failure")
        try await withWorker(queue: queue, register: { registry in
            registry.register("t.fail") { _ in throw PythonException.valueError("bad") }
        }) { client in
            let result = try await client.send("t.fail")
            let error = try await #require(throws: TaskFailedError.self) { try await result.get(timeout: .seconds(10)) }
            #expect(error.exception == ExceptionInfo(type: "ValueError", arguments: ["bad"]))
            #expect(error.traceback?.hasSuffix("ValueError: bad\n") == true)
            #expect(try await result.state() == .failure)
        }
    }

    @Test("malformed entries are rejected without harming the good ones, and nothing stays unacked")
    func malformedEntries() async throws {
        let queue = TestRedis.uniqueQueue("malformed")
        let redis = try TestRedis.connection()
        defer { redis.close() }
        try await withWorker(queue: queue, register: { registry in
            registry.register("t.echo") { request in request.args.first ?? .null }
        }) { client in
            var results: [AsyncResult] = []
            for index in 0..<20 {
                let bad: [UInt8] = index % 2 == 0
                    ? Array("not json \(index)".utf8)
                    : Array(#"{"body": "!!", "content-type": "application/json", "headers": {"task": "t.echo", "id": "x\#(index)"}, "properties": {"delivery_tag": "bad-\#(index)", "body_encoding": "base64"}}"#.utf8)
                _ = try await redis.send(RedisCommand("LPUSH", queue, bad))
                results.append(try await client.send("t.echo", args: [.integer(Int64(index))]))
            }
            for (index, result) in results.enumerated() {
                #expect(try await result.get(timeout: .seconds(10)) == .integer(Int64(index)))
            }
            // The last rejects may still be in flight just after the last good result.
            var unacked: [String] = []
            for _ in 0..<50 {
                let tags = try await redis.send(RedisCommand("HKEYS", "unacked")).array ?? []
                unacked = tags.compactMap(\.string).filter { $0.hasPrefix("bad-") }
                if unacked.isEmpty { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(unacked.isEmpty)
        }
    }

    @Test("ignore_result stores nothing")
    func ignoreResult() async throws {
        let queue = TestRedis.uniqueQueue("ignore")
        let redis = try TestRedis.connection()
        defer { redis.close() }
        try await withWorker(queue: queue, register: { registry in
            registry.register("t.noop") { _ in .null }
            registry.register("t.add") { _ in 1 }
        }) { client in
            let ignored = try await client.send("t.noop", options: TaskOptions(ignoreResult: true))
            _ = try await client.send("t.add").get(timeout: .seconds(10))
            let stored = try await redis.send(RedisCommand("EXISTS", "celery-task-meta-\(ignored.id)"))
            #expect(stored.integer == 0)
        }
    }

    @Test("the unacked record is kombu's exactly, and restore puts the message back marked redelivered")
    func unackedBookkeeping() async throws {
        let queue = TestRedis.uniqueQueue("unacked")
        let url = try TestRedis.url
        let redis = try TestRedis.connection()
        defer { redis.close() }
        let client = try CeleryClient(configuration: CeleryConfiguration(brokerURL: url, defaultQueue: queue))
        defer { client.close() }
        let message = client.makeMessage("t.x", args: [1])
        let raw = message.envelopeBytes()
        _ = try await redis.send(RedisCommand("LPUSH", queue, raw))

        let broker = try RedisBroker(url: url)
        defer { broker.close() }
        let deliveries = try await broker.fetch(keys: RedisBroker.consumeKeys(queues: [queue]), limit: 4)
        #expect(deliveries.count == 1)
        let tag = try #require(message.properties.deliveryTag)
        #expect(deliveries.first?.deliveryTag == Array(tag.utf8))
        let record = try await redis.send(RedisCommand("HGET", "unacked", tag))
        #expect(record.bytes == Array("[".utf8) + raw + Array(#", "", "\#(queue)"]"#.utf8))
        #expect(try await redis.send(RedisCommand("ZSCORE", "unacked_index", tag)).bytes != nil)

        try await broker.restore(deliveryTag: Array(tag.utf8))
        #expect(try await redis.send(RedisCommand("HEXISTS", "unacked", tag)).integer == 0)
        let back = try #require(try await redis.send(RedisCommand("RPOP", queue)).bytes)
        let restored = try TaskMessage(envelope: back)
        #expect(restored.headers.object["redelivered"] == true)
        #expect(restored.properties.redelivered)
        #expect(restored.args == [1])
    }

    @Test("large messages are taken without the script, in order, and recorded as kombu records them")
    func largeMessagesBypassTheScript() async throws {
        let queue = TestRedis.uniqueQueue("large")
        let url = try TestRedis.url
        let redis = try TestRedis.connection()
        defer { redis.close() }
        let client = try CeleryClient(configuration: CeleryConfiguration(brokerURL: url, defaultQueue: queue))
        defer { client.close() }
        let large = String(repeating: "x", count: RedisBroker.scriptedFetchLimit + 1)
        let arguments: [JSONValue] = ["s1", .string(large), "s2", .string(large), .string(large), "s3", "s4"]
        let messages = arguments.map { client.makeMessage("t.x", args: [$0]) }
        for message in messages { _ = try await redis.send(RedisCommand("LPUSH", queue, message.envelopeBytes())) }

        let broker = try RedisBroker(url: url)
        defer { broker.close() }
        let keys = RedisBroker.consumeKeys(queues: [queue])
        var taken: [Delivery] = []
        for _ in 0..<10 where taken.count < messages.count {
            taken += try await broker.fetch(keys: keys, limit: 2)
        }
        #expect(taken.map(\.raw) == messages.map { $0.envelopeBytes() })
        for (delivery, message) in zip(taken, messages) {
            let tag = try #require(message.properties.deliveryTag)
            #expect(delivery.deliveryTag == Array(tag.utf8))
            let record = try await redis.send(RedisCommand("HGET", "unacked", tag))
            #expect(record.bytes == Array("[".utf8) + delivery.raw + Array(#", "", "\#(queue)"]"#.utf8))
            #expect(try await redis.send(RedisCommand("ZSCORE", "unacked_index", tag)).bytes != nil)
            try await broker.ack(deliveryTag: Array(tag.utf8))
        }
        #expect(try await redis.send(RedisCommand("LLEN", queue)).integer == 0)
    }

    @Test("a stored SUCCESS is kept and anything else is replaced, for small and large documents alike")
    func storedSuccessIsFinal() async throws {
        let url = try TestRedis.url
        let redis = try TestRedis.connection()
        defer { redis.close() }
        let backend = try RedisResultBackend(url: url, expires: .seconds(60))
        defer { backend.close() }
        for size in [10, RedisResultBackend.scriptedStoreLimit + 1] {
            let id = UUID().uuidString
            let value = JSONValue.string(String(repeating: "v", count: size))
            let done = CeleryTime.isoformat(Date())
            func document(_ status: TaskState) -> TaskResultDocument {
                TaskResultDocument(taskID: id, status: status, result: value, dateDone: done)
            }
            #expect(try await backend.store(document(.started)))
            #expect(try await backend.store(document(.success)))
            #expect(try await backend.store(document(.failure)) == false)
            let stored = try #require(try await redis.send(RedisCommand("GET", "celery-task-meta-\(id)")).bytes)
            #expect(stored == document(.success).jsonBytes())
            #expect(try await redis.send(RedisCommand("TTL", "celery-task-meta-\(id)")).integer ?? 0 > 0)
        }
    }

    @Test("acks and results of many tasks at once go out in batches, each one carried out")
    func batchedAcksAndStores() async throws {
        let queue = TestRedis.uniqueQueue("batched")
        let url = try TestRedis.url
        let redis = try TestRedis.connection()
        defer { redis.close() }
        let client = try CeleryClient(configuration: CeleryConfiguration(brokerURL: url, defaultQueue: queue))
        defer { client.close() }
        let messages = (0..<300).map { client.makeMessage("t.x", args: [.integer(Int64($0))]) }
        _ = try await redis.pipeline(messages.map { RedisCommand("LPUSH", queue, $0.envelopeBytes()) })
        let broker = try RedisBroker(url: url)
        defer { broker.close() }
        var deliveries: [Delivery] = []
        while deliveries.count < messages.count {
            let fetched = try await broker.fetch(keys: RedisBroker.consumeKeys(queues: [queue]), limit: 100)
            #expect(!fetched.isEmpty)
            guard !fetched.isEmpty else { break }
            deliveries += fetched
        }
        let backend = try RedisResultBackend(url: url, expires: .seconds(60))
        defer { backend.close() }
        let done = CeleryTime.isoformat(Date())
        let written = try await withThrowingTaskGroup(of: Bool.self) { group in
            for (delivery, message) in zip(deliveries, messages) {
                group.addTask {
                    try await broker.ack(deliveryTag: try #require(delivery.deliveryTag))
                    return try await backend.store(TaskResultDocument(
                        taskID: message.headers.id, status: .success, result: message.args[0], dateDone: done))
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(written == messages.count)
        for message in messages {
            let tag = try #require(message.properties.deliveryTag)
            #expect(try await redis.send(RedisCommand("HEXISTS", "unacked", tag)).integer == 0)
            #expect(try await redis.send(RedisCommand("ZSCORE", "unacked_index", tag)) == .null)
            let stored = try #require(try await redis.send(RedisCommand("GET", "celery-task-meta-\(message.headers.id)")).bytes)
            #expect(try TaskResultDocument(json: JSONValue(parsing: stored)).result == message.args[0])
        }
    }

    @Test("the Swift unacked record matches the script's: kombu's tail, or the parsed envelope")
    func unackedRecordReading() throws {
        let tail = #"{"body": "e30=", "headers": {}, "properties": {"delivery_info": {"exchange": "ex", "routing_key": "rk"}, "priority": 0, "body_encoding": "base64", "delivery_tag": "t-1"}}"#
        let kombu = try #require(UnackedRecord(raw: Array(tail.utf8), queueKey: "q"))
        #expect(kombu.deliveryTag == Array("t-1".utf8))
        #expect(kombu.record == Array(("[" + tail + #", "ex", "rk"]"#).utf8))

        let reordered = #"{"properties": {"delivery_tag": "t-2", "delivery_info": {"routing_key": "r/k"}}, "body": "e30="}"#
        let parsed = try #require(UnackedRecord(raw: Array(reordered.utf8), queueKey: "q\u{06}\u{16}3"))
        #expect(parsed.deliveryTag == Array("t-2".utf8))
        #expect(parsed.record == Array(("[" + reordered + #", "", "r/k"]"#).utf8))

        let untagged = #"{"properties": {"delivery_tag": 7}, "body": ""}"#
        #expect(UnackedRecord(raw: Array(untagged.utf8), queueKey: "q") == nil)
        #expect(UnackedRecord(raw: Array("not json".utf8), queueKey: "q") == nil)
    }
}

@Suite("Remote control from the Swift client", .serialized, .timeLimit(.minutes(1)))
struct ControlClientTests {
    @Test("ping, inspect and revoke reach a Swift worker")
    func pingInspectRevoke() async throws {
        let queue = TestRedis.uniqueQueue("control")
        try await withWorker(queue: queue, register: { registry in
            registry.register("t.add") { _ in 2 }
        }) { client in
            _ = try await client.send("t.add").get(timeout: .seconds(10))
            let pong = try await client.control.ping()
            #expect(pong["test@local"] == ["ok": "pong"])
            let registered = try await client.control.inspect("registered")
            #expect(registered["test@local"] == ["t.add"])
            let delayed = try await client.send("t.add", options: TaskOptions(countdown: .seconds(2)))
            try await client.control.revoke(delayed.id)
            let error = try await #require(throws: TaskFailedError.self) { try await delayed.get(timeout: .seconds(10)) }
            #expect(error.state == .revoked)
            #expect(error.exception.type == "TaskRevokedError")
        }
    }
}
