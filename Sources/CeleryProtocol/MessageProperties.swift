public import CeleryJSON

/// The kombu envelope's `properties`: delivery tag, priority, delivery info, correlation id.
///
/// Backed by the object itself so that properties read from the wire keep their order and
/// any extra keys.
public struct MessageProperties: Sendable, Hashable {
    /// The properties object in wire order.
    public var object: JSONObject

    /// Properties exactly as read.
    public init(object: JSONObject) {
        self.object = object
    }

    /// Properties in the order kombu writes them for a task message published to the
    /// anonymous exchange with `routingKey` (the queue name).
    public init(
        correlationID: String, replyTo: String, routingKey: String, exchange: String = "", priority: Int = 0,
        deliveryTag: String, expiration: String? = nil, deliveryMode: Int = 2, origin: String? = nil
    ) {
        var members: [(String, JSONValue)] = [("correlation_id", .string(correlationID)), ("reply_to", .string(replyTo))]
        // Celery adds `origin` here only when a worker re-publishes from a request (retries).
        if let origin { members.append(("origin", .string(origin))) }
        members.append(("delivery_mode", .integer(Int64(deliveryMode))))
        if let expiration { members.append(("expiration", .string(expiration))) }
        members += [
            ("delivery_info", ["exchange": .string(exchange), "routing_key": .string(routingKey)]),
            ("priority", .integer(Int64(priority))), ("body_encoding", "base64"), ("delivery_tag", .string(deliveryTag)),
        ]
        object = JSONObject(members)
    }

    /// The tag the broker's `unacked` hash knows this delivery by.
    public var deliveryTag: String? { object["delivery_tag"]?.stringValue }
    /// The message priority as sent (0–255; kombu routes 0–9).
    public var priority: Int { object["priority"]?.integerValue.map { Int($0) } ?? 0 }
    /// `properties.body_encoding`: `base64` for every Celery message.
    public var bodyEncoding: String? { object["body_encoding"]?.stringValue }
    /// The task id, as Celery copies it.
    public var correlationID: String? { object["correlation_id"]?.stringValue }
    /// The exchange the message was published to (`""` for direct-to-queue).
    public var exchange: String { object["delivery_info"]?["exchange"]?.stringValue ?? "" }
    /// The routing key it was published with (the queue name for direct-to-queue).
    public var routingKey: String? { object["delivery_info"]?["routing_key"]?.stringValue }
    /// Whether kombu marked it as restored from `unacked`.
    public var redelivered: Bool { object["delivery_info"]?["redelivered"]?.boolValue ?? false }
}
