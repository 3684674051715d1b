/// One message taken from a queue and recorded in kombu's `unacked` hash, not yet decoded.
package struct Delivery: Sendable {
    /// The list it came from (`celery`, `celery\x06\x163`, ...).
    package var queueKey: String
    /// The entry exactly as it was in the list.
    package var raw: [UInt8]
    /// The field of `unacked` its record is under, as the bytes Redis holds (a hostile tag need
    /// not be UTF-8): its delivery tag, or a name of its own when another held message had that
    /// tag already (``UnackedTags``); `nil` when the entry had no tag readable and nothing was
    /// recorded. Acks and restores go by it.
    package var deliveryTag: [UInt8]?
    /// When this worker took it from Redis.
    package var fetchedAt: ContinuousClock.Instant = .now

    /// A delivery taken from `queueKey` now.
    package init(queueKey: String, raw: [UInt8], deliveryTag: [UInt8]?, fetchedAt: ContinuousClock.Instant = .now) {
        self.queueKey = queueKey
        self.raw = raw
        self.deliveryTag = deliveryTag
        self.fetchedAt = fetchedAt
    }

    /// The tag for log lines.
    package var tagDescription: String {
        deliveryTag.map { String(decoding: $0, as: UTF8.self) } ?? "(no delivery tag)"
    }

    /// The queue name (the key without its priority suffix).
    package var queue: String { QueueKeys.queue(fromKey: queueKey) }
}
