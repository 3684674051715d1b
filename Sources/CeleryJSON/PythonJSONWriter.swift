extension JSONValue {
    /// The value as Python's `json.dumps` writes it with its defaults, which is what kombu sends:
    /// `", "` and `": "` separators, every non-ASCII character escaped (`\u00e9`, surrogate pairs
    /// for astral characters), floats in Python's shortest `repr`, `NaN`/`Infinity`, keys in order.
    public func pythonJSONBytes() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(64)
        writePythonJSON(into: &output)
        return output
    }

    /// The value as Python-compatible JSON text; see ``pythonJSONBytes()``.
    public func pythonJSONString() -> String {
        String(decoding: pythonJSONBytes(), as: UTF8.self)
    }

    /// Appends the value's Python-compatible JSON text to `output`; see ``pythonJSONBytes()``.
    public func writePythonJSON(into output: inout [UInt8]) {
        switch self {
        case .null:
            output.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])  // null
        case .bool(let value):
            output.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
        case .integer(let value):
            output.append(contentsOf: String(value).utf8)
        case .bigInteger(let text):
            output.append(contentsOf: text.utf8)
        case .double(let value):
            output.append(contentsOf: PythonFloat.repr(value).utf8)
        case .string(let value):
            PythonJSONString.write(value, into: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
                element.writePythonJSON(into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            for (index, member) in object.members.enumerated() {
                if index > 0 { output.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
                PythonJSONString.write(member.key, into: &output)
                output.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
                member.value.writePythonJSON(into: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }
}

/// Python's `json` string encoding with `ensure_ascii=True`.
public enum PythonJSONString {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Appends `value` as a quoted, ASCII-only JSON string.
    public static func write(_ value: String, into output: inout [UInt8]) {
        var value = value
        value.withUTF8 { write(utf8: UnsafeRawBufferPointer($0), into: &output) }
    }

    /// Appends valid UTF-8 text as a quoted, ASCII-only JSON string: runs of printable ASCII
    /// are copied at once, everything else is escaped as Python escapes it.
    static func write(utf8 bytes: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        output.reserveCapacity(output.count + bytes.count + 2)
        output.append(UInt8(ascii: "\""))
        var runStart = 0
        var index = 0
        let count = bytes.count
        while index < count {
            index = ASCIIScan.firstSpecialByte(in: bytes, from: index)
            guard index < count else { break }
            let byte = bytes[index]
            if runStart < index { output.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<index])) }
            switch byte {
            case 0x22: output.append(contentsOf: [0x5C, 0x22])
            case 0x5C: output.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: output.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: output.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case ..<0x80:
                writeEscape(UInt32(byte), into: &output)
                index += 1
                runStart = index
                continue
            default:
                // Decode one UTF-8 sequence (the text is valid UTF-8: it came from a String).
                var scalar: UInt32
                var length: Int
                if byte >= 0xF0 {
                    scalar = UInt32(byte & 0x07)
                    length = 4
                } else if byte >= 0xE0 {
                    scalar = UInt32(byte & 0x0F)
                    length = 3
                } else {
                    scalar = UInt32(byte & 0x1F)
                    length = 2
                }
                for offset in 1..<length where index + offset < count {
                    scalar = scalar << 6 | UInt32(bytes[index + offset] & 0x3F)
                }
                if scalar >= 0x10000 {
                    let offset = scalar - 0x10000
                    writeEscape(0xD800 + (offset >> 10), into: &output)
                    writeEscape(0xDC00 + (offset & 0x3FF), into: &output)
                } else {
                    writeEscape(scalar, into: &output)
                }
                index += length
                runStart = index
                continue
            }
            index += 1
            runStart = index
        }
        if runStart < count { output.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<count])) }
        output.append(UInt8(ascii: "\""))
    }

    private static func writeEscape(_ unit: UInt32, into output: inout [UInt8]) {
        output.append(contentsOf: [
            0x5C, UInt8(ascii: "u"),
            hexDigits[Int((unit >> 12) & 0xF)], hexDigits[Int((unit >> 8) & 0xF)],
            hexDigits[Int((unit >> 4) & 0xF)], hexDigits[Int(unit & 0xF)],
        ])
    }
}

/// Python's `repr(float)`: the shortest text that reads back as the same double, in fixed
/// notation for decimal exponents from -4 to 15 and scientific notation (`1e+16`) outside.
public enum PythonFloat {
    /// The Python `repr` of `value` (`NaN`, `Infinity` and `-Infinity` as `json` writes them).
    public static func repr(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }

        // Swift's description is also the shortest round-trip text; take its digits and exponent.
        let (negative, digits, pointPosition) = shortestDigits(value)
        var text = negative ? "-" : ""
        if pointPosition > 16 || pointPosition <= -4 {
            text += String(digits.first!)
            if digits.count > 1 { text += "." + digits.dropFirst() }
            let exponent = pointPosition - 1
            text += exponent < 0 ? "e-" : "e+"
            let magnitude = String(abs(exponent))
            text += magnitude.count < 2 ? "0" + magnitude : magnitude
        } else if pointPosition <= 0 {
            text += "0." + String(repeating: "0", count: -pointPosition) + digits
        } else if pointPosition >= digits.count {
            text += digits + String(repeating: "0", count: pointPosition - digits.count) + ".0"
        } else {
            let split = digits.index(digits.startIndex, offsetBy: pointPosition)
            text += digits[..<split] + "." + digits[split...]
        }
        return text
    }

    /// Significant digits (no leading or trailing zeros) and the decimal point's position:
    /// value = 0.DIGITS × 10^pointPosition.
    private static func shortestDigits(_ value: Double) -> (negative: Bool, digits: String, pointPosition: Int) {
        var description = Substring(value.magnitude.description)
        var exponent = 0
        if let e = description.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(description[description.index(after: e)...]) ?? 0
            description = description[..<e]
        }
        var integerPart = description
        var fractionPart: Substring = ""
        if let dot = description.firstIndex(of: ".") {
            integerPart = description[..<dot]
            fractionPart = description[description.index(after: dot)...]
        }
        var digits = String(integerPart) + fractionPart
        var pointPosition = integerPart.count + exponent
        while digits.first == "0" {
            digits.removeFirst()
            pointPosition -= 1
        }
        while digits.last == "0" { digits.removeLast() }
        return (value < 0, digits.isEmpty ? "0" : digits, pointPosition)
    }
}
