#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CeleryJSON

/// The kombu envelope of a non-task message (an event, a remote-control reply): JSON body in
/// base64, `delivery_mode` 1, no correlation id or reply-to, as kombu writes them.
enum KombuEnvelope {
    static func encode(body: JSONValue, headers: JSONObject, exchange: String, routingKey: String, deliveryMode: Int64 = 1) -> [UInt8] {
        let deliveryInfo: JSONObject = ["exchange": .string(exchange), "routing_key": .string(routingKey)]
        let properties: [(String, JSONValue)] = [
            ("delivery_mode", .integer(deliveryMode)), ("delivery_info", .object(deliveryInfo)), ("priority", .integer(0)),
            ("body_encoding", .string("base64")), ("delivery_tag", .string(RandomUUID.string())),
        ]
        let encodedBody = String(decoding: Base64.encode(body.pythonJSONBytes()), as: UTF8.self)
        let envelope: [(String, JSONValue)] = [
            ("body", .string(encodedBody)), ("content-encoding", .string("utf-8")),
            ("content-type", .string("application/json")), ("headers", .object(headers)),
            ("properties", .object(JSONObject(properties))),
        ]
        return JSONValue.object(JSONObject(envelope)).pythonJSONBytes()
    }
}
