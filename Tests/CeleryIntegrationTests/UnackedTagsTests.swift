@testable import Celery
import CeleryRedis
import Foundation
import Testing

@Suite("Shared delivery tags: naming")
struct UnackedTagsLogicTests {
    @Test("a renamed record is <tag>~<nonce>.<position>; nonces never repeat and carry one token")
    func rekeyedNames() throws {
        #expect(UnackedTags.rekeyed(Array("t-1".utf8), nonce: "00ff.7", position: 3) == Array("t-1~00ff.7.3".utf8))
        let nonces = UnackedTags.Nonces()
        #expect(nonces.token.count == 16)
        #expect(nonces.token.allSatisfy { $0.isHexDigit })
        let drawn = (0..<100).map { _ in nonces.next() }
        #expect(Set(drawn).count == 100)
        #expect(drawn.allSatisfy { $0.hasPrefix(nonces.token + ".") })
        #expect(UnackedTags.Nonces().token != nonces.token)
    }
}

@Suite("Shared delivery tags on a real Redis", .serialized, .timeLimit(.minutes(1)))
struct UnackedTagsRedisTests {
    /// `count` messages on `queue` that all carry the delivery tag `shared`, each `size` bytes of argument.
    private func sharedTagMessages(_ count: Int, shared: String, queue: String, size: Int) throws -> [[UInt8]] {
        let client = try CeleryClient(configuration: CeleryConfiguration(brokerURL: try TestRedis.url, defaultQueue: queue))
        defer { client.close() }
        return (0..<count).map { index in
            let message = client.makeMessage("t.x", args: [.integer(Int64(index)), .string(String(repeating: "x", count: size))])
            let original = message.properties.deliveryTag ?? ""
            let text = String(decoding: message.envelopeBytes(), as: UTF8.self)
            return Array(text.replacingOccurrences(of: #""delivery_tag": "\#(original)""#, with: #""delivery_tag": "\#(shared)""#).utf8)
        }
    }

    /// Copies sharing one tag each get a record of their own, exactly kombu's `[message, exchange,
    /// routing_key]`; after the first copy's ack the others are still restored, so none vanishes.
    private func checkEveryCopyKept(size: Int, label: String) async throws {
        let queue = TestRedis.uniqueQueue(label)
        let redis = try TestRedis.connection()
        defer { redis.close() }
        let shared = "shared-\(UUID().uuidString)"
        let raws = try sharedTagMessages(4, shared: shared, queue: queue, size: size)
        _ = try await redis.pipeline(raws.map { RedisCommand("LPUSH", queue, $0) })
        let broker = try RedisBroker(url: try TestRedis.url)
        defer { broker.close() }
        let keys = RedisBroker.consumeKeys(queues: [queue])
        var taken = try await broker.fetch(keys: keys, limit: 1)  // a copy already held from an earlier fetch
        for _ in 0..<10 where taken.count < raws.count { taken += try await broker.fetch(keys: keys, limit: 3) }
        #expect(taken.map(\.raw) == raws)
        let fields = taken.compactMap(\.deliveryTag)
        #expect(Set(fields).count == raws.count)
        #expect(fields.first == Array(shared.utf8))
        #expect(fields.dropFirst().allSatisfy { String(decoding: $0, as: UTF8.self).hasPrefix(shared + "~") })
        for delivery in taken {
            let field = try #require(delivery.deliveryTag)
            let record = try await redis.send(RedisCommand("HGET", "unacked", field))
            #expect(record.bytes == Array("[".utf8) + delivery.raw + Array(#", "", "\#(queue)"]"#.utf8))
            #expect(try await redis.send(RedisCommand("ZSCORE", "unacked_index", field)).bytes != nil)
        }
        try await broker.ack(deliveryTag: try #require(taken[0].deliveryTag))
        for delivery in taken.dropFirst() { try await broker.restore(deliveryTag: try #require(delivery.deliveryTag)) }
        let back = try await redis.send(RedisCommand("LRANGE", queue, 0, -1)).array ?? []
        let restored = try back.compactMap(\.bytes).map { try TaskMessage(envelope: $0) }
        #expect(restored.map { $0.args[0] } == [1, 2, 3])
        #expect(restored.allSatisfy { $0.properties.deliveryTag == shared && $0.properties.redelivered })
        for field in fields {
            #expect(try await redis.send(RedisCommand("HEXISTS", "unacked", field)).integer == 0)
            #expect(try await redis.send(RedisCommand("ZSCORE", "unacked_index", field)) == .null)
        }
        _ = try await redis.send(RedisCommand("DEL", queue))
    }

    @Test("copies of one delivery tag fetched by the transport script each keep a record")
    func sharedTagsScripted() async throws {
        try await checkEveryCopyKept(size: 10, label: "shared-small")
    }

    @Test("copies of one delivery tag taken without the script (large messages) each keep a record")
    func sharedTagsLarge() async throws {
        try await checkEveryCopyKept(size: RedisBroker.scriptedFetchLimit + 1, label: "shared-large")
    }
}
