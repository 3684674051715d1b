@testable import Celery
import Foundation
import Logging
import Synchronization
import Testing

/// Records every log record in memory, for assertions.
final class RecordingLogHandlerStore: Sendable {
    struct Record: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }

    let records = Mutex<[Record]>([])

    func handler(label: String) -> RecordingLogHandler { RecordingLogHandler(store: self) }
}

struct RecordingLogHandler: LogHandler {
    let store: RecordingLogHandlerStore
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        store.records.withLock { $0.append(.init(level: event.level, message: "\(event.message)", metadata: merged)) }
    }
}

@Suite("The worker's log records", .serialized, .timeLimit(.minutes(1)))
struct WorkerLoggingTests {
    @Test("Celery-shaped lines with the task's id and name, and the worker's node name, in the metadata")
    func taskLogLines() async throws {
        let store = RecordingLogHandlerStore()
        let logger = Logger(label: "test.logging") { store.handler(label: $0) }
        try await withWorker(
            queue: TestRedis.uniqueQueue("logging"), concurrency: 1, hostname: "logs@test", logger: logger,
            register: { registry in
                registry.register("t.logs") { request in
                    request.logger.info("inside the task")
                    return 1
                }
                registry.register("t.fails") { _ in throw PythonException.valueError("logged") }
            }
        ) { client in
            let ok = try await client.send("t.logs")
            _ = try await ok.get(timeout: .seconds(10))
            let bad = try await client.send("t.fails")
            _ = try? await bad.get(timeout: .seconds(10))
            // The failure is logged right after its result is stored: give it a moment.
            for _ in 0..<100 where !store.records.withLock({ $0.contains { $0.message.contains("raised unexpected") } }) {
                try await Task.sleep(for: .milliseconds(20))
            }
            let records = store.records.withLock { $0 }
            let received = try #require(records.first { $0.message == "Task t.logs[\(ok.id)] received" })
            #expect(received.level == .info)
            #expect(received.metadata[LoggingKeys.taskID] == "\(ok.id)")
            #expect(received.metadata[LoggingKeys.taskName] == "t.logs")
            #expect(received.metadata[LoggingKeys.hostname] == "logs@test")
            let inside = try #require(records.first { $0.message == "inside the task" })
            #expect(inside.metadata[LoggingKeys.taskID] == "\(ok.id)")
            #expect(records.contains { $0.message.hasPrefix("Task t.logs[\(ok.id)] succeeded in ") && $0.message.hasSuffix("s: 1") })
            let failed = try #require(records.first { $0.message.hasPrefix("Task t.fails[\(bad.id)] raised unexpected: ValueError('logged')") })
            #expect(failed.level == .error && failed.metadata[LoggingKeys.taskName] == "t.fails")
        }
    }
}
