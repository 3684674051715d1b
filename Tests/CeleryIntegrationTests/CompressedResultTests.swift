@testable import Celery
import CeleryRedis
import Foundation
import Logging
import Testing

@Suite("Compressed results and failures of any shape on a real Redis", .serialized, .timeLimit(.minutes(1)))
struct CompressedResultTests {
    @Test("a worker with result_compression stores Celery's compressed form; a client without it reads it")
    func compressedRoundTrip() async throws {
        let queue = TestRedis.uniqueQueue("rz")
        var configuration = CeleryConfiguration(brokerURL: try TestRedis.url, defaultQueue: queue)
        configuration.resultCompression = "application/x-bz2"
        let registry = TaskRegistry()
        registry.register("tasks.add") { request in
            .integer((request.args.first?.integerValue ?? 0) + (request.args.last?.integerValue ?? 0))
        }
        registry.register("tasks.fail") { request in throw PythonException.valueError(request.args.first?.stringValue ?? "") }
        let worker = try CeleryWorker(
            configuration: configuration, workerConfiguration: WorkerConfiguration(queues: [queue], concurrency: 1), registry: registry,
            logger: Logger(label: "test.worker"))
        // The reading client has no result_compression of its own.
        let client = try CeleryClient(configuration: CeleryConfiguration(brokerURL: try TestRedis.url, defaultQueue: queue))
        defer { client.close() }
        let redis = try TestRedis.connection()
        defer { redis.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await worker.run() }
            defer { group.cancelAll() }
            let sum = try await client.send("tasks.add", args: [2, 3])
            #expect(try await sum.get(timeout: .seconds(20)) == 5)
            let stored = try await redis.send(RedisCommand("GET", QueueKeys.resultKey(taskID: sum.id))).unwrapped(command: "GET").bytes
            #expect(stored?.starts(with: ResultPayload.magic + Array("application/x-bz2".utf8) + [0]) == true)
            let failed = try await client.send("tasks.fail", args: ["compressed"])
            await #expect(throws: TaskFailedError.self) { try await failed.get(timeout: .seconds(20)) }
        }
    }

    @Test("get() throws on a FAILURE with a null result and an empty traceback, as Python's get() raises")
    func nullFailure() async throws {
        let client = try CeleryClient(configuration: CeleryConfiguration(brokerURL: try TestRedis.url))
        defer { client.close() }
        let redis = try TestRedis.connection()
        defer { redis.close() }
        for (status, result) in [("FAILURE", "null"), ("FAILURE", "\"boom\""), ("REVOKED", "null")] {
            let id = UUID().uuidString.lowercased()
            let document = #"{"status": "\#(status)", "result": \#(result), "traceback": "", "children": [], "date_done": "2026-01-01T00:00:00+00:00", "task_id": "\#(id)"}"#
            _ = try await redis.send(RedisCommand("SET", QueueKeys.resultKey(taskID: id), Array(document.utf8), "EX", 60)).unwrapped(command: "SET")
            let error = await #expect(throws: TaskFailedError.self) { try await client.asyncResult(id).get(timeout: .seconds(5)) }
            #expect(error?.state.rawValue == status)
        }
    }
}
