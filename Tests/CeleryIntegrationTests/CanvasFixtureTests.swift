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

    @Test("a chord header is sized and unrolled as Celery's chord._descend and group._freeze_unroll do")
    func chordHeaderSizeAndUnrolling() {
        let (a, b, c, d) = (Self.task("t.a"), Self.task("t.b"), Self.task("t.c"), Self.task("t.d"))
        let (e, f, g, h) = (Self.task("t.e"), Self.task("t.f"), Self.task("t.g"), Self.task("t.h"))
        func size(_ header: [Signature]) -> Int { header.reduce(0) { $0 + $1.chordSizeContribution } }
        // Printed by chord(header, s('t.z')).__length_hint__(), Celery 5.7.0: 3 and 6.
        #expect(size([a, .chain([b, .group([c, d])])]) == 3)
        #expect(size([.group([a, b]), .chain([c, .chord([d], body: .group([e, f, g]))]), .chain([h, .group([])])]) == 6)
        // group(a, group(b, c), d).freeze() leaves its tasks as [a, c, b, d] (deque.extendleft).
        #expect(CanvasPublisher.unrolledGroupMembers([a, .group([b, c]), d]).map(\.task) == ["t.a", "t.c", "t.b", "t.d"])
        // A group ending a chain in a header reports to the chord: its members carry the
        // chord's group id and body, and the saved header tuple nests its result.
        let member = Signature.chain([a, .group([b, c])]).frozenIntoChordHeader(
            groupID: "g", groupIndex: 1, chord: d, replyTo: "r")
        let group = member.chainSteps[1]
        #expect(group.options["group_id"] == "g" && group.options["group_index"] == 1 && group.options["chord"] == d.jsonValue)
        #expect(group.chainSteps.map { $0.options["group_id"] } == ["g", "g"])
        #expect(group.chainSteps.map { $0.options["group_index"] } == [0, 1])
        let ids = (member.chainSteps[0].taskID ?? "", group.taskID ?? "", group.chainSteps.map { $0.taskID ?? "" })
        #expect(member.frozenResultTuple == [
            [.string(ids.1), [[.string(ids.0), nil], nil]], [[[.string(ids.2[0]), nil], nil], [[.string(ids.2[1]), nil], nil]],
        ])
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
