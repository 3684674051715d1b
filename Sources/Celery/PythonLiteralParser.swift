#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads the Python literals of a `celeryconfig.py` into JSON values.
enum PythonLiteralParser {
    struct Failure: Error {
        var line: Int
        var message: String
    }

    /// Every `name = literal` statement of `text`.
    static func assignments(in text: String) throws(Failure) -> [String: JSONValue] {
        var parser = Scanner(Array(text.utf8))
        var values: [String: JSONValue] = [:]
        while true {
            parser.skipBlankAndComments()
            guard !parser.atEnd else { return values }
            if parser.startsWithWord("import") || parser.startsWithWord("from") {
                parser.skipLine()
                continue
            }
            let name = parser.identifier()
            guard !name.isEmpty else { throw parser.failure("expected 'name = value'") }
            parser.skipSpaces()
            guard parser.take(UInt8(ascii: "=")) else { throw parser.failure("expected '=' after \(name)") }
            values[name] = try parser.value()
            parser.skipSpaces()
            if parser.peek == UInt8(ascii: "#") { parser.skipLine() }
            guard parser.atEnd || parser.peek == UInt8(ascii: "\n") || parser.peek == UInt8(ascii: "\r") else {
                throw parser.failure("unexpected text after the value of \(name) (only plain literals are read)")
            }
        }
    }

    /// One literal.
    static func literal(_ text: String) throws(Failure) -> JSONValue {
        var parser = Scanner(Array(text.utf8))
        let value = try parser.value()
        parser.skipBlankAndComments()
        guard parser.atEnd else { throw parser.failure("unexpected text after the value") }
        return value
    }

    struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        /// Inside brackets newlines are whitespace.
        var depth = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[index] }

        func failure(_ message: String) -> Failure { Failure(line: line, message: message) }

        mutating func advance() {
            if bytes[index] == UInt8(ascii: "\n") { line += 1 }
            index += 1
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            advance()
            return true
        }

        mutating func skipSpaces() {
            while let byte = peek, byte == 32 || byte == 9 || (depth > 0 && (byte == 10 || byte == 13 || byte == UInt8(ascii: "#"))) {
                if byte == UInt8(ascii: "#") { skipLine() } else { advance() }
            }
        }

        mutating func skipLine() {
            while let byte = peek, byte != 10 { advance() }
        }

        mutating func skipBlankAndComments() {
            while let byte = peek {
                if byte == 32 || byte == 9 || byte == 10 || byte == 13 { advance() } else if byte == UInt8(ascii: "#") { skipLine() } else { return }
            }
        }

        func startsWithWord(_ word: String) -> Bool {
            let w = Array(word.utf8)
            guard index + w.count < bytes.count, Array(bytes[index..<index + w.count]) == w else { return false }
            return bytes[index + w.count] == 32
        }

        mutating func identifier() -> String {
            let start = index
            while let byte = peek, byte == UInt8(ascii: "_") || (byte >= 48 && byte <= 57 && index > start)
                || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
            {
                advance()
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func value() throws(Failure) -> JSONValue {
            skipSpaces()
            guard let byte = peek else { throw failure("expected a value") }
            switch byte {
            case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try string(quote: byte))
            case UInt8(ascii: "["): return .array(try sequence(close: UInt8(ascii: "]")))
            case UInt8(ascii: "("): return .array(try sequence(close: UInt8(ascii: ")")))
            case UInt8(ascii: "{"): return try dictionary()
            default:
                let word = identifier()
                switch word {
                case "True", "true": return .bool(true)
                case "False", "false": return .bool(false)
                case "None", "null": return .null
                case "": return try number()
                default: throw failure("'\(word)' is not a literal (only plain literals are read)")
                }
            }
        }

        mutating func number() throws(Failure) -> JSONValue {
            let start = index
            while let byte = peek, (byte >= 48 && byte <= 57) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") || byte == UInt8(ascii: "_")
            {
                advance()
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self).filter { $0 != "_" }
            if let integer = Int64(text) { return .integer(integer) }
            if let double = Double(text), !text.isEmpty { return .double(double) }
            throw failure("expected a value, found '\(text.isEmpty ? String(decoding: [bytes[index]], as: UTF8.self) : text)'")
        }

        mutating func string(quote: UInt8) throws(Failure) -> String {
            advance()
            var out: [UInt8] = []
            while let byte = peek {
                advance()
                if byte == quote { return String(decoding: out, as: UTF8.self) }
                if byte == 10 { throw failure("string not closed on its line") }
                guard byte == UInt8(ascii: "\\") else {
                    out.append(byte)
                    continue
                }
                guard let escaped = peek else { break }
                advance()
                switch escaped {
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "r"): out.append(13)
                default: out.append(escaped)
                }
            }
            throw failure("string not closed")
        }

        mutating func sequence(close: UInt8) throws(Failure) -> [JSONValue] {
            advance()
            depth += 1
            defer { depth -= 1 }
            var items: [JSONValue] = []
            while true {
                skipSpaces()
                if take(close) { return items }
                items.append(try value())
                skipSpaces()
                if take(close) { return items }
                guard take(UInt8(ascii: ",")) else { throw failure("expected ',' or a closing bracket") }
            }
        }

        mutating func dictionary() throws(Failure) -> JSONValue {
            advance()
            depth += 1
            defer { depth -= 1 }
            var members: [(String, JSONValue)] = []
            while true {
                skipSpaces()
                if take(UInt8(ascii: "}")) { return .object(JSONObject(members)) }
                guard case .string(let key) = try value() else { throw failure("dict keys must be strings") }
                skipSpaces()
                guard take(UInt8(ascii: ":")) else { throw failure("expected ':' after '\(key)'") }
                members.append((key, try value()))
                skipSpaces()
                if take(UInt8(ascii: "}")) { return .object(JSONObject(members)) }
                guard take(UInt8(ascii: ",")) else { throw failure("expected ',' or '}'") }
            }
        }
    }
}
