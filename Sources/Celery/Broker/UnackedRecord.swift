import CeleryJSON

/// What kombu's `QoS.append` writes for a message a consumer took: the delivery tag, and the
/// `unacked` record `[message, exchange, routing_key]` that `restore_by_tag` reads back.
///
/// The transport script builds the same record inside Redis for the messages it fetches;
/// this is the Swift side, for the large messages the consumer takes without the script
/// (see ``RedisBroker/scriptedFetchLimit``). Both read a message the same way: from the fixed
/// tail kombu and Celery write (`"delivery_info": {...}, "priority": N, "body_encoding":
/// "base64", "delivery_tag": "..."}}`), else by parsing the envelope.
struct UnackedRecord: Sendable, Equatable {
    /// The tag the record is filed under, as bytes (a hostile tag need not be UTF-8).
    var deliveryTag: [UInt8]
    /// `[message, exchange, routing_key]` as JSON text, the message embedded verbatim.
    var record: [UInt8]

    /// The record for `raw`, taken from the list `queueKey`; `nil` when the entry has no
    /// string delivery tag (nothing is recorded; the worker rejects it when it decodes it).
    init?(raw: [UInt8], queueKey: String) {
        if let tail = Self.kombuTail(of: raw) {
            deliveryTag = Array(raw[tail.deliveryTag])
            record = [UInt8(ascii: "[")]
            record.reserveCapacity(raw.count + tail.exchange.count + tail.routingKey.count + 8)
            record += raw
            record += Array(#", ""#.utf8)
            record += raw[tail.exchange]
            record += Array(#"", ""#.utf8)
            record += raw[tail.routingKey]
            record += Array(#""]"#.utf8)
            return
        }
        guard case .object(let message)? = try? JSONValue(parsing: raw, maximumDepth: 512),
            case .object(let properties)? = message["properties"],
            case .string(let tag)? = properties["delivery_tag"]
        else { return nil }
        var exchange = ""
        var routingKey = QueueKeys.queue(fromKey: queueKey)
        if case .object(let info)? = properties["delivery_info"] {
            if case .string(let value)? = info["exchange"] { exchange = value }
            if case .string(let value)? = info["routing_key"] { routingKey = value }
        }
        deliveryTag = Array(tag.utf8)
        record = [UInt8(ascii: "[")] + raw + Array(", ".utf8)
        PythonJSONString.write(exchange, into: &record)
        record += Array(", ".utf8)
        PythonJSONString.write(routingKey, into: &record)
        record.append(UInt8(ascii: "]"))
    }

    /// Where exchange, routing key and delivery tag sit in a message that ends as kombu ends
    /// every message it writes; the transport script's `TAIL` pattern, matched the way Lua's
    /// `string.match` does (leftmost match within the last 1,024 bytes, anchored at the end).
    static func kombuTail(of raw: [UInt8]) -> (exchange: Range<Int>, routingKey: Range<Int>, deliveryTag: Range<Int>)? {
        raw.withUnsafeBufferPointer { bytes in
            var start = max(0, bytes.count - 1024)
            while let found = firstIndex(of: TailPattern.opening, in: bytes, from: start) {
                if let match = TailPattern.match(bytes, at: found) { return match }
                start = found + 1
            }
            return nil
        }
    }

    private static func firstIndex(of needle: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard let first = needle.first, needle.count <= bytes.count else { return nil }
        var index = start
        let last = bytes.count - needle.count
        while index <= last {
            if bytes[index] == first, bytes[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    /// `"delivery_info": {"exchange": "(E)", "routing_key": "(R)"}, "priority": \d+,
    /// "body_encoding": "base64", "delivery_tag": "(T)"}}` then the end; E, R and T hold
    /// neither `"` nor `\`.
    private enum TailPattern {
        static let opening = Array(#""delivery_info": {"exchange": ""#.utf8)
        static let afterExchange = Array(#"", "routing_key": ""#.utf8)
        static let afterRoutingKey = Array(#""}, "priority": "#.utf8)
        static let afterPriority = Array(#", "body_encoding": "base64", "delivery_tag": ""#.utf8)
        static let closing = Array(#""}}"#.utf8)

        static func match(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> (exchange: Range<Int>, routingKey: Range<Int>, deliveryTag: Range<Int>)? {
            var index = start
            func literal(_ text: [UInt8]) -> Bool {
                guard index + text.count <= bytes.count, bytes[index..<(index + text.count)].elementsEqual(text) else { return false }
                index += text.count
                return true
            }
            func field() -> Range<Int> {
                let begin = index
                while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") { index += 1 }
                return begin..<index
            }
            guard literal(opening) else { return nil }
            let exchange = field()
            guard literal(afterExchange) else { return nil }
            let routingKey = field()
            guard literal(afterRoutingKey) else { return nil }
            let digits = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
            guard index > digits, literal(afterPriority) else { return nil }
            let tag = field()
            guard literal(closing), index == bytes.count else { return nil }
            return (exchange, routingKey, tag)
        }
    }
}
