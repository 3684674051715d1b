import Synchronization
internal import CeleryRedis

/// How held messages are filed in kombu's `unacked` hash so that none loses its record, and
/// how the records of messages held for an ETA are kept from the visibility restore.
///
/// **Shared delivery tags.** kombu files a message under its `properties.delivery_tag`, which
/// publishers make unique (a UUID4 per publish). Messages that share one (a replay tool
/// re-sending captured messages, a hostile producer) shared one record: the first copy's ack
/// deleted it, and a copy still held then had nothing to be restored from at a warm shutdown
/// or after a crash; it vanished. The worker files a message whose tag is already in `unacked`
/// under a field of its own, `<tag>~<nonce>.<position>` (``rekeyed(_:nonce:position:)``; the
/// nonce is this broker's random token and a fetch counter), and acks and restores it by that
/// field. The message itself is not changed: it keeps its delivery tag.
///
/// kombu reads such a record as any other: `restore_visible` and `restore_by_tag` take field
/// names from `unacked_index` and never compare them with the message, so a Python worker or a
/// `celery` tool restores it to its queue, still carrying its original tag (the reliability
/// scenario 10b runs kombu's own restore on such records). A Python worker that takes two
/// copies of one tag still files both under that tag (kombu's own limitation).
///
/// The check costs nothing on the fetch path: the transport script files records with
/// `HSETNX` instead of `HSET`, and renames only on a collision.
enum UnackedTags {
    /// The field for a message whose delivery tag `tag` another held message already has:
    /// `<tag>~<nonce>.<position>`, as the transport script names it (`position` counts from 1
    /// within one fetch).
    static func rekeyed(_ tag: [UInt8], nonce: String, position: Int) -> [UInt8] {
        tag + Array("~\(nonce).\(position)".utf8)
    }

    /// Nonces for ``rekeyed(_:nonce:position:)``: a random token per broker and a counter per
    /// fetch, so names never repeat across workers or fetches.
    final class Nonces: Sendable {
        /// 16 random hex digits, fixed for this broker.
        let token: String
        private let count = Atomic<UInt64>(0)

        init() {
            token = RandomUUID.hexToken(bytes: 8)
        }

        /// `<token>.<n>` with a new `n` each call.
        func next() -> String {
            "\(token).\(count.add(1, ordering: .relaxed).newValue)"
        }
    }

    /// The fields the large-message path (`LMPOP`, then `ZADD NX` and one `HSETNX` per record)
    /// filed `records` under: each record's delivery tag, or for those whose `HSETNX` found the
    /// tag taken, a field of their own, filed by one more pipelined round trip on `connection`
    /// (only when there was a collision). `replies` are those of the `ZADD NX` and then of each
    /// `HSETNX`, in the order of the non-`nil` records.
    ///
    /// - Throws: the Redis error of a failed `ZADD`/`HSETNX`, naming the command.
    static func fileCollisions(
        of records: [UnackedRecord?], replies: [RedisReply], now: String, nonce: String, on connection: RedisConnection
    ) async throws -> [[UInt8]?] {
        var tags = records.map { $0?.deliveryTag }
        let filed = records.indices.filter { records[$0] != nil }
        guard !filed.isEmpty else { return tags }
        guard replies.count == filed.count + 1 else {
            throw RedisError(code: .unexpectedReply, message: "recording large messages in unacked: \(replies.count) replies for ZADD NX and \(filed.count) HSETNX")
        }
        try replies[0].unwrapped(command: "ZADD NX unacked_index (unacked record)")
        var renamed: [(index: Int, field: [UInt8], record: [UInt8])] = []
        for (position, index) in filed.enumerated() {
            let reply = try replies[position + 1].unwrapped(command: "HSETNX unacked (unacked record)")
            guard reply.integer == 0, let record = records[index] else { continue }
            renamed.append((index, rekeyed(record.deliveryTag, nonce: nonce, position: position + 1), record.record))
        }
        guard !renamed.isEmpty else { return tags }
        let commands = renamed.flatMap { item in
            [RedisCommand("HSETNX", QueueKeys.unacked, item.field, item.record), RedisCommand("ZADD", QueueKeys.unackedIndex, now, item.field)]
        }
        let filedReplies = try await connection.pipeline(commands)
        for (offset, item) in renamed.enumerated() {
            let stored = try filedReplies[2 * offset].unwrapped(command: "HSETNX unacked (record of a shared delivery tag)")
            try filedReplies[2 * offset + 1].unwrapped(command: "ZADD unacked_index (record of a shared delivery tag)")
            guard stored.integer == 1 else {
                throw RedisError(code: .unexpectedReply, message: "HSETNX unacked: the field \(String(decoding: item.field, as: UTF8.self)) for a shared delivery tag is taken already")
            }
            tags[item.index] = item.field
        }
        return tags
    }
}
