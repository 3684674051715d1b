@testable import Celery
import CeleryRedis
import Foundation
import Synchronization
import Testing

@Suite("Client messages")
struct ClientMessageTests {
    @Test("apply_async options land where Celery puts them")
    func messageShape() throws {
        let client = try CeleryClient(configuration: CeleryConfiguration(brokerURL: "redis://127.0.0.1:1/0"))
        let message = client.makeMessage(
            "tasks.add", args: [1, 2], kwargs: ["z": 3],
            options: TaskOptions(queue: "fast", countdown: .seconds(10), expiresIn: .seconds(60), priority: 5, headers: ["x-tenant": "acme"]))
        let headers = message.headers.object
        #expect(headers.keys == [
            "lang", "task", "id", "shadow", "eta", "expires", "group", "group_index", "retries", "timelimit", "root_id",
            "parent_id", "argsrepr", "kwargsrepr", "origin", "ignore_result", "replaced_task_nesting", "stamped_headers",
            "stamps", "x-tenant",
        ])
        #expect(message.headers.argsrepr == "(1, 2)")
        #expect(message.headers.kwargsrepr == "{'z': 3}")
        #expect(message.headers.eta?.hasSuffix("+00:00") == true)
        #expect(message.properties.object.keys == [
            "correlation_id", "reply_to", "delivery_mode", "expiration", "delivery_info", "priority", "body_encoding", "delivery_tag",
        ])
        #expect(message.properties.object["expiration"]?.stringValue.flatMap(Int.init).map { (59_000...60_000).contains($0) } == true)
        #expect(message.properties.routingKey == "fast")
        #expect(String(decoding: message.bodyBytes(), as: UTF8.self)
            == #"[[1, 2], {"z": 3}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]"#)
        let decoded = try TaskMessage(envelope: message.envelopeBytes())
        #expect(decoded == message)
    }

    @Test("passwords never show in endpoints or errors")
    func redaction() throws {
        let endpoint = try RedisEndpoint(url: "redis://user:s3cret@127.0.0.1:6390/2")
        #expect(endpoint.password == "s3cret")
        #expect(endpoint.username == "user")
        #expect(endpoint.database == 2)
        #expect(!endpoint.description.contains("s3cret"))
        let error = try #require(throws: RedisError.self) { try RedisEndpoint(url: "redis://:s3cret@host:notaport/0") }
        #expect(!error.description.contains("s3cret"))
        #expect(CeleryConfiguration(brokerURL: "redis://:s3cret@h:1/0").redactedBrokerURL == "redis://:***@h:1/0")
    }
}
