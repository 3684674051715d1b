internal import CJansson
internal import CJanssonArena

extension JSONValue {
    /// The nesting depth allowed by default: deeper than anything Celery sends, shallow enough
    /// that a hostile message cannot exhaust the stack.
    public static let defaultMaximumDepth = 256

    /// Parses JSON text as Python's `json.loads` does, through jansson.
    ///
    /// Plain JSON (what kombu and Celery write) is read in Swift instead, with the same result;
    /// jansson reads everything else and gives the errors (see ``PlainJSONParser``).
    ///
    /// Accepts what standard JSON parsers refuse but Python emits: `NaN`, `Infinity`,
    /// `-Infinity`, and integers of any size (kept exact, see ``bigInteger(_:)``).
    ///
    /// - Parameters:
    ///   - bytes: UTF-8 JSON text.
    ///   - maximumDepth: how deeply arrays and objects may nest.
    /// - Throws: ``JSONError`` with code `syntax` (jansson's message, line and column) or `tooDeep`.
    public init(parsing bytes: UnsafeRawBufferPointer, maximumDepth: Int = JSONValue.defaultMaximumDepth) throws {
        try self.init(parsing: bytes, maximumDepth: maximumDepth, swiftFastPaths: true)
    }

    /// Parses JSON text; see ``init(parsing:maximumDepth:)-(UnsafeRawBufferPointer,_)``.
    ///
    /// - Parameter swiftFastPaths: whether plain JSON is parsed in Swift (see ``PlainJSONParser``)
    ///   and, when jansson has to read the text, its large string literals are taken out and
    ///   decoded in Swift first (see ``StringLifter``); the result, value or error, is the same
    ///   either way, only faster with them. Without them, jansson reads everything.
    init(parsing bytes: UnsafeRawBufferPointer, maximumDepth: Int, swiftFastPaths: Bool) throws {
        if swiftFastPaths, let value = PlainJSONParser.parse(bytes, maximumDepth: maximumDepth) {
            self = value
            return
        }
        let lifted = swiftFastPaths ? StringLifter.lift(bytes) : nil
        do throws(JSONError) {
            self = try JanssonDocument.parse(bytes, lifted: lifted, maximumDepth: maximumDepth, extendedTokens: false)
        } catch {
            guard error.code == .syntax else { throw error }
            // Python-only tokens make jansson fail; rewrite them into marked strings and retry.
            if let rewritten = PythonTokenRewriter.rewrite(bytes) {
                self = try rewritten.withUnsafeBytes { buffer throws(JSONError) in
                    try JanssonDocument.parseReportingOriginalErrors(
                        buffer, maximumDepth: maximumDepth, extendedTokens: true, liftingStrings: swiftFastPaths)
                }
            } else if lifted != nil {
                // jansson refused the skeleton, so it refuses the text too: let it say so, with
                // positions in the text rather than in the skeleton.
                self = try JanssonDocument.parse(bytes, lifted: nil, maximumDepth: maximumDepth, extendedTokens: false)
            } else {
                throw error
            }
        }
    }

    /// Parses JSON text held in an array of bytes; see ``init(parsing:maximumDepth:)-(UnsafeRawBufferPointer,_)``.
    public init(parsing bytes: [UInt8], maximumDepth: Int = JSONValue.defaultMaximumDepth) throws {
        self = try bytes.withUnsafeBytes { buffer in
            try JSONValue(parsing: buffer, maximumDepth: maximumDepth)
        }
    }

    /// Parses JSON text held in a string; see ``init(parsing:maximumDepth:)-(UnsafeRawBufferPointer,_)``.
    public init(parsing text: String, maximumDepth: Int = JSONValue.defaultMaximumDepth) throws {
        try self.init(parsing: Array(text.utf8), maximumDepth: maximumDepth)
    }
}

/// The jansson side of parsing: load a `json_t` tree (in the thread's parse arena, see
/// CJanssonArena) and copy it into ``JSONValue``s, freeing the tree before returning.
private enum JanssonDocument {
    /// Parses `bytes`, or the skeleton of `lifted` (taken from `bytes`) in its place.
    ///
    /// jansson accepts a skeleton exactly when it accepts the original text, and the values
    /// are the same; only the line and column of a syntax error may differ.
    static func parse(
        _ bytes: UnsafeRawBufferPointer, lifted: LiftedStrings?, maximumDepth: Int, extendedTokens: Bool
    ) throws(JSONError) -> JSONValue {
        guard let lifted else {
            return try parseText(bytes, lifted: nil, maximumDepth: maximumDepth, extendedTokens: extendedTokens)
        }
        return try lifted.skeleton.withUnsafeBytes { skeleton in
            Result { () throws(JSONError) in
                try parseText(skeleton, lifted: lifted, maximumDepth: maximumDepth, extendedTokens: extendedTokens)
            }
        }.get()
    }

    /// Parses `bytes`, lifting large strings out when that applies; a syntax error is always
    /// jansson's for `bytes` itself (a refused skeleton is followed by a plain parse).
    static func parseReportingOriginalErrors(
        _ bytes: UnsafeRawBufferPointer, maximumDepth: Int, extendedTokens: Bool, liftingStrings: Bool
    ) throws(JSONError) -> JSONValue {
        let lifted = liftingStrings ? StringLifter.lift(bytes) : nil
        do throws(JSONError) {
            return try parse(bytes, lifted: lifted, maximumDepth: maximumDepth, extendedTokens: extendedTokens)
        } catch where error.code == .syntax && lifted != nil {
            return try parse(bytes, lifted: nil, maximumDepth: maximumDepth, extendedTokens: extendedTokens)
        }
    }

    /// Loads `bytes` with jansson and converts the tree; `lifted` holds the values of the
    /// placeholders in `bytes`, when it is a skeleton.
    private static func parseText(
        _ bytes: UnsafeRawBufferPointer, lifted: LiftedStrings?, maximumDepth: Int, extendedTokens: Bool
    ) throws(JSONError) -> JSONValue {
        var error = json_error_t()
        let flags = size_t(JSON_DECODE_ANY | JSON_ALLOW_NUL)
        let empty: [CChar] = [0]
        let root = empty.withUnsafeBufferPointer { fallback in
            cjansson_arena_loadb(bytes.baseAddress?.assumingMemoryBound(to: CChar.self) ?? fallback.baseAddress, bytes.count, flags, &error)
        }
        guard let root else {
            let text = withUnsafeBytes(of: &error.text) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            throw JSONError(code: .syntax, message: "\(text) (line \(error.line), column \(error.column))")
        }
        defer { cjansson_arena_release(root) }
        var converter = Converter(maximumDepth: maximumDepth, extendedTokens: extendedTokens, lifted: lifted)
        return try converter.convert(root, depth: 0)
    }

    struct Converter {
        let maximumDepth: Int
        let extendedTokens: Bool
        /// The values behind the placeholders, when the parsed text is a skeleton.
        let lifted: LiftedStrings?

        mutating func convert(_ json: UnsafeMutablePointer<json_t>, depth: Int) throws(JSONError) -> JSONValue {
            switch cjansson_typeof(json) {
            case JSON_OBJECT:
                guard depth < maximumDepth else { throw Self.tooDeep(maximumDepth) }
                var object = JSONObject()
                object.reserveCapacity(json_object_size(json))
                var iterator = json_object_iter(json)
                while let current = iterator {
                    let key = String(
                        decoding: UnsafeRawBufferPointer(
                            start: json_object_iter_key(current), count: json_object_iter_key_len(current)),
                        as: UTF8.self)
                    object.appendUnchecked(key: key, value: try convert(json_object_iter_value(current), depth: depth + 1))
                    iterator = json_object_iter_next(json, current)
                }
                return .object(object)
            case JSON_ARRAY:
                guard depth < maximumDepth else { throw Self.tooDeep(maximumDepth) }
                let count = json_array_size(json)
                var elements: [JSONValue] = []
                elements.reserveCapacity(count)
                for index in 0..<count {
                    elements.append(try convert(json_array_get(json, index), depth: depth + 1))
                }
                return .array(elements)
            case JSON_STRING:
                let bytes = UnsafeRawBufferPointer(start: json_string_value(json), count: json_string_length(json))
                if let lifted, let value = lifted.value(forPlaceholder: bytes) {
                    return .string(value)
                }
                let text = String(decoding: bytes, as: UTF8.self)
                if extendedTokens, let token = PythonTokenRewriter.token(fromMarkedString: text) {
                    return token
                }
                return .string(text)
            case JSON_INTEGER:
                return .integer(Int64(json_integer_value(json)))
            case JSON_REAL:
                return .double(json_real_value(json))
            case JSON_TRUE:
                return .bool(true)
            case JSON_FALSE:
                return .bool(false)
            default:
                return .null
            }
        }

        static func tooDeep(_ limit: Int) -> JSONError {
            JSONError(code: .tooDeep, message: "JSON nests deeper than \(limit) levels")
        }
    }
}

/// Rewrites the tokens Python's `json` emits but jansson rejects into strings marked with a
/// leading NUL and a private tag, so jansson can parse the document; the converter turns the
/// marked strings back into numbers. Only used after a plain parse failed.
enum PythonTokenRewriter {
    static let marker = "\u{0}swift-celery-token:"

    /// The rewritten text, or `nil` when nothing needed rewriting (the original error stands).
    static func rewrite(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + 64)
        var changed = false
        var index = 0
        let count = bytes.count

        func starts(with literal: String, at position: Int) -> Bool {
            let literalBytes = literal.utf8
            guard position + literalBytes.count <= count else { return false }
            return zip(bytes[position...], literalBytes).allSatisfy { $0 == $1 }
        }
        func emitMarked(_ payload: String) {
            output.append(UInt8(ascii: "\""))
            output.append(contentsOf: Array("\\u0000swift-celery-token:".utf8))
            output.append(contentsOf: Array(payload.utf8))
            output.append(UInt8(ascii: "\""))
            changed = true
        }

        while index < count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                // Copy the whole string literal, escapes included.
                output.append(byte)
                index += 1
                while index < count {
                    let inner = bytes[index]
                    output.append(inner)
                    index += 1
                    if inner == UInt8(ascii: "\\"), index < count {
                        output.append(bytes[index])
                        index += 1
                    } else if inner == UInt8(ascii: "\"") {
                        break
                    }
                }
            } else if starts(with: "NaN", at: index) {
                emitMarked("nan")
                index += 3
            } else if starts(with: "Infinity", at: index) {
                emitMarked("inf")
                index += 8
            } else if starts(with: "-Infinity", at: index) {
                emitMarked("-inf")
                index += 9
            } else if byte == UInt8(ascii: "-") || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) {
                var end = index + 1
                var isInteger = true
                while end < count {
                    let next = bytes[end]
                    if next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9") {
                    } else if next == UInt8(ascii: ".") || next == UInt8(ascii: "e") || next == UInt8(ascii: "E")
                        || next == UInt8(ascii: "+") || next == UInt8(ascii: "-")
                    {
                        isInteger = false
                    } else {
                        break
                    }
                    end += 1
                }
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[index..<end]), as: UTF8.self)
                if isInteger, Int64(text) == nil, text.count > 1 || text != "-" {
                    emitMarked("int:" + text)
                } else if !isInteger, let value = Double(text), value.isInfinite {
                    emitMarked(value < 0 ? "-inf" : "inf")
                } else {
                    output.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index..<end]))
                }
                index = end
            } else {
                output.append(byte)
                index += 1
            }
        }
        return changed ? output : nil
    }

    /// The number a marked string stands for, or `nil` for an ordinary string.
    static func token(fromMarkedString text: String) -> JSONValue? {
        guard text.hasPrefix(marker) else { return nil }
        let payload = text.dropFirst(marker.count)
        switch payload {
        case "nan": return .double(.nan)
        case "inf": return .double(.infinity)
        case "-inf": return .double(-.infinity)
        default:
            guard payload.hasPrefix("int:") else { return nil }
            return .bigInteger(String(payload.dropFirst(4)))
        }
    }
}
