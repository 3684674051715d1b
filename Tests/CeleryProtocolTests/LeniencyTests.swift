import CeleryJSON
import CeleryProtocol
import Foundation
import Testing

/// Each check of the decoder against what kombu 5.7 and Celery 5.7's worker do with the same
/// entry: accepted where Python runs the task (falsy values read as `x or {}` reads them, as
/// PHP, Node and Go clients send `[]` for an empty map), refused with the reason where Python
/// does not run it.
@Suite("Decoding exactly as leniently as kombu and Celery")
struct LeniencyTests {
    /// A kombu envelope around `body` (JSON text, base64-encoded unless `bodyEncoding` says
    /// otherwise) with `headers` (JSON text) and extra envelope/property members.
    static func envelope(
        headers: String = #"{"lang": "py", "task": "t.add", "id": "id-1"}"#, body: String = #"[[1, 2], {}, null]"#,
        bodyEncoding: String = #""base64""#, contentEncoding: String = #""utf-8""#
    ) -> [UInt8] {
        let text = bodyEncoding == #""base64""# ? Data(body.utf8).base64EncodedString() : body.replacingOccurrences(of: "\"", with: "\\\"")
        return Array(#"{"body": "\#(text)", "content-encoding": \#(contentEncoding), "content-type": "application/json", "headers": \#(headers), "properties": {"body_encoding": \#(bodyEncoding), "delivery_tag": "t1", "correlation_id": "id-1"}}"#.utf8)
    }

    static let v2 = #""lang": "py", "task": "t.add", "id": "id-1""#

    @Test("accepted where Python runs the task", arguments: [
        // kombu: `self.headers = headers or {}` -> protocol 1 (no 'task' header).
        ("envelope headers []", envelope(headers: "[]", body: #"{"task": "t.add", "id": "id-1", "args": [1, 2], "kwargs": {}}"#)),
        ("envelope headers null", envelope(headers: "null", body: #"{"task": "t.add", "id": "id-1", "args": [1, 2]}"#)),
        ("envelope headers \"\"", envelope(headers: #""""#, body: #"{"task": "t.add", "id": "id-1", "args": [1, 2]}"#)),
        // v1 body: its own 'headers' is overwritten by the envelope's; kwargs absent is {}.
        ("v1 body headers []", envelope(headers: "[]", body: #"{"task": "t.add", "id": "id-1", "args": [1, 2], "headers": []}"#)),
        // Celery: `.get('stamps') or {}`, read only for stamped_headers.
        ("stamps []", envelope(headers: "{\(v2), \"stamps\": [], \"stamped_headers\": []}")),
        ("stamps [] with stamped_headers null", envelope(headers: "{\(v2), \"stamps\": [], \"stamped_headers\": null}")),
        ("stamps a list, no stamped_headers", envelope(headers: "{\(v2), \"stamps\": [1]}")),
        // `if timelimit:`; a falsy limit inside is no limit.
        ("timelimit []", envelope(headers: "{\(v2), \"timelimit\": []}")),
        ("timelimit [0, false]", envelope(headers: "{\(v2), \"timelimit\": [0, false]}")),
        // `fun(*{})` is a call with no arguments.
        ("args {}", envelope(body: "[{}, {}, null]")),
        ("v1 args {}", envelope(headers: "{}", body: #"{"task": "t.add", "id": "id-1", "args": {}}"#)),
        // `**embed or {}`.
        ("embed []", envelope(body: "[[1, 2], {}, []]")),
        ("embed {}", envelope(body: "[[1, 2], {}, {}]")),
        // Read only for logs, events and retries: not checked by Celery.
        ("retries a string", envelope(headers: "{\(v2), \"retries\": \"3\"}")),
        ("lang, origin, argsrepr, kwargsrepr of other types",
         envelope(headers: "{\(v2), \"lang\": 1, \"origin\": [], \"argsrepr\": 5, \"kwargsrepr\": null}")),
        ("group_index a string", envelope(headers: "{\(v2), \"group_index\": \"0\"}")),
        ("ignore_result 1", envelope(headers: "{\(v2), \"ignore_result\": 1}")),
        ("shadow 0", envelope(headers: "{\(v2), \"shadow\": 0}")),
        // `if group_id` and friends: falsy is none.
        ("group, root_id, parent_id falsy", envelope(headers: "{\(v2), \"group\": [], \"root_id\": \"\", \"parent_id\": false}")),
        // kombu: `(content_encoding or 'utf-8')`; `compression` only when truthy; a falsy body_encoding leaves the body.
        ("content-encoding null", envelope(contentEncoding: "null")),
        ("compression \"\"", envelope(headers: "{\(v2), \"compression\": \"\"}")),
        ("body_encoding null", envelope(bodyEncoding: "null")),
        ("body_encoding utf-8, any case", envelope(bodyEncoding: #""UTF-8""#)),
    ])
    func accepted(_ name: String, _ raw: [UInt8]) throws {
        let message = try TaskMessage(envelope: raw)
        #expect(message.headers.task == "t.add", "\(name)")
        #expect(message.args == (name.contains("args {}") ? [] : [1, 2]), "\(name)")
    }

    @Test("refused, with the reason, where Python does not run the task", arguments: [
        // kombu's `headers.get` / Celery's `message.headers['task']` fail on a non-empty non-dict.
        ("envelope headers [1]", envelope(headers: "[1]"), "headers"),
        // decode_body: 'base64' is the one codec of kombu's Redis transport (case-sensitive).
        ("body_encoding hex", envelope(bodyEncoding: #""hex""#), "properties.body_encoding"),
        ("body_encoding BASE64", envelope(bodyEncoding: #""BASE64""#), "properties.body_encoding"),
        ("content-encoding 5", envelope(contentEncoding: "5"), "content-encoding"),
        ("compression 1", envelope(headers: "{\(v2), \"compression\": 1}"), "headers.compression"),
        ("compression unknown", envelope(headers: "{\(v2), \"compression\": \"snappy\"}"), "headers.compression"),
        // Request.__init__: maybe_iso8601 fails on '' (falsy, then maybe_make_aware(None)) and non-strings.
        ("eta \"\"", envelope(headers: "{\(v2), \"eta\": \"\"}"), "headers.eta"),
        ("eta 5", envelope(headers: "{\(v2), \"eta\": 5}"), "headers.eta"),
        ("expires not ISO", envelope(headers: "{\(v2), \"expires\": \"tomorrow\"}"), "headers.expires"),
        // `hard, soft = time_limits` of a truthy non-pair.
        ("timelimit [1]", envelope(headers: "{\(v2), \"timelimit\": [1]}"), "headers.timelimit"),
        ("timelimit 5", envelope(headers: "{\(v2), \"timelimit\": 5}"), "headers.timelimit"),
        // `stamps.get(header)` for each stamped header.
        ("stamps a list with stamped_headers", envelope(headers: "{\(v2), \"stamps\": [1], \"stamped_headers\": [\"a\"]}"), "headers.stamps"),
        // `**embed` of a non-empty list; `args, kwargs, embed = body`.
        ("embed [1]", envelope(body: "[[1, 2], {}, [1]]"), "body.embed"),
        ("body of two", envelope(body: "[[1, 2], {}]"), "body"),
        // `fun(*args, **kwargs)` needs a mapping (Python fails the call; refused here, FAILURE stored either way).
        ("kwargs []", envelope(body: "[[1, 2], [], null]"), "body.kwargs"),
        // proto1_to_proto2: 'Task keyword arguments must be a mapping'.
        ("v1 kwargs []", envelope(headers: "{}", body: #"{"task": "t.add", "id": "id-1", "args": [1], "kwargs": []}"#), "body.kwargs"),
        ("v1 kwargs null", envelope(headers: "{}", body: #"{"task": "t.add", "id": "id-1", "args": [1], "kwargs": null}"#), "body.kwargs"),
        ("args {\"a\": 1}", envelope(body: #"[{"a": 1}, {}, null]"#), "body.args"),
        ("v1 args null", envelope(headers: "{}", body: #"{"task": "t.add", "id": "id-1", "args": null}"#), "body.args"),
        ("task missing", envelope(headers: "{\"lang\": \"py\", \"task\": null, \"id\": \"id-1\"}"), "headers.task"),
        ("group 5", envelope(headers: "{\(v2), \"group\": 5}"), "headers.group"),
    ])
    func refused(_ name: String, _ raw: [UInt8], _ field: String) throws {
        let error = try #require(throws: ProtocolError.self, "\(name)") { try TaskMessage(envelope: raw) }
        #expect(error.field == field, "\(name): \(error)")
    }

    @Test("falsy values read as Celery reads them")
    func readings() throws {
        let stamped = try TaskMessage(envelope: Self.envelope(headers: "{\(Self.v2), \"timelimit\": [0, 5], \"ignore_result\": \"yes\", \"shadow\": \"\", \"group\": \"\"}"))
        #expect(stamped.headers.timeLimit.hard == nil && stamped.headers.timeLimit.soft == 5)
        #expect(stamped.headers.ignoreResult == true)
        #expect(stamped.headers.shadow == nil && stamped.headers.group == nil)
        let embedless = try TaskMessage(envelope: Self.envelope(body: "[[1, 2], {}, []]"))
        #expect(embedless.embed == TaskMessage.emptyEmbed)
        // Protocol 1: the group comes from 'taskset' whenever the body has one.
        let v1 = try TaskMessage(envelope: Self.envelope(headers: "[]", body: #"{"task": "t.add", "id": "id-1", "args": [1, 2], "group": "g-old", "taskset": "g-1"}"#))
        #expect(v1.protocolVersion == 1 && v1.headers.group == "g-1")
    }

    @Test("a FAILURE or REVOKED document propagates whatever its result; other states do not")
    func propagatedFailure() throws {
        let null = TaskResultDocument(taskID: "x", status: .failure, result: .null, traceback: "")
        #expect(null.propagatedFailure?.type == "Exception")
        #expect(null.propagatedFailure?.pythonStr.contains("FAILURE without a readable exception (result: None)") == true)
        let revoked = TaskResultDocument(taskID: "x", status: .revoked, result: "gone")
        #expect(revoked.propagatedFailure != nil)
        let stored = TaskResultDocument(
            taskID: "x", status: .failure, result: ExceptionInfo(type: "ValueError", arguments: ["bad"]).jsonValue)
        #expect(stored.propagatedFailure?.pythonRepr == "ValueError('bad')")
        #expect(TaskResultDocument(taskID: "x", status: .success, result: .null).propagatedFailure == nil)
        #expect(TaskResultDocument(taskID: "x", status: .retry, result: .null).propagatedFailure == nil)
    }
}

@Suite("Protocol 1 as Celery's as_task_v1 writes it")
struct ProtocolOneEncodingTests {
    @Test("a chain's rest becomes nested link callbacks, as in Celery's protocol-1 chain")
    func chainAsCallbacks() throws {
        var message = try TaskMessage(envelope: Fixtures.bytes("messages", "chain.json"))
        message.encodingProtocol = 1
        let body = try JSONValue(parsing: message.protocolOneEnvelope().body)
        let reference = try TaskMessage(envelope: Fixtures.bytes("messages", "protocol_v1_chain.json"))
        let callbacks = try #require(body["callbacks"]?.arrayValue)
        let expected = try #require(reference.embed["callbacks"]?.arrayValue)
        #expect(callbacks.count == 1 && expected.count == 1)
        // Same shape as Celery's (ids and reply_to differ between the two captures).
        func shape(_ value: JSONValue) -> JSONValue {
            guard case .object(var signature) = value else { return value }
            guard case .object(var options)? = signature["options"] else { return value }
            options["task_id"] = "-"
            options["reply_to"] = "-"
            if case .array(let links)? = options["link"] { options["link"] = .array(links.map(shape)) }
            signature["options"] = .object(options)
            return .object(signature)
        }
        #expect(shape(callbacks[0]) == shape(expected[0]))
        #expect(shape(callbacks[0]).pythonJSONBytes() == shape(expected[0]).pythonJSONBytes())
        #expect(body["chain"] == nil)
    }

    @Test("the captured protocol-1 message re-encodes to Celery's body, key for key")
    func capturedRoundTrip() throws {
        for file in ["protocol_v1.json", "protocol_v1_eta_expires.json", "protocol_v1_chain.json"] {
            let raw = try Fixtures.bytes("messages", file)
            var message = try TaskMessage(envelope: raw)
            message.encodingProtocol = 1
            guard case .object(let original)? = try JSONValue(parsing: raw)["body"].flatMap({ $0.stringValue })
                .flatMap({ Data(base64Encoded: $0) }).map({ try JSONValue(parsing: Array($0)) })
            else { Issue.record("\(file): no body"); continue }
            let (body, headers) = message.protocolOneEnvelope()
            #expect(headers.isEmpty)
            guard case .object(let encoded) = try JSONValue(parsing: body) else { Issue.record("\(file): not an object"); continue }
            #expect(encoded.keys == original.keys, "\(file)")
            #expect(encoded == original, "\(file)")
            let again = try TaskMessage(envelope: message.envelopeBytes())
            #expect(again.protocolVersion == 1 && again.headers.id == message.headers.id && again.args == message.args)
        }
    }
}
