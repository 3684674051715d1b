@testable import CeleryJSON
import Foundation
import Testing

/// The Swift parser for plain JSON must give what jansson alone gives, or decline: every case
/// goes through `StringLifterTests.parseBothWays`, which compares the whole fast path with
/// jansson alone, value or error.
@Suite("Parsing plain JSON in Swift")
struct PlainJSONParserTests {
    static func plain(_ text: String) -> JSONValue? {
        Array(text.utf8).withUnsafeBytes { PlainJSONParser.parse($0, maximumDepth: JSONValue.defaultMaximumDepth) }
    }

    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures")

    @Test("every captured Celery message and result document is read in Swift, exactly as jansson reads it")
    func capturedTraffic() throws {
        var documents: [[UInt8]] = []
        for folder in ["messages", "results"] {
            let directory = Self.fixtures.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() where name.hasSuffix(".json") {
                documents.append(Array(try Data(contentsOf: directory.appendingPathComponent(name))))
            }
        }
        #expect(documents.count >= 40, "fixtures/ is missing; run fixtures/capture.py")
        var bodies = 0
        for document in documents {
            let value = try #require(StringLifterTests.parseBothWays(document))
            // Each body too, when it is base64 JSON (kombu's envelope of a task message).
            if case .string(let encoded)? = value["body"], value["content-type"]?.stringValue == "application/json",
                value["content-encoding"]?.stringValue == "utf-8",
                let body = Base64.decode(Array(encoded.utf8))
            {
                StringLifterTests.parseBothWays(body)
                bodies += 1
            }
        }
        #expect(bodies >= 20)
        // The typical message takes the Swift path, not jansson's.
        let typical = try String(contentsOf: Self.fixtures.appendingPathComponent("messages/delay_simple.json"), encoding: .utf8)
        #expect(Self.plain(typical) != nil)
    }

    @Test("numbers: integers to 18 digits and finite reals in Swift; the rest as jansson decides", arguments: [
        "0", "-0", "7", "-12", "123456789012345678", "-123456789012345678", "1234567890123456789",
        "9223372036854775807", "-9223372036854775808", "99999999999999999999999", "1.5", "-0.0", "0.1",
        "1e5", "1E5", "1e+5", "1e-5", "2.5E-3", "1e-400", "4.9e-324", "1.7976931348623157e308", "1e400", "-1e400",
        "01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "1.5.2", "[1, -2, 3.25, 1e2, 0]", "NaN", "[Infinity]",
    ])
    func numbers(text: String) {
        StringLifterTests.parseBothWays(text)
    }

    @Test("strings: escapes, surrogates and DEL in Swift; NUL, control bytes and non-ASCII as jansson decides", arguments: [
        #""plain""#, #""""#, #""q\" b\\ s\/ \b\f\n\r\t""#, #""\u0041\u00e9\u20AC\ud83d\ude00""#, "\"del\u{7F}\"",
        #""\u0000""#, #""a\u0000b""#, #""\ud83d""#, #""\ude00""#, #""\ud83d\u0041""#, #""\ud83dx""#, #""\u12""#, #""\uZZZZ""#,
        #""\x""#, "\"tab\tinside\"", "\"nl\ninside\"", "\"caf\u{E9}\"", "\"unterminated", #""ends with \""#,
        #"{"k\u00e9y": "v", "k\"q": 1}"#, #"["\u0001", "\u001f"]"#,
    ])
    func strings(text: String) {
        StringLifterTests.parseBothWays(text)
    }

    @Test("structure: what jansson accepts, refuses, or keeps once", arguments: [
        "{}", "[]", " \n\t{ \"a\" : [ 1 , { } , [ ] ] } \r\n", "true", "false", "null", "[true, false, null]",
        "", " ", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a: 1}", "[1 2]", "{\"a\": 1} x", "[", "{", "]", "tru", "nul",
        #"{"a": 1, "a": 2}"#, #"{"a": 1, "b": {"a": 2, "a": 3}}"#, #"{"a": {"b": [1, {"c": null}]}, "d": "e"}"#,
    ])
    func structure(text: String) {
        StringLifterTests.parseBothWays(text)
    }

    @Test("a repeated key is left to jansson, which keeps one member per key")
    func repeatedKey() {
        #expect(Self.plain(#"{"a": 1, "a": 2}"#) == nil)
        #expect(StringLifterTests.parseBothWays(#"{"a": 1, "b": 0, "a": 2}"#)?.objectValue?.count == 2)
    }

    @Test("deep nesting and large objects are left to jansson and its depth checks")
    func limits() throws {
        let deep = String(repeating: "[", count: 70) + String(repeating: "]", count: 70)
        #expect(Self.plain(deep) == nil)
        StringLifterTests.parseBothWays(deep)
        let shallow = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        #expect(Self.plain(shallow) != nil)
        let tooDeep = Array((String(repeating: "{\"a\": ", count: 10) + "1" + String(repeating: "}", count: 10)).utf8)
        tooDeep.withUnsafeBytes { buffer in
            #expect(throws: JSONError.self) { try JSONValue(parsing: buffer, maximumDepth: 5) }
            #expect(throws: JSONError.self) { try JSONValue(parsing: buffer, maximumDepth: 5, swiftFastPaths: false) }
        }
        let members = (0..<100).map { "\"k\($0)\": \($0)" }.joined(separator: ", ")
        #expect(Self.plain("{\(members)}") == nil)
        #expect(StringLifterTests.parseBothWays("{\(members)}")?.objectValue?.count == 100)
    }

    @Test("every truncation and a stray byte anywhere in a real message give what jansson alone gives")
    func damagedMessage() throws {
        let text = Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("messages/delay_simple.json")))
        for cut in 0..<text.count {
            StringLifterTests.parseBothWays(Array(text[..<cut]))
        }
        for position in stride(from: 0, to: text.count, by: 3) {
            for stray in [UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "}"), 0x00, 0x7F, 0xC3] {
                var damaged = text
                damaged.insert(stray, at: position)
                StringLifterTests.parseBothWays(damaged)
            }
        }
    }
}
