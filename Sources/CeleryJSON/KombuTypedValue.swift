/// A value kombu's JSON serializer writes as `{"__type__": ..., "__value__": ...}`.
///
/// Texts are kept exactly as Python wrote them (an ISO datetime keeps its offset or lack of
/// one; a Decimal keeps every digit), so a value read from Python is sent back unchanged.
public enum KombuTypedValue: Sendable, Hashable {
    /// `datetime.datetime.isoformat()`, aware (`+00:00`) or naive.
    case datetime(String)
    /// `datetime.date.isoformat()`.
    case date(String)
    /// `datetime.time.isoformat()`.
    case time(String)
    /// A UUID as 32 lowercase hex digits without dashes (kombu's `{"hex": ...}` form).
    case uuid(hex: String)
    /// `str(decimal.Decimal)`, full precision.
    case decimal(String)
    /// Bytes; written as `bytes` when they are valid UTF-8 and as `base64` otherwise, as kombu does.
    case bytes([UInt8])
}

extension JSONValue {
    /// The typed value this object stands for, when it is exactly `{"__type__", "__value__"}`
    /// with a type kombu knows.
    public var kombuTypedValue: KombuTypedValue? {
        guard case .object(let object) = self, object.count == 2,
            let type = object["__type__"]?.stringValue, let value = object["__value__"]
        else { return nil }
        switch (type, value) {
        case ("datetime", .string(let text)): return .datetime(text)
        case ("date", .string(let text)): return .date(text)
        case ("time", .string(let text)): return .time(text)
        case ("decimal", .string(let text)): return .decimal(text)
        case ("uuid", .object(let inner)):
            guard let hex = inner["hex"]?.stringValue else { return nil }
            return .uuid(hex: hex)
        case ("bytes", .string(let text)): return .bytes(Array(text.utf8))
        case ("base64", .string(let text)):
            guard let bytes = Base64.decode(Array(text.utf8)) else { return nil }
            return .bytes(bytes)
        default: return nil
        }
    }

    /// The kombu JSON object for a typed value.
    public init(_ typed: KombuTypedValue) {
        let (type, value): (String, JSONValue)
        switch typed {
        case .datetime(let text): (type, value) = ("datetime", .string(text))
        case .date(let text): (type, value) = ("date", .string(text))
        case .time(let text): (type, value) = ("time", .string(text))
        case .decimal(let text): (type, value) = ("decimal", .string(text))
        case .uuid(let hex): (type, value) = ("uuid", ["hex": .string(hex)])
        case .bytes(let bytes):
            if let text = String(validating: bytes, as: UTF8.self) {
                (type, value) = ("bytes", .string(text))
            } else {
                (type, value) = ("base64", .string(String(decoding: Base64.encode(bytes), as: UTF8.self)))
            }
        }
        self = .object(JSONObject([("__type__", .string(type)), ("__value__", value)]))
    }
}
