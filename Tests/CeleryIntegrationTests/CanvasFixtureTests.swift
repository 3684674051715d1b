@testable import Celery
import CeleryProtocol
import Foundation
import Testing

/// Swift-built canvas against what Python's canvas builds and publishes for the same
/// composition: the serialized signatures (as `json.dumps(sig)` prints them in Celery 5.7) and
/// the messages in `fixtures/messages` (captured by `fixtures/capture.py`).
@Suite("Canvas built in Swift is Celery's canvas", .serialized, .timeLimit(.minutes(1)))
struct CanvasFixtureTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/messages")

    static func task(_ name: String, _ args: JSONValue...) -> Signature { Signature(name, args: args) }

    @Test("builders serialize as Python's chain, group and chord signatures")
    func serializedSignatures() throws {
        // Printed by: json.dumps(chain(s('t.a', 1), s('t.b', 2))) and the like, Celery 5.7.0.
        let a = Self.task("t.a", 1), b = Self.task("t.b", 2), c = Self.task("t.c")
        #expect(Signature.chain([a, b]).jsonValue.pythonJSONString() == """
            {"task": "celery.chain", "args": [], "kwargs": {"tasks": [{"task": "t.a", "args": [1], "kwargs": {}, "options": {}, "subtask_type": null, "immutable": false}, {"task": "t.b", "args": [2], "kwargs": {}, "options": {}, "subtask_type": null, "immutable": false}]}, "options": {}, "subtask_type": "chain", "immutable": false}
            """)
        #expect(Signature.group([a, b]).jsonValue.pythonJSONString() == """
            {"task": "celery.group", "args": [], "kwargs": {"tasks": [{"task": "t.a", "args": [1], "kwargs": {}, "options": {}, "subtask_type": null, "immutable": false}, {"task": "t.b", "args": [2], "kwargs": {}, "options": {}, "subtask_type": null, "immutable": false}]}, "options": {}, "subtask_type": "group", "immutable": false}
            """)
        #expect(Signature.chord([a, b], body: c).jsonValue.pythonJSONString() == """
            {"task": "celery.chord", "args": [], "kwargs": {"kwargs": {}, "header": [{"task": "t.a", "args": [1], "kwargs": {}, "options": {}, "subtask_type": null, "immutable": false}, {"task": "t.b", "args": [2], "kwargs": {}, "options": {}, "subtask_type": null, "immutable": false}], "body": {"task": "t.c", "args": [], "kwargs": {}, "options": {}, "subtask_type": null, "immutable": false}}, "options": {}, "subtask_type": "chord", "immutable": false}
            """)
        #expect(a.setting(["queue": "q"]).jsonValue.pythonJSONString() == """
            {"task": "t.a", "args": [1], "kwargs": {}, "options": {"queue": "q"}, "subtask_type": null, "immutable": false}
            """)
        let linked = Self.task("capmod.add").linking(Self.task("capmod.mul", 10)).linkingError(Self.task("capmod.mul", 0, 0).immutableSignature())
        #expect(linked.options["link"] == .array([Self.task("capmod.mul", 10).jsonValue]))
        #expect(linked.options["link_error"]?.arrayValue?.first?["immutable"] == .bool(true))
    }

    @Test("published chain, group, chord and link messages match Python's captured ones", arguments: [
        "chain", "group", "chord", "link_link_error",
    ])
    func publishedMessages(fixture: String) async throws {
        let queue = TestRedis.uniqueQueue("canvas-\(fixture)")
        let client = try CeleryClient(configuration: CeleryConfiguration(brokerURL: try TestRedis.url, defaultQueue: queue))
        defer { client.close() }
        let add = { (args: JSONValue...) in Signature("capmod.add", args: args) }
        let mul = { (args: JSONValue...) in Signature("capmod.mul", args: args) }
        switch fixture {
        case "chain": try await client.apply(.chain([add(1, 2), mul(3), mul(4)]))
        case "group": try await client.applyGroup(.group([add(1, 1), add(2, 2), add(3, 3)]))
        case "chord": try await client.apply(.chord([add(1, 1), add(2, 2)], body: Signature("capmod.tsum")))
        default: try await client.apply(add(2, 2).linking(mul(10)).linkingError(mul(0, 0).immutableSignature()))
        }
        let published = try await client.peek(queue: queue, limit: 10).map { try TaskMessage(envelope: $0.raw) }
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path)
            .filter { $0 == "\(fixture).json" || ($0.hasPrefix("\(fixture).") && $0.hasSuffix(".json")) }.sorted()
        let captured = try files.map { try TaskMessage(envelope: Array(Data(contentsOf: Self.fixtures.appendingPathComponent($0)))) }
        try #require(published.count == captured.count, "\(published.count) messages published, Python published \(captured.count)")
        for (swift, python) in zip(published, captured) {
            #expect(Self.shape(swift) == Self.shape(python))
        }
    }

    /// A message with what differs from run to run (ids, the publisher's name) replaced.
    static func shape(_ message: TaskMessage) -> String {
        let value = JSONValue.object(JSONObject([
            ("headers", .object(message.headers.object)), ("args", .array(message.args)), ("kwargs", .object(message.kwargs)),
            ("embed", .object(message.embed)),
        ]))
        return normalized(value).pythonJSONString()
    }

    static func normalized(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text) where text.count == 36 && text.filter({ $0 == "-" }).count == 4: return "<uuid>"
        case .string(let text) where text.hasPrefix("gen") && text.contains("@"): return "<origin>"
        case .array(let items): return .array(items.map(normalized))
        case .object(let object): return .object(JSONObject(object.map { ($0.key, normalized($0.value)) }))
        default: return value
        }
    }
}
