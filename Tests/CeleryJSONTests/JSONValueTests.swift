import CeleryJSON
import Testing

@Suite("Parsing through jansson")
struct JSONParsingTests {
    @Test("standard values keep their types and object order")
    func standardValues() throws {
        let value = try JSONValue(parsing: #"{"b": [1, -2.5, "x", true, false, null], "a": {}}"#)
        #expect(value.objectValue?.keys == ["b", "a"])
        #expect(value["b"] == [1, -2.5, "x", true, false, nil])
        #expect(value["a"] == .object(JSONObject()))
    }

    @Test("documents larger than the parse arena, and many in a row on one thread, parse the same")
    func parseArena() throws {
        // A top-level string of 200 KB fills the 64 KiB arena before its root is allocated; a
        // failed parse and a nested-free sequence follow. Each must leave the next parse intact.
        let big = String(repeating: "é0123456789", count: 20_000)
        for _ in 0..<3 {
            #expect(try JSONValue(parsing: "\"\(big)\"") == .string(big))
            #expect(throws: JSONError.self) { try JSONValue(parsing: #"{"a": [1, 2"#) }
            let objects = try (0..<200).map { index in try JSONValue(parsing: #"{"i": \#(index), "s": "\#(big.prefix(index))"}"#) }
            for (index, object) in objects.enumerated() {
                #expect(object["i"] == .integer(Int64(index)))
                #expect(object["s"] == .string(String(big.prefix(index))))
            }
        }
    }

    @Test("Python's NaN and Infinity tokens are read")
    func specialFloats() throws {
        let value = try JSONValue(parsing: "[NaN, Infinity, -Infinity, 1.5]")
        let numbers = try #require(value.arrayValue)
        #expect(numbers[0].doubleValue?.isNaN == true)
        #expect(numbers[1] == .double(.infinity))
        #expect(numbers[2] == .double(-.infinity))
        #expect(numbers[3] == .double(1.5))
    }

    @Test("integers beyond 64 bits stay exact", arguments: [
        "9223372036854775808", "-9223372036854775809", "1180591620717411303424",
    ])
    func bigIntegers(text: String) throws {
        let value = try JSONValue(parsing: "[\(text), 1]")
        #expect(value.arrayValue?[0] == .bigInteger(text))
        #expect(value.pythonJSONString() == "[\(text), 1]")
    }

    @Test("64-bit limits stay integers")
    func integerLimits() throws {
        #expect(try JSONValue(parsing: "9223372036854775807") == .integer(.max))
        #expect(try JSONValue(parsing: "-9223372036854775808") == .integer(.min))
    }

    @Test("strings that look like the rewrite tokens are left alone")
    func tokenLookalikes() throws {
        let value = try JSONValue(parsing: #"["NaN", "Infinity", "12345678901234567890", NaN]"#)
        #expect(value.arrayValue?[0] == "NaN")
        #expect(value.arrayValue?[1] == "Infinity")
        #expect(value.arrayValue?[2] == "12345678901234567890")
    }

    @Test("surrogate pairs and NUL decode to the right scalars")
    func unicodeEscapes() throws {
        let value = try JSONValue(parsing: #""\ud83d\ude00 caf\u00e9 \u0000""#)
        #expect(value == .string("😀 café \u{0}"))
    }

    @Test("malformed text is a syntax error naming the position", arguments: [
        "{", "[1,]", "{\"a\" 1}", "nul", "", "\"\\ud800\"", "[1] x",
    ])
    func malformed(text: String) {
        #expect(throws: JSONError.self) { try JSONValue(parsing: text) }
    }

    @Test("nesting deeper than the limit is refused")
    func depthLimit() throws {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(throws: JSONError.self) { try JSONValue(parsing: deep, maximumDepth: 256) }
        let allowed = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        _ = try JSONValue(parsing: allowed, maximumDepth: 256)
    }

    @Test("invalid UTF-8 is refused")
    func invalidUTF8() {
        #expect(throws: JSONError.self) { try JSONValue(parsing: [0x22, 0xFF, 0xFE, 0x22]) }
    }
}

@Suite("Writing Python's json.dumps format")
struct PythonJSONWriterTests {
    @Test("separators, ASCII escapes and key order match Python")
    func pythonFormat() {
        let value: JSONValue = ["z": [1, "é😀\u{7f}\t\"\\/"], "a": nil]
        #expect(value.pythonJSONString() == #"{"z": [1, "\u00e9\ud83d\ude00\u007f\t\"\\/"], "a": null}"#)
    }

    @Test("floats use Python's repr", arguments: [
        (0.1, "0.1"), (1.5, "1.5"), (-0.0, "-0.0"), (1e100, "1e+100"), (1e16, "1e+16"), (1e15, "1000000000000000.0"),
        (1e-5, "1e-05"), (0.0001, "0.0001"), (123456789.123, "123456789.123"), (100.0, "100.0"),
        (1.2345678901234568e+17, "1.2345678901234568e+17"), (Double.leastNonzeroMagnitude, "5e-324"), (2.5e-7, "2.5e-07"),
    ])
    func floatRepr(value: Double, expected: String) {
        #expect(PythonFloat.repr(value) == expected)
        #expect(JSONValue.double(value).pythonJSONString() == expected)
    }

    @Test("special floats are written as Python writes them")
    func specialFloats() {
        #expect(JSONValue.array([.double(.nan), .double(.infinity), .double(-.infinity)]).pythonJSONString()
            == "[NaN, Infinity, -Infinity]")
    }

    @Test("kombu typed values round-trip")
    func typedValues() throws {
        let values: [KombuTypedValue] = [
            .datetime("2030-01-02T03:04:05.678901+00:00"), .date("2030-01-02"), .time("03:04:05.000006"),
            .uuid(hex: "12345678123456781234567812345678"), .decimal("3.14159265358979323846"),
            .bytes(Array("raw".utf8)), .bytes([0xFF, 0x00, 0xFE]),
        ]
        for typed in values {
            let json = JSONValue(typed)
            #expect(json.kombuTypedValue == typed)
            #expect(try JSONValue(parsing: json.pythonJSONBytes()).kombuTypedValue == typed)
        }
        #expect(JSONValue(KombuTypedValue.bytes([0xFF, 0x00, 0xFE])).pythonJSONString()
            == #"{"__type__": "base64", "__value__": "/wD+"}"#)
        #expect(JSONValue(KombuTypedValue.uuid(hex: "12345678123456781234567812345678")).pythonJSONString()
            == #"{"__type__": "uuid", "__value__": {"hex": "12345678123456781234567812345678"}}"#)
    }

    @Test("base64 matches Python's and rejects bad input")
    func base64() {
        #expect(String(decoding: Base64.encode(Array("any carnal pleas".utf8)), as: UTF8.self) == "YW55IGNhcm5hbCBwbGVhcw==")
        #expect(Base64.decode(Array("YW55IGNhcm5hbCBwbGVhcw==".utf8)) == Array("any carnal pleas".utf8))
        #expect(Base64.decode(Array("YW55=GNh".utf8)) == nil)
        #expect(Base64.decode(Array("YW5".utf8)) == nil)
        #expect(Base64.decode(Array("!!!!".utf8)) == nil)
        #expect(Base64.decode(Array("AB=C".utf8)) == nil)
        #expect(Base64.decode(Array("A=B=".utf8)) == nil)
        var generator = SystemRandomNumberGenerator()
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = Base64.encode(bytes)
            #expect(Base64.decode(text) == bytes)
            guard !text.isEmpty else { continue }
            var corrupted = text
            corrupted[Int.random(in: 0..<(text.count - 2), using: &generator)] = UInt8(ascii: "*")
            #expect(Base64.decode(corrupted) == nil)
        }
    }

    @Test("strings of any length are escaped byte for byte as Python's json.dumps escapes them")
    func stringEscapingAtEveryOffset() {
        // A reference that judges every byte on its own, against the writer's eight-at-a-time scan.
        func reference(_ text: String) -> String {
            var out = "\""
            for unit in text.utf16 {
                switch unit {
                case 0x22: out += "\\\""
                case 0x5C: out += "\\\\"
                case 0x0A: out += "\\n"
                case 0x0D: out += "\\r"
                case 0x09: out += "\\t"
                case 0x08: out += "\\b"
                case 0x0C: out += "\\f"
                case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
                default: out += "\\u" + String(repeating: "0", count: 4 - String(unit, radix: 16).count) + String(unit, radix: 16)
                }
            }
            return out + "\""
        }
        let pieces: [String] = ["a", "Z", " ", "~", "\"", "\\", "\n", "\u{7F}", "\u{01}", "é", "€", "😀", "/"]
        var generator = SystemRandomNumberGenerator()
        for length in 0..<120 {
            let text = (0..<length).map { _ in pieces.randomElement(using: &generator)! }.joined()
            #expect(JSONValue.string(text).pythonJSONString() == reference(text))
            let plain = String(repeating: "x", count: length) + "\u{7F}" + String(repeating: "y", count: length % 9)
            #expect(JSONValue.string(plain).pythonJSONString() == reference(plain))
        }
    }
}
