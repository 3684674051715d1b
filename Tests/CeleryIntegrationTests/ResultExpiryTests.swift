@testable import Celery
import CeleryRedis
import Foundation
import Testing

/// `result_failure_expires` and `result_chord_expires` on a real Redis: the TTLs Celery's Redis
/// backend sets (backends/redis.py `_set_with_state`, `_set_chord_key`).
@Suite("Result lifetimes on a real Redis", .timeLimit(.minutes(1)))
struct ResultExpiryTests {
    @Test("a FAILURE is kept for result_failure_expires, other states for result_expires; zero keeps it for ever")
    func failureExpiry() async throws {
        let redis = try TestRedis.connection()
        defer { redis.close() }
        var configuration = CeleryConfiguration(brokerURL: try TestRedis.url, resultExpires: .seconds(3600))
        configuration.resultFailureExpires = .seconds(60)
        for failures in [Duration.seconds(60), .zero] {
            configuration.resultFailureExpires = failures
            let backend = try RedisResultBackend(url: configuration.resultBackendURL, expiry: ResultExpiry(configuration: configuration))
            defer { backend.close() }
            let succeeded = UUID().uuidString, failed = UUID().uuidString, batched = UUID().uuidString
            try await backend.store(TaskResultDocument(taskID: succeeded, status: .success, result: 1))
            try await backend.store(TaskResultDocument(taskID: failed, status: .failure, result: ["exc_type": "ValueError"]))
            try await backend.storeAll([TaskResultDocument(taskID: batched, status: .failure, result: ["exc_type": "ValueError"])])
            func ttl(_ id: String) async throws -> Int64 {
                try await redis.send(RedisCommand("TTL", "celery-task-meta-\(id)")).integer ?? -3
            }
            let success = try await ttl(succeeded)
            #expect(success > 3500 && success <= 3600)
            for id in [failed, batched] {
                let failure = try await ttl(id)
                if failures == .zero {
                    #expect(failure == -1, "kept for ever")
                } else {
                    #expect(failure > 0 && failure <= 60)
                }
            }
            // A FAILURE stored with its own lifetime still reaches waiters.
            #expect(try await backend.get(taskID: failed)?.status == .failure)
        }
    }

    @Test("result_chord_expires sets the chord size key's lifetime")
    func chordExpiry() async throws {
        let redis = try TestRedis.connection()
        defer { redis.close() }
        var configuration = CeleryConfiguration(brokerURL: try TestRedis.url, resultExpires: .seconds(3600))
        configuration.resultChordExpires = .seconds(120)
        let backend = try RedisResultBackend(url: configuration.resultBackendURL, expiry: ResultExpiry(configuration: configuration))
        defer { backend.close() }
        let group = UUID().uuidString
        try await backend.setChordSize(groupID: group, size: 3)
        let ttl = try await redis.send(RedisCommand("TTL", "celery-taskset-meta-\(group).s")).integer ?? -3
        #expect(ttl > 60 && ttl <= 120)
        #expect(ResultExpiry(configuration: configuration).chordResultSeconds == 3600)
    }
}
