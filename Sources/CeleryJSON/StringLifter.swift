/// A JSON text with its large string literals taken out: what jansson parses instead of the
/// original, and the values it stands for.
///
/// jansson reads strings a byte at a time (about 100 MB/s); a Celery task carrying a 100 KB
/// string spends most of its decoding there. ``StringLifter`` finds such literals eight bytes at a
/// time, decodes them in Swift, and gives jansson a skeleton in which each is replaced by the
/// placeholder `"\u0000<n>"`; the converter puts value `n` back in its place. Only texts that
/// ``PlainJSONParser`` declines (a non-ASCII string, a big integer, `NaN`, ...) get here: the
/// plain JSON kombu writes never reaches jansson.
struct LiftedStrings {
    /// The original text with each lifted literal replaced by its placeholder literal.
    var skeleton: [UInt8]
    /// The decoded value of each lifted literal, by placeholder number.
    var values: [String]

    /// The lifted value a jansson string stands for, when `bytes` (its decoded UTF-8) is a
    /// placeholder: a NUL followed by the decimal number of a lifted value, and nothing else.
    func value(forPlaceholder bytes: UnsafeRawBufferPointer) -> String? {
        guard bytes.count >= 2, bytes.count <= 19, bytes[0] == 0 else { return nil }  // at most 18 digits: no overflow
        var number = 0
        for byte in bytes.dropFirst() {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            number = number * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return number < values.count ? values[number] : nil
    }
}

/// Takes large string literals out of JSON text before jansson parses it; see ``LiftedStrings``.
///
/// A literal is lifted only when jansson would certainly accept it and its value is certain:
/// at least ``minimumLiteralLength`` bytes between the quotes, not an object key, only bytes
/// 0x20...0x7F (what Python's `json.dumps` writes with `ensure_ascii`), and only valid escapes
/// with paired surrogates. Swapping such a literal for another valid string literal keeps the
/// document's structure, so jansson accepts the skeleton exactly when it accepts the original.
/// Anything else stays in the text for jansson to read, or refuse, as before.
///
/// Placeholders cannot be confused with real strings: a string value starting with NUL can
/// only be written as a literal starting with `\u0000`; when one of those continues with a
/// digit or another escape (so its value might read as a placeholder), nothing is lifted.
enum StringLifter {
    /// Texts shorter than this are left to jansson alone: scanning would not pay for itself.
    static let minimumTextLength = 2048
    /// Literals shorter than this (raw bytes between the quotes) are left to jansson.
    static let minimumLiteralLength = 512

    /// The skeleton and lifted values of `text`, or `nil` when nothing is lifted: the text is
    /// short, has no large literal that qualifies, has a string jansson will refuse, or has a
    /// string whose value might be mistaken for a placeholder.
    static func lift(_ text: UnsafeRawBufferPointer) -> LiftedStrings? {
        guard text.count >= minimumTextLength, let base = text.baseAddress else { return nil }
        let end = text.count
        var liftedRanges: [Range<Int>] = []
        var values: [String] = []
        var position = 0
        while true {
            let opening = Self.next(UInt8(ascii: "\""), in: base, from: position, end: end)
            guard opening < end else { break }
            let contentStart = opening + 1
            if Self.startsWithNULEscape(base, at: contentStart, end: end),
                contentStart + 6 < end,
                Self.isDigitOrBackslash(base.load(fromByteOffset: contentStart + 6, as: UInt8.self))
            {
                return nil
            }
            guard let literal = LiteralScan(base, contentStart: contentStart, end: end) else {
                // Unterminated, or content jansson refuses: the whole text is jansson's to refuse.
                return nil
            }
            let closing = literal.closingQuote
            if literal.isPrintableASCII, closing - contentStart >= minimumLiteralLength,
                !Self.isFollowedByColon(base, after: closing, end: end)
            {
                let content = UnsafeRawBufferPointer(start: base + contentStart, count: closing - contentStart)
                values.append(literal.hasEscapes ? Self.decodeEscapedASCII(content) : String(decoding: content, as: UTF8.self))
                liftedRanges.append(opening..<(closing + 1))
            }
            position = closing + 1
        }
        guard !liftedRanges.isEmpty else { return nil }
        return LiftedStrings(skeleton: Self.skeleton(of: text, replacing: liftedRanges), values: values)
    }

    // MARK: Scanning

    /// What scanning one string literal found.
    private struct LiteralScan {
        /// Offset of the closing quote.
        var closingQuote: Int
        /// Whether the content has a backslash escape.
        var hasEscapes = false
        /// Whether every content byte is in 0x20...0x7F.
        var isPrintableASCII = true

        /// Scans the literal whose content starts at `contentStart`, up to its closing quote.
        /// `nil` when jansson will refuse it: unterminated, a raw control character, an invalid
        /// escape, or a `\u` escape that is not a valid scalar (a lone or misordered surrogate).
        /// Raw bytes from 0x80 up are not checked (jansson validates UTF-8); they only make the
        /// literal not printable ASCII, and from the first one on, the literal will not be lifted
        /// so only quotes and backslashes are looked for (control characters are left to jansson).
        init?(_ base: UnsafeRawPointer, contentStart: Int, end: Int) {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highBits: UInt64 = 0x8080_8080_8080_8080
            let quotes = ones &* UInt64(UInt8(ascii: "\""))
            let backslashes = ones &* UInt64(UInt8(ascii: "\\"))
            let spaces = ones &* 0x20
            var rangeCheck = highBits  // 0 once a byte above 0x7F is seen
            // The high bit of each byte of the eight at `offset` that is a quote, a backslash,
            // below 0x20 or above 0x7F. Each term flags such a byte exactly (borrows only carry
            // above a flagged byte), so the lowest flag is the first byte to look at.
            @inline(__always) func flagsOfWord(at offset: Int) -> UInt64 {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                let quoteBytes = word ^ quotes
                let backslashBytes = word ^ backslashes
                return (((quoteBytes &- ones) & ~quoteBytes) | ((backslashBytes &- ones) & ~backslashBytes)
                    | ((word &- spaces) | word) & rangeCheck) & highBits
            }
            var index = contentStart
            closingQuote = end
            while true {
                // Eight bytes at a time up to the next byte that needs a look.
                while index + 8 <= end {
                    let flags = flagsOfWord(at: index)
                    if flags == 0 {
                        index += 8
                        // A plain word: perhaps a long plain run, checked 32 bytes a round.
                        while index + 32 <= end,
                            flagsOfWord(at: index) | flagsOfWord(at: index + 8) | flagsOfWord(at: index + 16)
                                | flagsOfWord(at: index + 24) == 0
                        {
                            index += 32
                        }
                    } else {
                        index += flags.trailingZeroBitCount >> 3
                        break
                    }
                }
                guard index < end else { return nil }
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                switch byte {
                case UInt8(ascii: "\""):
                    closingQuote = index
                    return
                case UInt8(ascii: "\\"):
                    hasEscapes = true
                    guard let length = Self.validEscapeLength(base, at: index, end: end) else { return nil }
                    index += length
                case 0..<0x20:
                    return nil
                case 0x80...:
                    isPrintableASCII = false
                    rangeCheck = 0
                    index += 1
                default:
                    index += 1
                }
            }
        }

        /// The length of the valid escape starting with the backslash at `index` (2, 6, or 12
        /// for a surrogate pair), or `nil` when jansson refuses it.
        static func validEscapeLength(_ base: UnsafeRawPointer, at index: Int, end: Int) -> Int? {
            guard index + 1 < end else { return nil }
            switch base.load(fromByteOffset: index + 1, as: UInt8.self) {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                return 2
            case UInt8(ascii: "u"):
                guard let unit = StringLifter.hexUnit(base, at: index + 2, end: end) else { return nil }
                switch unit {
                case 0xD800...0xDBFF:
                    guard index + 7 < end,
                        base.load(fromByteOffset: index + 6, as: UInt8.self) == UInt8(ascii: "\\"),
                        base.load(fromByteOffset: index + 7, as: UInt8.self) == UInt8(ascii: "u"),
                        let low = StringLifter.hexUnit(base, at: index + 8, end: end), (0xDC00...0xDFFF).contains(low)
                    else { return nil }
                    return 12
                case 0xDC00...0xDFFF:
                    return nil
                default:
                    return 6
                }
            default:
                return nil
            }
        }
    }

    /// Whether the six bytes at `index` are `\u0000`.
    private static func startsWithNULEscape(_ base: UnsafeRawPointer, at index: Int, end: Int) -> Bool {
        guard index + 6 <= end else { return false }
        // The bytes 5C 75 30 30 and 30 30.
        return base.loadUnaligned(fromByteOffset: index, as: UInt32.self) == UInt32(littleEndian: 0x3030_755C)
            && base.loadUnaligned(fromByteOffset: index + 4, as: UInt16.self) == UInt16(littleEndian: 0x3030)
    }

    /// Whether `byte` is a decimal digit or a backslash (the start of another escape).
    private static func isDigitOrBackslash(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "\\")
    }

    /// Whether the next byte after `closing` that is not JSON whitespace is a colon, making
    /// the literal an object key.
    private static func isFollowedByColon(_ base: UnsafeRawPointer, after closing: Int, end: Int) -> Bool {
        var index = closing + 1
        while index < end {
            switch base.load(fromByteOffset: index, as: UInt8.self) {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                index += 1
            case UInt8(ascii: ":"):
                return true
            default:
                return false
            }
        }
        return false
    }

    /// The UTF-16 code unit written by the four hex digits at `index`, or `nil` when they are
    /// not four hex digits.
    @inline(__always)
    private static func hexUnit(_ base: UnsafeRawPointer, at index: Int, end: Int) -> UInt32? {
        guard index + 4 <= end else { return nil }
        var unit: UInt32 = 0
        for offset in 0..<4 {
            let byte = base.load(fromByteOffset: index + offset, as: UInt8.self)
            let decimal = byte &- UInt8(ascii: "0")
            let letter = (byte | 0x20) &- UInt8(ascii: "a")  // 'A'...'F' and 'a'...'f' give 0...5
            let digit: UInt8
            if decimal < 10 {
                digit = decimal
            } else if letter < 6 {
                digit = letter + 10
            } else {
                return nil
            }
            unit = unit << 4 | UInt32(digit)
        }
        return unit
    }

    // MARK: Decoding and the skeleton

    /// The value of literal content already checked by ``LiteralScan`` (printable ASCII, valid
    /// escapes, paired surrogates). The value is never longer than the content in UTF-8: an
    /// escape of 2 bytes gives 1, of 6 at most 3, a surrogate pair of 12 gives 4.
    private static func decodeEscapedASCII(_ content: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: content.count) { output in
            guard let source = content.baseAddress, let destination = output.baseAddress else { return 0 }
            let end = content.count
            var read = 0
            var written = 0
            while read < end {
                let backslash = next(UInt8(ascii: "\\"), in: source, from: read, end: end)
                if backslash > read {
                    UnsafeMutableRawPointer(destination + written).copyMemory(from: source + read, byteCount: backslash - read)
                    written += backslash - read
                }
                read = backslash
                guard read + 1 < end else { break }
                let escaped = source.load(fromByteOffset: read + 1, as: UInt8.self)
                switch escaped {
                case UInt8(ascii: "b"): output[written] = 0x08
                case UInt8(ascii: "f"): output[written] = 0x0C
                case UInt8(ascii: "n"): output[written] = 0x0A
                case UInt8(ascii: "r"): output[written] = 0x0D
                case UInt8(ascii: "t"): output[written] = 0x09
                case UInt8(ascii: "u"):
                    var scalar = hexUnit(source, at: read + 2, end: end) ?? 0xFFFD
                    read += 6
                    if (0xD800...0xDBFF).contains(scalar) {
                        let low = hexUnit(source, at: read + 2, end: end) ?? 0xDC00
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        read += 6
                    }
                    written += writeUTF8(scalar, to: destination + written)
                    continue
                default: output[written] = escaped  // \" \\ \/
                }
                written += 1
                read += 2
            }
            return written
        }
    }

    /// The offset of the first `target` byte at or after `start`, or `end` when there is none:
    /// eight bytes at a time, without a call per run (runs between quotes or escapes are
    /// often short).
    @inline(__always)
    private static func next(_ target: UInt8, in base: UnsafeRawPointer, from start: Int, end: Int) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let targets = ones &* UInt64(target)
        var index = start
        while index + 8 <= end {
            let differences = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self)) ^ targets
            let flags = (differences &- ones) & ~differences & 0x8080_8080_8080_8080
            if flags != 0 { return index + flags.trailingZeroBitCount >> 3 }
            index += 8
        }
        while index < end, base.load(fromByteOffset: index, as: UInt8.self) != target {
            index += 1
        }
        return index
    }

    /// Writes `scalar` (a valid Unicode scalar value) as UTF-8; returns the byte count.
    private static func writeUTF8(_ scalar: UInt32, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        switch scalar {
        case 0..<0x80:
            destination[0] = UInt8(scalar)
            return 1
        case 0x80..<0x800:
            destination[0] = UInt8(0xC0 | scalar >> 6)
            destination[1] = UInt8(0x80 | scalar & 0x3F)
            return 2
        case 0x800..<0x10000:
            destination[0] = UInt8(0xE0 | scalar >> 12)
            destination[1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            destination[2] = UInt8(0x80 | scalar & 0x3F)
            return 3
        default:
            destination[0] = UInt8(0xF0 | scalar >> 18)
            destination[1] = UInt8(0x80 | scalar >> 12 & 0x3F)
            destination[2] = UInt8(0x80 | scalar >> 6 & 0x3F)
            destination[3] = UInt8(0x80 | scalar & 0x3F)
            return 4
        }
    }

    /// `text` with each range (a whole literal, quotes included, in ascending order) replaced
    /// by the placeholder literal `"\u0000<n>"`, `n` counting the ranges from 0.
    private static func skeleton(of text: UnsafeRawBufferPointer, replacing ranges: [Range<Int>]) -> [UInt8] {
        let liftedBytes = ranges.reduce(0) { $0 + $1.count }
        var skeleton: [UInt8] = []
        skeleton.reserveCapacity(text.count - liftedBytes + ranges.count * 28)
        var copied = 0
        for (number, range) in ranges.enumerated() {
            skeleton.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[copied..<range.lowerBound]))
            skeleton.append(contentsOf: #""\u0000"#.utf8)
            appendDecimal(number, to: &skeleton)
            skeleton.append(UInt8(ascii: "\""))
            copied = range.upperBound
        }
        skeleton.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[copied...]))
        return skeleton
    }

    /// Appends the decimal digits of `number` (not negative).
    private static func appendDecimal(_ number: Int, to bytes: inout [UInt8]) {
        if number >= 10 { appendDecimal(number / 10, to: &bytes) }
        bytes.append(UInt8(ascii: "0") + UInt8(number % 10))
    }
}
