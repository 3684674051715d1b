/// Parses, in Swift, the plain JSON that Celery messages are made of, and declines everything
/// else so that jansson decides it.
///
/// jansson spends about 7 µs on a typical 935-byte task message, most of a small task's
/// decoding: it reads a byte at a time through a stream, builds a `json_t` tree with hashed
/// keys, and that tree is then copied into ``JSONValue``s. This parser builds the
/// ``JSONValue``s directly, scanning strings eight bytes at a time.
///
/// It only accepts what it can read exactly as jansson does, and returns `nil` for anything
/// else (the caller then parses with jansson, which gives the value or the error): text that
/// is not valid JSON; strings holding bytes outside 0x20...0x7F or escaping NUL; integers of
/// more than 18 digits; reals that overflow; a repeated key; objects of more than 64 members;
/// nesting deeper than 64 levels or `maximumDepth`. What Python's `json.dumps` writes with
/// `ensure_ascii` (kombu's and Celery's default) is all within it.
struct PlainJSONParser {
    private let text: UnsafeRawBufferPointer
    private let maximumDepth: Int
    private var index = 0

    /// Nesting this deep is left to jansson (and its depth checks).
    private static let depthLimit = 64
    /// Objects this large are left to jansson (repeated keys are looked for one by one).
    private static let memberLimit = 64

    /// The value of `text`, or `nil` when jansson has to decide (see ``PlainJSONParser``).
    static func parse(_ text: UnsafeRawBufferPointer, maximumDepth: Int) -> JSONValue? {
        var parser = PlainJSONParser(text: text, maximumDepth: min(maximumDepth, depthLimit))
        guard let value = parser.value(depth: 0) else { return nil }
        parser.skipWhitespace()
        guard parser.index == text.count else { return nil }  // (not `? value : nil`: that nil is JSON's null)
        return value
    }

    private init(text: UnsafeRawBufferPointer, maximumDepth: Int) {
        self.text = text
        self.maximumDepth = maximumDepth
    }

    @inline(__always)
    private var current: UInt8? { index < text.count ? text[index] : nil }

    @inline(__always)
    private mutating func skipWhitespace() {
        while index < text.count {
            switch text[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func value(depth: Int) -> JSONValue? {
        skipWhitespace()
        guard let byte = current else { return nil }
        switch byte {
        case UInt8(ascii: "\""): return string().map(JSONValue.string)
        case UInt8(ascii: "{"): return object(depth: depth)
        case UInt8(ascii: "["): return array(depth: depth)
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
        default: return nil
        }
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) -> JSONValue? {
        let count = word.utf8CodeUnitCount
        guard index + count <= text.count else { return nil }
        for offset in 0..<count where text[index + offset] != word.utf8Start[offset] { return nil }
        index += count
        return value
    }

    private mutating func object(depth: Int) -> JSONValue? {
        guard depth < maximumDepth else { return nil }
        index += 1  // {
        var object = JSONObject()
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\""), let key = string() else { return nil }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { return nil }
            index += 1
            guard let member = value(depth: depth + 1) else { return nil }
            // jansson keeps one member per key; leave repeated keys and large objects to it.
            guard object.count < Self.memberLimit, !object.members.contains(where: { $0.key == key }) else { return nil }
            object.appendUnchecked(key: key, value: member)
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return .object(object)
            default: return nil
            }
        }
    }

    private mutating func array(depth: Int) -> JSONValue? {
        guard depth < maximumDepth else { return nil }
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            guard let element = value(depth: depth + 1) else { return nil }
            elements.append(element)
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return .array(elements)
            default: return nil
            }
        }
    }

    /// An integer of up to 18 digits, or a real that is finite, in JSON's number grammar.
    private mutating func number() -> JSONValue? {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        let digitsStart = index
        guard let first = current, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { return nil }
        index += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        let integerDigits = index - digitsStart
        var isInteger = true
        if current == UInt8(ascii: ".") {
            index += 1
            guard skipDigits() > 0 else { return nil }
            isInteger = false
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard skipDigits() > 0 else { return nil }
            isInteger = false
        }
        if isInteger {
            guard integerDigits <= 18 else { return nil }  // jansson decides what overflows Int64
            var magnitude: Int64 = 0
            for offset in digitsStart..<index { magnitude = magnitude * 10 + Int64(text[offset] &- UInt8(ascii: "0")) }
            return .integer(digitsStart == start ? magnitude : -magnitude)
        }
        // jansson reads reals with strtod, as Double(_:) does: the same correctly rounded value.
        let literal = String(decoding: UnsafeRawBufferPointer(rebasing: text[start..<index]), as: UTF8.self)
        guard let real = Double(literal), real.isFinite else { return nil }
        return .double(real)
    }

    @discardableResult
    private mutating func skipDigits() -> Int {
        let start = index
        while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    /// The string literal at `index` (its opening quote), decoded; `nil` for a byte outside
    /// 0x20...0x7F, an escape of NUL, an invalid escape or an unpaired surrogate.
    private mutating func string() -> String? {
        index += 1  // "
        var runStart = index
        var decoded: [UInt8] = []  // what precedes `runStart`, once an escape is met
        var hasEscapes = false
        while true {
            index = ASCIIScan.firstSpecialByte(in: text, from: index)
            guard let byte = current else { return nil }
            switch byte {
            case UInt8(ascii: "\""):
                let run = UnsafeRawBufferPointer(rebasing: text[runStart..<index])
                index += 1
                guard hasEscapes else { return String(decoding: run, as: UTF8.self) }
                decoded.append(contentsOf: run)
                return String(decoding: decoded, as: UTF8.self)
            case 0x7F:  // DEL: plain ASCII, only special to the scan
                index += 1
            case UInt8(ascii: "\\"):
                hasEscapes = true
                decoded.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[runStart..<index]))
                guard unescape(into: &decoded) else { return nil }
                runStart = index
            default:
                return nil  // a control character (jansson refuses it) or non-ASCII (jansson validates it)
            }
        }
    }

    /// Decodes the escape at `index` (its backslash) into `bytes` as UTF-8.
    private mutating func unescape(into bytes: inout [UInt8]) -> Bool {
        guard index + 1 < text.count else { return false }
        let letter = text[index + 1]
        index += 2
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(letter)
        case UInt8(ascii: "b"): bytes.append(0x08)
        case UInt8(ascii: "f"): bytes.append(0x0C)
        case UInt8(ascii: "n"): bytes.append(0x0A)
        case UInt8(ascii: "r"): bytes.append(0x0D)
        case UInt8(ascii: "t"): bytes.append(0x09)
        case UInt8(ascii: "u"):
            guard var scalar = hexQuad(), scalar != 0 else { return false }
            if (0xDC00...0xDFFF).contains(scalar) { return false }
            if (0xD800...0xDBFF).contains(scalar) {
                guard index + 1 < text.count, text[index] == UInt8(ascii: "\\"), text[index + 1] == UInt8(ascii: "u") else { return false }
                index += 2
                guard let low = hexQuad(), (0xDC00...0xDFFF).contains(low) else { return false }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { return false }
            bytes.append(contentsOf: UTF8.encode(unicode)!)
        default:
            return false
        }
        return true
    }

    /// The four hex digits at `index`, as a number.
    private mutating func hexQuad() -> UInt32? {
        guard index + 4 <= text.count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = text[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}
