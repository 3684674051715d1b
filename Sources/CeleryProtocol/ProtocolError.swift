public import CeleryJSON

/// A queue entry that is not a Celery message this implementation can run.
///
/// It names what is wrong (the field and why) and keeps the entry's raw bytes, so the
/// worker can log the reason and a dead-letter queue could keep the message unchanged.
public struct ProtocolError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case malformedEnvelope, malformedBody, missingField, invalidField, refusedContentType,
                unsupportedEncoding, tooLarge
        }
        private let base: Base

        /// The queue entry is not a kombu JSON envelope.
        public static let malformedEnvelope = Code(base: .malformedEnvelope)
        /// The body is not base64 of JSON, or not `[args, kwargs, embed]`.
        public static let malformedBody = Code(base: .malformedBody)
        /// A required field (a header such as `id` or `task`) is absent.
        public static let missingField = Code(base: .missingField)
        /// A field has the wrong type or an unreadable value (an `eta` that is not ISO-8601).
        public static let invalidField = Code(base: .invalidField)
        /// The content type is not accepted (pickle, yaml, ...); the body was not decoded.
        public static let refusedContentType = Code(base: .refusedContentType)
        /// The body is compressed or encoded in a way this worker does not read.
        public static let unsupportedEncoding = Code(base: .unsupportedEncoding)
        /// The entry exceeds the configured maximum message size.
        public static let tooLarge = Code(base: .tooLarge)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The field at fault, in Celery's names (`headers.eta`, `properties.delivery_tag`, `body`).
    public var field: String?
    /// Why the field is wrong.
    public var reason: String
    /// The queue entry exactly as it was read.
    public var rawMessage: [UInt8]

    /// Creates an error for `field` explained by `reason`.
    public init(code: Code, field: String?, reason: String, rawMessage: [UInt8] = []) {
        self.code = code
        self.field = field
        self.reason = reason
        self.rawMessage = rawMessage
    }

    public var description: String {
        if let field { return "\(field): \(reason)" }
        return reason
    }
}

extension JSONObject {
    /// The string member `key`, `nil` when absent or null; throws when it has another type.
    func optionalString(_ key: String, field: String) throws(ProtocolError) -> String? {
        switch self[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let other?: throw ProtocolError.wrongType(field, expected: "a string", got: other)
        }
    }

    /// The integer member `key`, `nil` when absent or null; throws when it has another type.
    func optionalInteger(_ key: String, field: String) throws(ProtocolError) -> Int64? {
        switch self[key] {
        case nil, .null?: return nil
        case .integer(let value)?: return value
        case let other?: throw ProtocolError.wrongType(field, expected: "an integer", got: other)
        }
    }
}

extension ProtocolError {
    static func wrongType(_ field: String, expected: String, got value: JSONValue) -> ProtocolError {
        ProtocolError(code: .invalidField, field: field, reason: "must be \(expected), got \(value.typeName)")
    }
}
