/// Standard base64 (RFC 4648 alphabet, `=` padding, no line breaks), as Python's
/// `base64.b64encode` writes and kombu reads message bodies.
///
/// Works on contiguous bytes with lookup tables: message bodies are the hot path.
public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let invalid: UInt8 = 0xFF
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        for (index, character) in alphabet.enumerated() { table[Int(character)] = UInt8(index) }
        return table
    }()

    /// The base64 text of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { encode($0) }
    }

    /// The base64 text of `bytes`.
    public static func encode(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        let outputCount = (bytes.count + 2) / 3 * 4
        return alphabet.withUnsafeBufferPointer { table in
            [UInt8](unsafeUninitializedCapacity: outputCount) { output, initialized in
                var input = 0
                var out = 0
                while input + 3 <= bytes.count {
                    let chunk = UInt32(bytes[input]) << 16 | UInt32(bytes[input + 1]) << 8 | UInt32(bytes[input + 2])
                    output[out] = table[Int(chunk >> 18 & 0x3F)]
                    output[out + 1] = table[Int(chunk >> 12 & 0x3F)]
                    output[out + 2] = table[Int(chunk >> 6 & 0x3F)]
                    output[out + 3] = table[Int(chunk & 0x3F)]
                    input += 3
                    out += 4
                }
                let remaining = bytes.count - input
                if remaining > 0 {
                    let second = remaining > 1 ? UInt32(bytes[input + 1]) : 0
                    let chunk = UInt32(bytes[input]) << 16 | second << 8
                    output[out] = table[Int(chunk >> 18 & 0x3F)]
                    output[out + 1] = table[Int(chunk >> 12 & 0x3F)]
                    output[out + 2] = remaining > 1 ? table[Int(chunk >> 6 & 0x3F)] : UInt8(ascii: "=")
                    output[out + 3] = UInt8(ascii: "=")
                    out += 4
                }
                initialized = out
            }
        }
    }

    /// The bytes `text` encodes, or `nil` when it is not valid padded base64.
    public static func decode(_ text: [UInt8]) -> [UInt8]? {
        text.withUnsafeBytes { decode($0) }
    }

    /// The bytes `text` encodes, or `nil` when it is not valid padded base64.
    public static func decode(_ text: UnsafeRawBufferPointer) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        if text.isEmpty { return [] }
        var padding = 0
        if text[text.count - 1] == UInt8(ascii: "=") { padding += 1 }
        if text[text.count - 2] == UInt8(ascii: "=") { padding += 1 }
        let outputCount = text.count / 4 * 3 - padding
        var valid = true
        let output = decodeTable.withUnsafeBufferPointer { table in
            [UInt8](unsafeUninitializedCapacity: text.count / 4 * 3) { output, initialized in
                // Values are 0...63 and `invalid` is 0xFF: one test of bit 7 checks a whole quad.
                @inline(__always) func decodeQuad(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, at out: Int) -> Bool {
                    guard (a | b | c | d) & 0x80 == 0 else { return false }
                    let chunk = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    output[out] = UInt8(truncatingIfNeeded: chunk >> 16)
                    output[out + 1] = UInt8(truncatingIfNeeded: chunk >> 8)
                    output[out + 2] = UInt8(truncatingIfNeeded: chunk)
                    return true
                }
                let lastQuad = text.count - 4
                var input = 0
                var out = 0
                // Every quad but the last has no padding.
                while input < lastQuad {
                    guard decodeQuad(
                        table[Int(text[input])], table[Int(text[input + 1])],
                        table[Int(text[input + 2])], table[Int(text[input + 3])], at: out)
                    else {
                        valid = false
                        break
                    }
                    input += 4
                    out += 3
                }
                if valid {
                    valid = decodeQuad(
                        table[Int(text[lastQuad])], table[Int(text[lastQuad + 1])],
                        padding >= 2 ? 0 : table[Int(text[lastQuad + 2])], padding >= 1 ? 0 : table[Int(text[lastQuad + 3])],
                        at: out)
                }
                initialized = valid ? outputCount : 0
            }
        }
        return valid ? output : nil
    }
}
