@testable import Celery
import CeleryRedis
import Foundation
import Testing

@Suite("Held ETA messages: refresh interval and tags")
struct EtaVisibilityLogicTests {
    @Test("held ETA messages are refreshed every quarter visibility timeout, between 250 ms and 60 s")
    func refreshInterval() {
        #expect(EtaVisibility.refreshInterval(visibilityTimeout: .seconds(3)) == .milliseconds(750))
        #expect(EtaVisibility.refreshInterval(visibilityTimeout: .seconds(20)) == .seconds(5))
        #expect(EtaVisibility.refreshInterval(visibilityTimeout: .seconds(3600)) == .seconds(60))
        #expect(EtaVisibility.refreshInterval(visibilityTimeout: .milliseconds(400)) == .milliseconds(250))
        #expect(EtaVisibility.refreshInterval(visibilityTimeout: .zero) == .milliseconds(250))
    }

    @Test("the refreshed tags: every scheduled one, and pending ones only when they came back from the schedule")
    func heldTags() throws {
        func item(_ tag: String?, decoded: Bool) throws -> QueuedDelivery {
            let message = decoded ? try TaskMessage(envelope: Self.envelope) : nil
            return QueuedDelivery(
                delivery: Delivery(queueKey: "q", raw: [], deliveryTag: tag.map { Array($0.utf8) }), message: message)
        }
        let tags = EtaVisibility.heldTags(
            scheduled: [try item("a", decoded: true), try item(nil, decoded: true), try item("b", decoded: true)],
            pending: [try item("c", decoded: true), try item("d", decoded: false), try item("a", decoded: true)])
        #expect(tags == [Array("a".utf8), Array("b".utf8), Array("c".utf8)])
    }

    static let envelope = Array(
        #"{"body": "W1tdLCB7fSwge31d", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"lang": "py", "task": "t.x", "id": "i-1"}, "properties": {"delivery_info": {"exchange": "", "routing_key": "q"}, "priority": 0, "body_encoding": "base64", "delivery_tag": "t"}}"#
            .utf8)
}

@Suite("Held ETA messages on a real Redis", .serialized, .timeLimit(.minutes(1)))
struct EtaVisibilityRedisTests {
    @Test("refreshing held tags moves their score to now and leaves acknowledged ones out")
    func refreshVisibility() async throws {
        let redis = try TestRedis.connection()
        defer { redis.close() }
        let held = "held-\(UUID().uuidString)", gone = "gone-\(UUID().uuidString)"
        _ = try await redis.send(RedisCommand("ZADD", "unacked_index", 1, held))
        let broker = try RedisBroker(url: try TestRedis.url)
        defer { broker.close() }
        try await broker.refreshVisibility(of: [Array(held.utf8), Array(gone.utf8)])
        let score = try #require(try await redis.send(RedisCommand("ZSCORE", "unacked_index", held)).string.flatMap { Double($0) })
        #expect(abs(score - Date().timeIntervalSince1970) < 5)
        #expect(try await redis.send(RedisCommand("ZSCORE", "unacked_index", gone)) == .null)
        _ = try await redis.send(RedisCommand("ZREM", "unacked_index", held))
    }
}
