@testable import CeleryJSON
import Testing

/// Large string literals are decoded in Swift and jansson parses a skeleton; every result,
/// value or error, must be what jansson alone gives (`swiftFastPaths: false`).
@Suite("Lifting large strings out before jansson")
struct StringLifterTests {
    /// A run of `unit` of at least `bytes` bytes (two of the default make a text long enough to scan).
    static func long(_ unit: String, bytes: Int = 1100) -> String {
        String(repeating: unit, count: bytes / unit.utf8.count + 1)
    }

    /// Parses `text` with and without lifting; both must give the same value or the same error.
    /// Returns the value, or `nil` after an error; `lifts` is how many literals were lifted.
    @discardableResult
    static func parseBothWays(
        _ text: String, lifts expectedLifts: Int? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) -> JSONValue? {
        parseBothWays(Array(text.utf8), lifts: expectedLifts, sourceLocation: sourceLocation)
    }

    /// ``parseBothWays(_:lifts:sourceLocation:)-(String,_,_)`` for raw bytes (invalid UTF-8 included).
    @discardableResult
    static func parseBothWays(
        _ bytes: [UInt8], lifts expectedLifts: Int? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) -> JSONValue? {
        bytes.withUnsafeBytes { buffer in
            if let expectedLifts {
                #expect((StringLifter.lift(buffer)?.values.count ?? 0) == expectedLifts, sourceLocation: sourceLocation)
            }
            let depth = JSONValue.defaultMaximumDepth
            let lifted = Result { try JSONValue(parsing: buffer, maximumDepth: depth, swiftFastPaths: true) }
            let plain = Result { try JSONValue(parsing: buffer, maximumDepth: depth, swiftFastPaths: false) }
            switch (lifted, plain) {
            case (.success(let liftedValue), .success(let plainValue)):
                // pythonJSONString tells NaN apart exactly, where == does not.
                #expect(liftedValue.pythonJSONString() == plainValue.pythonJSONString(), sourceLocation: sourceLocation)
                return liftedValue
            case (.failure(let liftedError), .failure(let plainError)):
                #expect(liftedError as? JSONError == plainError as? JSONError, sourceLocation: sourceLocation)
                return nil
            default:
                Issue.record("lifting gave \(lifted), jansson alone \(plain)", sourceLocation: sourceLocation)
                return nil
            }
        }
    }

    @Test("a 100 KB echo body is lifted and read exactly")
    func echoBody() throws {
        let payload = String(repeating: "x", count: 102_400)
        let text = #"[["\#(payload)"], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]"#
        let value = try #require(Self.parseBothWays(text, lifts: 1))
        #expect(value == [[.string(payload)], .object(JSONObject()), ["callbacks": nil, "errbacks": nil, "chain": nil, "chord": nil]])
        #expect(value.pythonJSONString() == text)
    }

    @Test("every escape decodes as jansson decodes it")
    func escapes() throws {
        let escaped = #"tab\t nl\n cr\r bs\b ff\f q\" bsl\\ sl\/ e\u00e9 E\u00C9 euro\u20ac a\u0041 del\u007f nul\u0000 smile\ud83d\ude00 SMILE\uD83D\uDE00 end"#
        let decoded = "tab\t nl\n cr\r bs\u{8} ff\u{c} q\" bsl\\ sl/ eé EÉ euro€ aA del\u{7f} nul\u{0} smile😀 SMILE😀 end"
        let count = 40
        let text = #"{"a": ["\#(String(repeating: escaped, count: count))"], "b": "\#(Self.long("plain "))"}"#
        let value = try #require(Self.parseBothWays(text, lifts: 2))
        #expect(value["a"] == [.string(String(repeating: decoded, count: count))])
        #expect(value["b"] == .string(Self.long("plain ")))
        // Escapes cut by the 512-byte threshold, and a string that is one escape after another.
        Self.parseBothWays(#"["\#(String(repeating: #"\ud83d\ude00"#, count: 200))", "\#(String(repeating: "\\\\", count: 2000))"]"#, lifts: 2)
    }

    @Test("several large strings, as elements and member values, nested, each keep their place")
    func manyStrings() throws {
        let strings = (0..<12).map { index in Self.long("s\(index)-", bytes: 512 + index * 100) }
        let text = #"{"list": ["\#(strings[0])", 1, "\#(strings[1])", ["\#(strings[2])", {"deep": "\#(strings[3])"}]], "#
            + #""short": "not lifted", "more": {"x": "\#(strings[4])", "y": [[["\#(strings[5])"]]]}, "#
            + #""rest": [\#(strings[6...].map { "\"\($0)\"" }.joined(separator: ",\n  "))]}"#
        let value = try #require(Self.parseBothWays(text, lifts: 12))
        #expect(value["list"] == [.string(strings[0]), 1, .string(strings[1]), [.string(strings[2]), ["deep": .string(strings[3])]]])
        #expect(value["short"] == "not lifted")
        #expect(value["more"] == ["x": .string(strings[4]), "y": [[[.string(strings[5])]]]])
        #expect(value["rest"] == .array(strings[6...].map(JSONValue.string)))
        #expect(value.objectValue?.keys == ["list", "short", "more", "rest"])
    }

    @Test("a literal just under 512 bytes stays with jansson, one of 512 is lifted")
    func threshold() {
        let padding = Self.long("p", bytes: 3000)  // as a key: never lifted
        Self.parseBothWays(#"["\#(String(repeating: "a", count: 511))", 1, "\#(String(repeating: "b", count: 511))", {"\#(padding)": 0}]"#, lifts: 0)
        Self.parseBothWays(#"["\#(String(repeating: "a", count: 512))", 1, "\#(String(repeating: "b", count: 2000))"]"#, lifts: 2)
        // Text under 2 KiB is not scanned at all.
        Self.parseBothWays(#"["\#(String(repeating: "a", count: 1000))"]"#, lifts: 0)
    }

    @Test("large object keys are not lifted and still parse")
    func largeKeys() throws {
        let key = Self.long("key ")
        let value = try #require(Self.parseBothWays(#"{"\#(key)": "\#(Self.long("v"))", "\#(key)x" \#n\#t : 1}"#, lifts: 1))
        #expect(value.objectValue?.keys == [key, key + "x"])
        #expect(value[key] == .string(Self.long("v")))
    }

    @Test("strings jansson refuses or that need its UTF-8 handling behave as before", arguments: [
        #"\ud800 lone high"#, #"\udc00 lone low"#, #"\ud83d\u0041 high then not low"#, #"\ud83dx high at the end"#,
        "raw control \u{1} char", "raw tab \t char", "raw non-ASCII é 😀", #"\x bad escape"#, #"\u12G4 bad hex"#,
    ])
    func refusedOrNonASCII(inner: String) throws {
        let text = #"["\#(Self.long("a"))", "\#(Self.long("b"))\#(inner)\#(Self.long("c"))", "\#(Self.long("d"))"]"#
        let value = Self.parseBothWays(text, lifts: inner.hasPrefix("raw non-ASCII") ? 2 : 0)
        #expect((value == nil) == !inner.hasPrefix("raw non-ASCII"))
    }

    @Test("the errors are jansson's own, positions in the original text")
    func errorMessages() throws {
        let big = Self.long("big")
        Self.parseBothWays(#"["\#(big)", "\#(big)", 1,]"#)
        Self.parseBothWays(#"["\#(big)" "\#(big)"]"#)
        Self.parseBothWays(#"["\#(big)", "\#(big)"#)
        Self.parseBothWays(#"["\#(big)", "\#(big)"] x"#)
        Self.parseBothWays(#"{"a": "\#(big)", "b" "\#(big)"}"#)
        Self.parseBothWays(#"["\#(big)", "\#(big)": 1]"#)
        Self.parseBothWays(#"["\#(big)", NaN, "\#(big)", nope]"#)
        #expect {
            try JSONValue(parsing: #"["\#(big)", "\#(big)", 1,]"#)
        } throws: { error in
            (error as? JSONError)?.message == "unexpected token near ']' (line 1, column \(2 * big.count + 12))"
        }
        let deep = String(repeating: "[", count: 300) + "\"\(big)\"" + String(repeating: "]", count: 300)
        #expect(throws: JSONError(code: .tooDeep, message: "JSON nests deeper than 256 levels")) { try JSONValue(parsing: deep) }
    }

    @Test("Python's NaN, Infinity and big integers next to large strings")
    func pythonTokens() throws {
        let big = Self.long("p")
        let text = #"["\#(big)", NaN, -Infinity, 123456789012345678901234567890, "\#(big)"]"#
        // The retry with the tokens rewritten into marked strings (NUL, then a letter) lifts too.
        let rewritten = try #require(Array(text.utf8).withUnsafeBytes { PythonTokenRewriter.rewrite($0) })
        #expect(rewritten.withUnsafeBytes { StringLifter.lift($0)?.values.count } == 2)
        let value = try #require(Self.parseBothWays(text, lifts: 2))
        #expect(value.arrayValue?[1].doubleValue?.isNaN == true)
        #expect(value.arrayValue?[2] == .double(-.infinity))
        #expect(value.arrayValue?[3] == .bigInteger("123456789012345678901234567890"))
        #expect(value.arrayValue?[4] == .string(big))
    }

    @Test("strings that look like placeholders read as themselves")
    func placeholderLookalikes() throws {
        #expect(try JSONValue(parsing: #""\u00001""#) == .string("\u{0}1"))
        let big = Self.long("q")
        // A value that could read as a placeholder turns lifting off for the whole text.
        for lookalike in [#"\u00000"#, #"\u00001"#, #"\u0000\u0031"#, #"\u000012345"#] {
            let value = try #require(Self.parseBothWays(#"["\#(big)", "\#(lookalike)", "\#(big)"]"#, lifts: 0))
            #expect(value.arrayValue?[0] == .string(big))
            #expect(value.arrayValue?[1].stringValue?.hasPrefix("\u{0}") == true)
            #expect(value.arrayValue?[2] == .string(big))
        }
        // A NUL that cannot: lifting goes on.
        let value = try #require(Self.parseBothWays(#"["\#(big)", "\u0000", "a\u00001", "\u0000x", "\#(big)\u00001"]"#, lifts: 2))
        #expect(value == [.string(big), "\u{0}", "a\u{0}1", "\u{0}x", .string(big + "\u{0}1")])
    }

    @Test("every truncation and a stray byte anywhere give what jansson alone gives")
    func damagedTexts() {
        let big = Self.long("z")
        let text = Array(#"{"k": ["\#(big)", "e\u00e9\ud83d\ude00\n\#(big)", {"n": [1, 2.5, null]}], "\#(big)": "\#(big)"}"#.utf8)
        for cut in stride(from: 0, to: text.count, by: 5) {
            Self.parseBothWays(Array(text[..<cut]))
        }
        for position in stride(from: 0, to: text.count, by: 17) {
            for stray in [UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: ","), UInt8(ascii: ":"), 0x00, 0x0A, 0xFF] {
                var damaged = text
                damaged.insert(stray, at: position)
                Self.parseBothWays(damaged)
            }
        }
    }

    @Test("invalid UTF-8 outside the lifted strings is still refused")
    func invalidUTF8() {
        let big = Array(Self.long("u").utf8)
        let text: [UInt8] = [0x5B, 0x22] + big + [0x22, 0x2C, 0x22, 0xFF, 0xFE, 0x22, 0x2C, 0x22] + big + [0x22, 0x5D]
        #expect(Self.parseBothWays(text, lifts: 2) == nil)
    }
}
