/// Finds, eight bytes at a time, the next byte of JSON text that a plain ASCII string run
/// cannot hold as it is: a quote, a backslash, a control character, DEL or any byte from 0x80.
///
/// Long strings are the bulk of large Celery messages (a 100 KB argument, a base64 body);
/// the writer copies and the envelope reader skips such runs at this speed instead of
/// judging every byte.
package enum ASCIIScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// The index of the first byte from `start` that is `"`, `\`, below 0x20 or above 0x7E;
    /// `bytes.count` when there is none.
    package static func firstSpecialByte(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        guard let base = bytes.baseAddress else { return bytes.count }
        let end = bytes.count
        var index = start
        while index + 8 <= end {
            let flags = flags(of: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self)))
            // Borrows only carry upwards, so the lowest flag is always a byte that is special.
            if flags != 0 { return index + flags.trailingZeroBitCount >> 3 }
            index += 8
        }
        while index < end {
            let byte = bytes[index]
            if byte < 0x20 || byte > 0x7E || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return index }
            index += 1
        }
        return end
    }

    /// The high bit of each byte of `word` that is special (and perhaps of bytes above one).
    @inline(__always)
    private static func flags(of word: UInt64) -> UInt64 {
        let quotes = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
        let backslashes = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
        let deletes = word ^ (ones &* 0x7F)
        let zeroQuote = (quotes &- ones) & ~quotes
        let zeroBackslash = (backslashes &- ones) & ~backslashes
        let zeroDelete = (deletes &- ones) & ~deletes
        let outOfRange = (word &- ones &* 0x20) | word
        return (zeroQuote | zeroBackslash | zeroDelete | outOfRange) & highBits
    }
}
