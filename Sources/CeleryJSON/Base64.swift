/// Standard base64 (RFC 4648 alphabet, `=` padding, no line breaks), as Python's
/// `base64.b64encode` writes and kombu reads message bodies.
///
/// Works on contiguous bytes with lookup tables: message bodies are the hot path.
public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let invalid: UInt8 = 0xFF
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
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
                var out = 0
                var input = 0
                while input < text.count {
                    let a = table[Int(text[input])]
                    let b = table[Int(text[input + 1])]
                    let lastQuad = input + 4 == text.count
                    let c = lastQuad && padding >= 2 ? 0 : table[Int(text[input + 2])]
                    let d = lastQuad && padding >= 1 ? 0 : table[Int(text[input + 3])]
                    if (a | b | c | d) == invalid || a == invalid || b == invalid || c == invalid || d == invalid {
                        valid = false
                        break
                    }
                    let chunk = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    output[out] = UInt8(chunk >> 16 & 0xFF)
                    output[out + 1] = UInt8(chunk >> 8 & 0xFF)
                    output[out + 2] = UInt8(chunk & 0xFF)
                    out += 3
                    input += 4
                }
                initialized = valid ? outputCount : 0
            }
        }
        return valid ? output : nil
    }
}
