import Celery

/// The decoded view `decode` and `peek` print.
enum MessageView {
    /// The message with Celery's field names: protocol, content type and encoding, headers,
    /// properties, and the body's args, kwargs and embed.
    static func object(for message: TaskMessage) -> JSONObject {
        JSONObject([
            ("protocol", .integer(Int64(message.protocolVersion))), ("content-type", .string(message.contentType)),
            ("content-encoding", .string(message.contentEncoding)), ("headers", .object(message.headers.object)),
            ("properties", .object(message.properties.object)), ("args", .array(message.args)),
            ("kwargs", .object(message.kwargs)), ("embed", .object(message.embed)),
        ])
    }

    /// ``object(for:)`` of a raw queue entry, or `{"error": ...}` when it is not a message we can decode.
    static func describe(_ raw: [UInt8]) -> JSONObject {
        do {
            return object(for: try TaskMessage(envelope: raw))
        } catch {
            return JSONObject([("error", .string("\(error)"))])
        }
    }
}
