#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import CeleryJSON

/// Decodes `Decodable` values from the ``JSONValue`` a Celery message carries, with the
/// Python↔Swift mapping of typed tasks:
///
/// | Python (kombu JSON)                       | Swift                                   |
/// | ----------------------------------------- | --------------------------------------- |
/// | `int`                                     | `Int`, `Int64`, ... (`TypeError` if out of range) |
/// | `float`, `int`                            | `Double`, `Float`                       |
/// | `str`                                     | `String`                                |
/// | `bool`                                    | `Bool`                                  |
/// | `None`                                    | `nil` of an `Optional`                  |
/// | `list`, `tuple`                           | `Array`                                 |
/// | `dict` with `str` keys                    | `Dictionary<String, _>`, or a `Codable` struct by member name |
/// | `datetime` (`{"__type__": "datetime"}`)   | `Date` (also from an ISO-8601 string)   |
/// | `uuid.UUID` (`{"__type__": "uuid"}`)      | `UUID` (also from its string)           |
/// | `decimal.Decimal` (`{"__type__": "decimal"}`) | `Decimal` (also from a number or string) |
/// | `bytes` (`{"__type__": "bytes"}`)         | `Data`                                  |
/// | anything                                  | ``JSONValue`` itself, untouched         |
public struct JSONValueDecoder: Sendable {
    /// A decoder.
    public init() {}

    /// Decodes `type` from `value`.
    ///
    /// - Throws: `DecodingError` naming the path and what was found.
    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try ValueDecoder(value: value, codingPath: []).decodeValue(type)
    }
}

/// Encodes `Encodable` values into the ``JSONValue`` Python's `json` and kombu read, with the
/// mapping of ``JSONValueDecoder`` the other way: `Date`, `UUID`, `Decimal` and `Data` become
/// kombu's typed objects, so Python gets `datetime`, `UUID`, `Decimal` and `bytes` back.
public struct JSONValueEncoder: Sendable {
    /// An encoder.
    public init() {}

    /// Encodes `value`.
    ///
    /// - Throws: `EncodingError` for a value JSON cannot hold (a non-finite `Float` stays
    ///   encodable: Python's json writes `NaN`).
    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        try ValueEncoder.box(value, codingPath: [])
    }
}

// MARK: - Decoding

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func mismatch(_ expected: String) -> DecodingError {
        .typeMismatch(Any.self, .init(codingPath: codingPath, debugDescription: "expected \(expected), not \(value.pythonTypeName)"))
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == JSONValue.self { return value as! T }
        if T.self == Date.self { return try decodeDate() as! T }
        if T.self == UUID.self { return try decodeUUID() as! T }
        if T.self == Decimal.self { return try decodeDecimal() as! T }
        if T.self == Data.self { return try decodeData() as! T }
        return try T(from: self)
    }

    private func decodeDate() throws -> Date {
        let text: String? = switch value.kombuTypedValue {
        case .datetime(let text)?, .date(let text)?: text
        default: value.stringValue
        }
        guard let text, let parsed = CeleryTime.parse(text) else { throw mismatch("a datetime") }
        return parsed.date
    }

    private func decodeUUID() throws -> UUID {
        if case .uuid(let hex)? = value.kombuTypedValue, hex.count == 32 {
            let chars = Array(hex)
            let dashed = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(chars[$0]) }.joined(separator: "-")
            if let uuid = UUID(uuidString: dashed) { return uuid }
        }
        if let text = value.stringValue, let uuid = UUID(uuidString: text) { return uuid }
        throw mismatch("a UUID")
    }

    private func decodeDecimal() throws -> Decimal {
        let text: String? = switch (value.kombuTypedValue, value) {
        case (.decimal(let text)?, _): text
        case (_, .string(let text)): text
        case (_, .integer(let number)): String(number)
        case (_, .bigInteger(let text)): text
        case (_, .double(let number)): String(number)
        default: nil
        }
        guard let text, let decimal = Decimal(string: text) else { throw mismatch("a decimal") }
        return decimal
    }

    private func decodeData() throws -> Data {
        if case .bytes(let bytes)? = value.kombuTypedValue { return Data(bytes) }
        if let text = value.stringValue { return Data(text.utf8) }
        throw mismatch("bytes")
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else { throw mismatch("a dict") }
        return KeyedDecodingContainer(KeyedValueDecoder<Key>(object: object, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else { throw mismatch("a list") }
        return UnkeyedValueDecoder(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }
}

extension ValueDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool { value.isNull }
    func decode(_ type: Bool.Type) throws -> Bool {
        guard let bool = value.boolValue else { throw mismatch("a bool") }
        return bool
    }
    func decode(_ type: String.Type) throws -> String {
        guard let string = value.stringValue else { throw mismatch("a str") }
        return string
    }
    func decode(_ type: Double.Type) throws -> Double {
        guard let number = value.doubleValue, value.boolValue == nil else { throw mismatch("a float") }
        return number
    }
    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }
    func decode(_ type: Int.Type) throws -> Int { try integer() }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer() }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer() }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer() }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer() }
    func decode(_ type: UInt.Type) throws -> UInt { try integer() }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer() }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer() }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer() }
    func decode(_ type: UInt64.Type) throws -> UInt64 {
        if case .bigInteger(let text) = value, let number = UInt64(text) { return number }
        return try integer()
    }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(type) }

    private func integer<T: FixedWidthInteger>() throws -> T {
        guard case .integer(let number) = value else {
            if case .bigInteger = value { throw mismatch("an int within \(T.self)'s range") }
            throw mismatch("an int")
        }
        guard let exact = T(exactly: number) else { throw mismatch("an int within \(T.self)'s range") }
        return exact
    }
}

private struct KeyedValueDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: JSONObject
    let codingPath: [any CodingKey]
    var allKeys: [Key] { object.keys.compactMap(Key.init(stringValue:)) }

    func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

    private func child(_ key: Key) throws -> ValueDecoder {
        guard let value = object[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no member '\(key.stringValue)'"))
        }
        return ValueDecoder(value: value, codingPath: codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool { object[key.stringValue]?.isNull ?? true }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decodeValue(type) }
    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try child(key).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try child(key).unkeyedContainer() }
    func superDecoder() throws -> any Decoder { ValueDecoder(value: .object(object), codingPath: codingPath) }
    func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
}

private struct UnkeyedValueDecoder: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    init(items: [JSONValue], codingPath: [any CodingKey]) {
        self.items = items
        self.codingPath = codingPath
    }

    private mutating func next() throws -> ValueDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "list too short"))
        }
        defer { currentIndex += 1 }
        return ValueDecoder(value: items[currentIndex], codingPath: codingPath + [AnyKey(intValue: currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(type) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> any Decoder { try next() }
}

// MARK: - Encoding

/// Builds a value bottom-up: containers write into shared boxes that are read when encoding ends.
private final class Box {
    enum Content {
        case value(JSONValue)
        case object([(String, Box)])
        case array([Box])
        case empty
    }
    var content: Content = .empty

    var jsonValue: JSONValue {
        switch content {
        case .value(let value): value
        case .object(let members): .object(JSONObject(members.map { ($0.0, $0.1.jsonValue) }))
        case .array(let items): .array(items.map(\.jsonValue))
        case .empty: .object(JSONObject())
        }
    }
}

private struct ValueEncoder: Encoder {
    let box: Box
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func box<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> JSONValue {
        switch value {
        case let json as JSONValue: return json
        case let date as Date: return JSONValue(KombuTypedValue.datetime(CeleryTime.isoformat(date)))
        case let uuid as UUID: return JSONValue(KombuTypedValue.uuid(hex: uuid.uuidString.lowercased().filter { $0 != "-" }))
        case let decimal as Decimal: return JSONValue(KombuTypedValue.decimal(decimal.description))
        case let data as Data: return JSONValue(KombuTypedValue.bytes(Array(data)))
        default:
            let box = Box()
            try value.encode(to: ValueEncoder(box: box, codingPath: codingPath))
            return box.jsonValue
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = box.content {} else { box.content = .object([]) }
        return KeyedEncodingContainer(KeyedValueEncoder<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = box.content {} else { box.content = .array([]) }
        return UnkeyedValueEncoder(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }
}

extension ValueEncoder: SingleValueEncodingContainer {
    func encodeNil() { box.content = .value(.null) }
    func encode(_ value: Bool) { box.content = .value(.bool(value)) }
    func encode(_ value: String) { box.content = .value(.string(value)) }
    func encode(_ value: Double) { box.content = .value(.double(value)) }
    func encode(_ value: Float) { box.content = .value(.double(Double(value))) }
    func encode(_ value: Int) { box.content = .value(.integer(Int64(value))) }
    func encode(_ value: Int8) { box.content = .value(.integer(Int64(value))) }
    func encode(_ value: Int16) { box.content = .value(.integer(Int64(value))) }
    func encode(_ value: Int32) { box.content = .value(.integer(Int64(value))) }
    func encode(_ value: Int64) { box.content = .value(.integer(value)) }
    func encode(_ value: UInt) { box.content = .value(Self.unsigned(UInt64(value))) }
    func encode(_ value: UInt8) { box.content = .value(.integer(Int64(value))) }
    func encode(_ value: UInt16) { box.content = .value(.integer(Int64(value))) }
    func encode(_ value: UInt32) { box.content = .value(.integer(Int64(value))) }
    func encode(_ value: UInt64) { box.content = .value(Self.unsigned(value)) }
    func encode<T: Encodable>(_ value: T) throws { box.content = .value(try Self.box(value, codingPath: codingPath)) }

    static func unsigned(_ value: UInt64) -> JSONValue {
        Int64(exactly: value).map(JSONValue.integer) ?? .bigInteger(String(value))
    }
}

private struct KeyedValueEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: Box
    let codingPath: [any CodingKey]

    private func child(_ key: Key) -> Box {
        let child = Box()
        if case .object(var members) = box.content {
            members.removeAll { $0.0 == key.stringValue }
            members.append((key.stringValue, child))
            box.content = .object(members)
        }
        return child
    }

    mutating func encodeNil(forKey key: Key) { child(key).content = .value(.null) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        child(key).content = .value(try ValueEncoder.box(value, codingPath: codingPath + [key]))
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        ValueEncoder(box: child(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        ValueEncoder(box: child(key), codingPath: codingPath + [key]).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder { ValueEncoder(box: child(Key(stringValue: "super")!), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { ValueEncoder(box: child(key), codingPath: codingPath + [key]) }
}

private struct UnkeyedValueEncoder: UnkeyedEncodingContainer {
    let box: Box
    let codingPath: [any CodingKey]
    var count: Int {
        if case .array(let items) = box.content { return items.count }
        return 0
    }

    private func next() -> Box {
        let child = Box()
        if case .array(var items) = box.content {
            items.append(child)
            box.content = .array(items)
        }
        return child
    }

    mutating func encodeNil() { next().content = .value(.null) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        next().content = .value(try ValueEncoder.box(value, codingPath: codingPath + [AnyKey(intValue: count)]))
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        ValueEncoder(box: next(), codingPath: codingPath).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        ValueEncoder(box: next(), codingPath: codingPath).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder { ValueEncoder(box: next(), codingPath: codingPath) }
}
