import CeleryJSON
import CeleryProtocol
import Foundation
import Testing

/// The repository's `fixtures/` folder: real Celery 5.7 traffic captured by `fixtures/capture.py`.
enum Fixtures {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures")

    static func names(in folder: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []
        return files.filter { $0.hasSuffix(".json") && $0 != "index.json" }.sorted()
    }

    static func bytes(_ folder: String, _ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent(folder).appendingPathComponent(name)))
    }
}

@Suite("Captured Celery messages")
struct MessageFixtureTests {
    @Test("the capture holds the cases the tests rely on")
    func fixturesPresent() {
        let names = Fixtures.names(in: "messages")
        #expect(names.count >= 40, "fixtures/messages is missing; run fixtures/capture.py")
        for required in ["delay_simple.json", "serializer_pickle.json", "protocol_v1.json", "typed_args.json"] {
            #expect(names.contains(required))
        }
    }

    @Test("every captured message decodes or is refused for the right reason", arguments: Fixtures.names(in: "messages"))
    func decodes(name: String) throws {
        let raw = try Fixtures.bytes("messages", name)
        switch name {
        case "serializer_pickle.json":
            let error = try #require(throws: ProtocolError.self) { try TaskMessage(envelope: raw) }
            #expect(error.code == .refusedContentType)
            #expect(error.description.contains("application/x-python-serialize"))
            #expect(error.rawMessage == raw)
        default:
            let message = try TaskMessage(envelope: raw)
            #expect(!message.headers.task.isEmpty)
            #expect(!message.headers.id.isEmpty)
            #expect(message.properties.deliveryTag != nil)
        }
    }

    @Test("protocol-2 messages re-encode byte for byte", arguments: Fixtures.names(in: "messages"))
    func reencodes(name: String) throws {
        let raw = try Fixtures.bytes("messages", name)
        guard let message = try? TaskMessage(envelope: raw), message.protocolVersion == 2 else { return }
        let encoded = message.envelopeBytes()
        #expect(encoded == raw, "\(name): re-encoded envelope differs")
    }

    @Test("the simplest call reads as Celery wrote it")
    func delaySimple() throws {
        let message = try TaskMessage(envelope: Fixtures.bytes("messages", "delay_simple.json"))
        #expect(message.args == [1, 2])
        #expect(message.kwargs.isEmpty)
        #expect(message.embed == TaskMessage.emptyEmbed)
        #expect(message.headers.rootID == message.headers.id)
        #expect(message.headers.retries == 0)
        #expect(message.headers.argsrepr == "(1, 2)")
        #expect(message.properties.correlationID == message.headers.id)
        #expect(message.properties.routingKey == "celery")
        #expect(message.protocolVersion == 2)
    }

    @Test("protocol 1 is converted to protocol-2 headers")
    func protocolOne() throws {
        let message = try TaskMessage(envelope: Fixtures.bytes("messages", "protocol_v1.json"))
        #expect(message.protocolVersion == 1)
        #expect(message.headers.task.hasSuffix(".add"))
        #expect(message.args == [1, 2])
    }

    @Test("typed arguments arrive in kombu's typed form")
    func typedArguments() throws {
        let message = try TaskMessage(envelope: Fixtures.bytes("messages", "typed_args.json"))
        let typed = (message.args + message.kwargs.members.map(\.value)).flatMap { value -> [JSONValue] in
            if case .array(let items) = value { return items }
            if case .object(let object) = value, value.kombuTypedValue == nil { return object.members.map(\.value) }
            return [value]
        }.compactMap(\.kombuTypedValue)
        #expect(typed.contains { if case .uuid = $0 { return true } else { return false } })
        #expect(typed.contains { if case .decimal = $0 { return true } else { return false } })
        #expect(typed.contains { if case .bytes = $0 { return true } else { return false } })
    }

    @Test("big integers keep every digit")
    func bigIntegers() throws {
        let message = try TaskMessage(envelope: Fixtures.bytes("messages", "big_ints.json"))
        let text = JSONValue.array(message.args).pythonJSONString()
        #expect(text.contains("1180591620717411303424"))
        #expect(text.contains("9223372036854775808"))
    }

    @Test("priorities are kept as sent", arguments: [("priority_0.json", 0), ("priority_5.json", 5), ("priority_10.json", 10)])
    func priorities(name: String, priority: Int) throws {
        let message = try TaskMessage(envelope: Fixtures.bytes("messages", name))
        #expect(message.properties.priority == priority)
    }
}

@Suite("Captured result documents")
struct ResultFixtureTests {
    @Test("every result document reads and re-encodes byte for byte", arguments: Fixtures.names(in: "results"))
    func roundTrip(name: String) throws {
        let raw = try Fixtures.bytes("results", name)
        let document = try TaskResultDocument(json: JSONValue(parsing: raw))
        #expect(document.jsonBytes() == raw, "\(name): re-encoded document differs")
    }

    @Test("a Python ValueError reads as its class, module and arguments")
    func valueError() throws {
        let document = try TaskResultDocument(json: JSONValue(parsing: Fixtures.bytes("results", "failure_value_error.json")))
        #expect(document.status == .failure)
        #expect(document.exception == ExceptionInfo(type: "ValueError", module: "builtins", arguments: ["bad value", 42]))
        #expect(document.exception?.pythonRepr == "ValueError('bad value', 42)")
        #expect(document.traceback?.contains("ValueError") == true)
    }
}
