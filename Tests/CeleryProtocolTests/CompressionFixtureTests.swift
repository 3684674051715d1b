import CeleryJSON
import CeleryProtocol
import Foundation
import Testing

@Suite("Compressed messages and results captured from Celery")
struct CompressionFixtureTests {
    static let cases: [(file: String, contentType: String)] = [
        ("compression_zlib.json", "application/x-gzip"), ("compression_bzip2.json", "application/x-bz2"),
        ("compression_lzma.json", "application/x-lzma"), ("compression_zstd.json", "application/zstd"),
        ("compression_brotli.json", "application/x-brotli"),
    ]

    @Test("each compression kombu writes decodes to Celery's task", arguments: cases.map(\.file))
    func decodes(_ file: String) throws {
        let message = try TaskMessage(envelope: Fixtures.bytes("messages", file))
        #expect(message.headers.task == "capmod.add")
        #expect(message.args == [1, 2])
        #expect(message.headers.compression == Self.cases.first { $0.file == file }?.contentType)
        #expect(message.contentEncoding == "utf-8")
        #expect(message.properties.bodyEncoding == "base64")
    }

    @Test("zlib, bzip2 and xz messages re-encode byte for byte (the same system libraries as Python's)",
        arguments: ["compression_zlib.json", "compression_bzip2.json", "compression_lzma.json", "compression_large_gzip.json"])
    func reencodes(_ file: String) throws {
        let raw = try Fixtures.bytes("messages", file)
        #expect(try TaskMessage(envelope: raw).envelopeBytes() == raw)
    }

    @Test("zstd and brotli messages re-encode to what decodes to the same message")
    func reencodesReadably() throws {
        for file in ["compression_zstd.json", "compression_brotli.json"] {
            let message = try TaskMessage(envelope: Fixtures.bytes("messages", file))
            let again = try TaskMessage(envelope: message.envelopeBytes())
            #expect(again.args == message.args && again.headers == message.headers && again.embed == message.embed)
        }
    }

    @Test("a large gzip body decodes, and the decompressed-size limit refuses it as too large")
    func largeAndLimited() throws {
        let raw = try Fixtures.bytes("messages", "compression_large_gzip.json")
        let message = try TaskMessage(envelope: raw)
        #expect(message.args.first?.arrayValue?.count == 20000)
        let error = try #require(throws: ProtocolError.self) {
            try TaskMessage(envelope: raw, options: MessageDecodingOptions(maximumDecompressedSize: 10_000))
        }
        #expect(error.code == .tooLarge)
        #expect(error.description.contains("10000-byte limit"))
        #expect(error.pythonException.type == "LimitExceeded")
        // Without its own setting, the limit is worker_max_message_size's.
        #expect(throws: ProtocolError.self) { try TaskMessage(envelope: raw, options: MessageDecodingOptions(maximumMessageSize: 100_000)) }
    }

    @Test("a bad zlib stream and an unknown compression are refused with the reason")
    func malformed() throws {
        let good = try String(decoding: Fixtures.bytes("messages", "compression_zlib.json"), as: UTF8.self)
        let body = try #require(good.split(separator: "\"")[3...].first)
        let garbage = good.replacingOccurrences(of: String(body), with: "bm90IHpsaWIgYXQgYWxs")  // "not zlib at all"
        let error = try #require(throws: ProtocolError.self) { try TaskMessage(envelope: Array(garbage.utf8)) }
        #expect(error.code == .malformedBody)
        #expect(error.description.contains("body: cannot be decompressed: application/x-gzip: invalid zlib stream: incorrect header check"))
        #expect(error.pythonException.type == "DecodeError")

        let snappy = good.replacingOccurrences(of: "\"compression\": \"application/x-gzip\"", with: "\"compression\": \"snappy\"")
        let unknown = try #require(throws: ProtocolError.self) { try TaskMessage(envelope: Array(snappy.utf8)) }
        #expect(unknown.code == .unsupportedEncoding)
        #expect(unknown.description.contains("unsupported compression 'snappy'"))
    }

    @Test("results stored by a worker with result_compression='zlib' read as Celery stores them")
    func compressedResults() throws {
        let success = try Fixtures.bytes("results", "compressed_success.bin")
        #expect(success.starts(with: ResultPayload.magic + Array("application/x-gzip".utf8) + [0]))
        let document = try ResultPayload.document(success)
        #expect(document.status == .success)
        #expect(document.result == 5)
        let failure = try ResultPayload.document(Fixtures.bytes("results", "compressed_failure.bin"))
        #expect(failure.status == .failure)
        #expect(failure.exception?.type == "RuntimeError" || failure.exception != nil)
        // Plain documents pass through, as Celery's decompress_payload leaves them.
        let plain = try Fixtures.bytes("results", "success_int.json")
        #expect(try ResultPayload.decode(plain) == plain)
    }

    @Test("the stored form is Celery's: magic, content type, NUL, zlib bytes as Python's")
    func encodesResults() throws {
        let success = try Fixtures.bytes("results", "compressed_success.bin")
        let json = try ResultPayload.decode(success)
        #expect(ResultPayload.encode(json, compression: "gzip") == success)
        #expect(ResultPayload.encode(json, compression: nil) == json)
        for name in ["bzip2", "xz", "zstd", "brotli"] {
            #expect(try ResultPayload.decode(ResultPayload.encode(json, compression: name)) == json)
        }
        var broken = success
        broken[broken.count - 3] ^= 0xFF
        #expect(throws: ProtocolError.self) { try ResultPayload.decode(broken) }
        let unknown = ResultPayload.magic + Array("application/snappy".utf8) + [0, 1, 2]
        let error = try #require(throws: ProtocolError.self) { try ResultPayload.decode(unknown) }
        #expect(error.description.contains("unsupported compression 'application/snappy'"))
    }
}
