import CeleryJSON
import CeleryProtocol
import Foundation
import Testing

@Suite("Codable values to and from Python's JSON")
struct JSONValueCodingTests {
    struct Record: Codable, Equatable {
        var when: Date
        var id: UUID
        var amount: Decimal
        var blob: Data
        var counts: [String: Int]
        var note: String?
    }

    @Test("kombu's typed values, as Python's kombu writes them, decode into Foundation types")
    func decodesKombuTypedValues() throws {
        // json.dumps(..., cls=kombu's JSONEncoder) of datetime, UUID, Decimal and bytes values.
        let python = try JSONValue(parsing: """
            {"when": {"__type__": "datetime", "__value__": "2030-01-02T03:04:05.678901+00:00"}, \
            "id": {"__type__": "uuid", "__value__": {"hex": "12345678123456781234567812345678"}}, \
            "amount": {"__type__": "decimal", "__value__": "3.14159265358979323846"}, \
            "blob": {"__type__": "bytes", "__value__": "utf8 bytes"}, "counts": {"a": 1}, "note": null}
            """)
        let record = try JSONValueDecoder().decode(Record.self, from: python)
        #expect(record.when == Date(timeIntervalSince1970: 1_893_553_445.678901))
        #expect(record.id == UUID(uuidString: "12345678-1234-5678-1234-567812345678"))
        #expect(record.amount == Decimal(string: "3.14159265358979323846"))
        #expect(record.blob == Data("utf8 bytes".utf8))
        #expect(record.counts == ["a": 1] && record.note == nil)
        // And back: the same typed objects Python decodes.
        let encoded = try JSONValueEncoder().encode(record)
        #expect(encoded["id"] == python["id"] && encoded["amount"] == python["amount"] && encoded["blob"] == python["blob"])
        #expect(encoded["when"] == python["when"])
        #expect(try JSONValueDecoder().decode(Record.self, from: encoded) == record)
    }

    @Test("mismatches name what Python sent")
    func mismatches() {
        #expect(throws: DecodingError.self) { try JSONValueDecoder().decode(Int.self, from: "one") }
        #expect(throws: DecodingError.self) { try JSONValueDecoder().decode(Int.self, from: 1.5) }
        #expect(throws: DecodingError.self) { try JSONValueDecoder().decode(Int8.self, from: 300) }
        #expect(throws: DecodingError.self) { try JSONValueDecoder().decode(Int.self, from: .bigInteger("99999999999999999999")) }
        #expect(throws: DecodingError.self) { try JSONValueDecoder().decode(Bool.self, from: 1) }
    }

    @Test("integers beyond 64 bits stay exact in and out")
    func bigIntegers() throws {
        #expect(try JSONValueEncoder().encode(UInt64.max) == .bigInteger("18446744073709551615"))
        #expect(try JSONValueDecoder().decode(UInt64.self, from: .bigInteger("18446744073709551615")) == .max)
        #expect(try JSONValueDecoder().decode(JSONValue.self, from: .bigInteger("-1" + String(repeating: "0", count: 30)))
            == .bigInteger("-1" + String(repeating: "0", count: 30)))
    }
}
