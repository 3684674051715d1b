import CeleryJSON
import CeleryProtocol
import Foundation
import Testing

@Suite("Queue keys")
struct QueueKeyTests {
    @Test("priorities map to kombu's steps", arguments: [
        (0, "celery"), (1, "celery"), (2, "celery"), (3, "celery\u{06}\u{16}3"), (5, "celery\u{06}\u{16}3"),
        (6, "celery\u{06}\u{16}6"), (9, "celery\u{06}\u{16}9"), (10, "celery\u{06}\u{16}9"), (-1, "celery"),
    ])
    func priorityKeys(priority: Int, key: String) {
        #expect(QueueKeys.key(queue: "celery", priority: priority) == key)
        #expect(QueueKeys.queue(fromKey: key) == "celery")
    }

    @Test("binding members read and written as kombu's queue_bind stores them")
    func bindingMembers() throws {
        // As captured from kombu 5.7: SMEMBERS _kombu.binding.tasksx after declaring Queue('hi', Exchange('tasksx'), 'hi.key').
        let captured = Array("hi.key\u{06}\u{16}\u{06}\u{16}hi".utf8)
        #expect(Array(QueueKeys.bindingMember(routingKey: "hi.key", queue: "hi").utf8) == captured)
        let binding = try #require(QueueKeys.binding(fromMember: captured))
        #expect(binding.routingKey == "hi.key" && binding.pattern == "" && binding.queue == "hi")
        #expect(QueueKeys.binding(fromMember: Array("no separators".utf8)) == nil)
        #expect(QueueKeys.bindingKey(exchange: "tasksx") == "_kombu.binding.tasksx")
        #expect(QueueKeys.permanentBindingKey(exchange: "tasksx") == "_kombu.binding_permanent.tasksx")
    }
}

@Suite("ISO-8601 times")
struct CeleryTimeTests {
    @Test("isoformat matches Python's datetime.isoformat")
    func format() {
        #expect(CeleryTime.isoformat(Date(timeIntervalSince1970: 1_893_553_445.678901)) == "2030-01-02T03:04:05.678901+00:00")
        #expect(CeleryTime.isoformat(Date(timeIntervalSince1970: 1_893_456_000)) == "2030-01-01T00:00:00+00:00")
    }

    @Test("aware, offset and naive forms parse", arguments: [
        ("2030-01-02T03:04:05.678901+00:00", 1_893_553_445.678901, false),
        ("2030-01-02T05:04:05+02:00", 1_893_553_445, false), ("2030-01-02T03:04:05", 1_893_553_445, true),
        ("2030-01-02T03:04:05Z", 1_893_553_445, false),
    ])
    func parse(text: String, seconds: Double, naive: Bool) throws {
        let parsed = try #require(CeleryTime.parse(text))
        #expect(abs(parsed.date.timeIntervalSince1970 - seconds) < 1e-5)
        #expect(parsed.isNaive == naive)
    }

    @Test("garbage does not parse", arguments: ["tomorrow", "2030-13-01T00:00:00", "2030-01-02T03:04:05+", ""])
    func garbage(text: String) {
        #expect(CeleryTime.parse(text) == nil)
    }
}

@Suite("Python repr")
struct PythonReprTests {
    @Test("values print as Python prints them")
    func reprs() {
        #expect(PythonRepr.tupleRepr([1, 2]) == "(1, 2)")
        #expect(PythonRepr.tupleRepr([7]) == "(7,)")
        #expect(PythonRepr.tupleRepr([]) == "()")
        #expect(PythonRepr.repr(["a": [nil, true, 1.5]]) == "{'a': [None, True, 1.5]}")
        #expect(PythonRepr.stringRepr("it's") == "\"it's\"")
        #expect(PythonRepr.stringRepr("a\nb") == "'a\\nb'")
        #expect(PythonRepr.stringRepr("Zoë 😀") == "'Zoë 😀'")
    }
}

@Suite("Malformed envelopes")
struct MalformedEnvelopeTests {
    static let good = #"{"body": "W1sxLCAyXSwge30sIHsiY2FsbGJhY2tzIjogbnVsbCwgImVycmJhY2tzIjogbnVsbCwgImNoYWluIjogbnVsbCwgImNob3JkIjogbnVsbH1d", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"lang": "py", "task": "capmod.add", "id": "9ad875b0", "retries": 0, "eta": null}, "properties": {"delivery_info": {"exchange": "", "routing_key": "celery"}, "priority": 0, "body_encoding": "base64", "delivery_tag": "t1"}}"#

    @Test("the reference envelope decodes")
    func referenceDecodes() throws {
        let message = try TaskMessage(envelope: Array(Self.good.utf8))
        #expect(message.args == [1, 2])
    }

    @Test("each defect is named", arguments: [
        ("not json", "", ProtocolError.Code.malformedEnvelope),
        ("[1, 2]", "", .malformedEnvelope),
        (#"{"content-type": "application/json", "properties": {"delivery_tag": "t"}, "headers": {}}"#, "body", .missingField),
        (good.replacingOccurrences(of: "\"W1sx", with: "\"!!!!"), "body", .malformedBody),
        (good.replacingOccurrences(of: "\"task\": \"capmod.add\", ", with: "\"task\": 5, "), "headers.task", .invalidField),
        (good.replacingOccurrences(of: "\"id\": \"9ad875b0\", ", with: ""), "headers.id", .missingField),
        (good.replacingOccurrences(of: "\"retries\": 0", with: "\"group\": 5"), "headers.group", .invalidField),
        (good.replacingOccurrences(of: "\"eta\": null", with: "\"eta\": \"soon\""), "headers.eta", .invalidField),
        (good.replacingOccurrences(of: "application/json", with: "application/x-python-serialize"), "content-type", .refusedContentType),
        (good.replacingOccurrences(of: "\"delivery_tag\": \"t1\"", with: "\"x\": 1"), "properties.delivery_tag", .missingField),
    ])
    func defect(text: String, field: String, code: ProtocolError.Code) throws {
        let error = try #require(throws: ProtocolError.self) { try TaskMessage(envelope: Array(text.utf8)) }
        #expect(error.code == code)
        #expect((error.field ?? "") == field)
        #expect(error.rawMessage == Array(text.utf8))
    }

    @Test("oversized messages are refused before parsing")
    func tooLarge() throws {
        let options = MessageDecodingOptions(maximumMessageSize: 100)
        let error = try #require(throws: ProtocolError.self) { try TaskMessage(envelope: Array(Self.good.utf8), options: options) }
        #expect(error.code == .tooLarge)
    }
}
