/// Random (version 4) UUIDs in the form Python's `str(uuid.uuid4())` prints: 36 lowercase
/// characters, as Celery makes task ids and kombu delivery tags.
///
/// Foundation's `UUID()` opens, reads and closes `/dev/urandom` on Linux at every call: three
/// system calls, two of them per published task, about a tenth of a round trip's client time.
/// This takes its 128 bits from `SystemRandomNumberGenerator` (`getrandom(2)`) instead.
enum RandomUUID {
    /// A new random UUID string, e.g. `"1d3f6c1e-8a2b-4c5d-9e0f-a1b2c3d4e5f6"`.
    static func string() -> String {
        var generator = SystemRandomNumberGenerator()
        // The version (4) in the high nibble of byte 6; the variant (binary 10) in byte 8's top bits.
        let high = (generator.next() as UInt64) & ~0xF000 | 0x4000
        let low = (generator.next() as UInt64) & ~(0xC0 << 56) | (0x80 << 56)
        return String(unsafeUninitializedCapacity: 36) { buffer in
            let digits: StaticString = "0123456789abcdef"
            var position = 0
            func put(_ word: UInt64, nibbles: ClosedRange<Int>, dashesAfter: UInt16) {
                for nibble in nibbles {
                    let value = Int(truncatingIfNeeded: word >> UInt64(60 - 4 * nibble)) & 0xF
                    buffer[position] = digits.utf8Start[value]
                    position += 1
                    if dashesAfter & (1 << nibble) != 0 {
                        buffer[position] = UInt8(ascii: "-")
                        position += 1
                    }
                }
            }
            // 8-4-4 from the high word, 4-12 from the low one.
            put(high, nibbles: 0...15, dashesAfter: 1 << 7 | 1 << 11 | 1 << 15)
            put(low, nibbles: 0...15, dashesAfter: 1 << 3)
            return position
        }
    }

    /// `bytes` random bytes as lowercase hex digits (two per byte): claim and lock tokens.
    static func hexToken(bytes: Int = 8) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
    }
}
