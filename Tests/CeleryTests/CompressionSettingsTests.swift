@testable import Celery
import Foundation
import Testing

@Suite("Compression and protocol settings, and the client's messages with them")
struct CompressionSettingsTests {
    @Test("task_compression, result_compression, task_protocol and the decompression limit are read and checked")
    func settings() throws {
        var configuration = CeleryConfiguration()
        try CelerySettings([
            "task_compression": "gzip", "result_compression": "xz", "task_protocol": 1, "worker_max_message_size": 4096,
        ]).apply(to: &configuration)
        #expect(configuration.taskCompression == "application/x-gzip")
        #expect(configuration.resultCompression == "application/x-lzma")
        #expect(configuration.taskProtocol == 1)
        // Without its own setting the decompression limit is worker_max_message_size's.
        #expect(configuration.decoding.maximumDecompressedSize == nil && configuration.decoding.maximumMessageSize == 4096)
        try CelerySettings(["worker_max_decompressed_size": 100_000]).apply(to: &configuration)
        #expect(configuration.decoding.maximumDecompressedSize == 100_000)
        let environment = CelerySettings.fromEnvironment(["CELERY_TASK_COMPRESSION": "zstd", "CELERY_RESULT_COMPRESSION": "brotli"])
        #expect(environment.values["task_compression"] == "zstd" && environment.values["result_compression"] == "brotli")
        for (name, value) in [("task_compression", JSONValue.string("snappy")), ("result_compression", "lz4"), ("task_protocol", 3)] {
            var other = CeleryConfiguration()
            #expect(throws: CeleryError.self, "\(name)") { try CelerySettings([name: value]).apply(to: &other) }
        }
        #expect(CelerySettings(["task_compression": "gzip", "worker_max_decompressed_size": 1]).unknownNames.isEmpty)
    }

    @Test("the client compresses as kombu: the compression header last, the body compressed before base64")
    func compressedMessage() throws {
        var configuration = CeleryConfiguration(brokerURL: "redis://127.0.0.1:1/0")
        configuration.taskCompression = "application/x-bz2"
        let client = try CeleryClient(configuration: configuration)
        let message = client.makeMessage("tasks.add", args: [1, 2])
        #expect(message.headers.object.keys.last == "compression")
        #expect(message.headers.compression == "application/x-bz2")
        let envelope = try #require(try JSONValue(parsing: message.envelopeBytes()).objectValue)
        let body = try #require(envelope["body"]?.stringValue.flatMap { Data(base64Encoded: $0) })
        #expect(body.starts(with: Array("BZh9".utf8)))
        let decoded = try TaskMessage(envelope: message.envelopeBytes())
        #expect(decoded.args == [1, 2] && decoded.headers.compression == "application/x-bz2")
        // apply_async(compression=...) wins over task_compression.
        var options = TaskOptions()
        options.compression = "zlib"
        #expect(client.makeMessage("tasks.add", args: [1], options: options).headers.compression == "application/x-gzip")
    }

    @Test("an unknown compression is refused when sending, as kombu's get_encoder refuses it")
    func unknownCompression() async throws {
        let client = try CeleryClient(configuration: CeleryConfiguration(brokerURL: "redis://127.0.0.1:1/0"))
        var options = TaskOptions()
        options.compression = "snappy"
        await #expect(throws: CeleryError.self) { try await client.send("tasks.add", options: options) }
    }

    @Test("task_protocol = 1 sends Celery's as_task_v1 form")
    func protocolOne() throws {
        var configuration = CeleryConfiguration(brokerURL: "redis://127.0.0.1:1/0")
        configuration.taskProtocol = 1
        let client = try CeleryClient(configuration: configuration)
        var options = TaskOptions(countdown: .seconds(10), headers: ["x-tenant": "acme"])
        options.groupID = "g-1"
        let message = client.makeMessage("tasks.add", args: [1, 2], kwargs: ["z": 3], options: options)
        let envelope = try #require(try JSONValue(parsing: message.envelopeBytes()).objectValue)
        #expect(envelope["headers"] == ["x-tenant": "acme"])
        let body = try #require(envelope["body"]?.stringValue.flatMap { Data(base64Encoded: $0) }.map { try JSONValue(parsing: Array($0)) })
        #expect(body.objectValue?.keys == [
            "task", "id", "args", "kwargs", "group", "group_index", "retries", "eta", "expires", "utc", "callbacks", "errbacks",
            "timelimit", "taskset", "chord",
        ])
        #expect(body["task"] == "tasks.add" && body["args"] == [1, 2] && body["kwargs"] == ["z": 3])
        #expect(body["group"] == "g-1" && body["taskset"] == "g-1" && body["utc"] == true)
        #expect(body["eta"]?.stringValue?.hasSuffix("+00:00") == true)
        let decoded = try TaskMessage(envelope: message.envelopeBytes())
        #expect(decoded.protocolVersion == 1 && decoded.headers.id == message.headers.id && decoded.kwargs == ["z": 3])
        // A decoded message is re-sent as protocol 2, as Celery's worker re-sends it.
        #expect(decoded.encodingProtocol == 2)
    }
}
