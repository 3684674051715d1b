import CeleryCompression
import Foundation
import Testing

/// Output of Python 3.11's `zlib.compress`, `bz2.compress`, `lzma.compress`,
/// `backports.zstd.compress` 1.8.0 and `brotli.compress` 1.2.0 (kombu's encoders, defaults)
/// for ``CompressionTests/body``.
private let pythonOutput: [String: String] = [
    "zlib": "eJyLjjbSUTCO1VGorgVipeTEnJykxOTsYiUrhbzSnBwdBaXUoiI0keSMxMw8ZG5+UQqUWxsLAApsGfI=",
    "bzip2": "QlpoOTFBWSZTWaRTNS4AAA+bgFAEGBAACj5tmgogAFQ1AGgANNBKmJqGh6g9QyKDgh7KRfKnlLYiH3BWh+Se77WpIy1GQqGFNWw7AESeQGBAcl8XckU4UJCkUzUu",
    "lzma":
        "/Td6WFoAAATm1rRGAgAhARYAAAB0L+Wj4ABQADZdAC3gxFghFmYaLE91EEZQl45P+JXz7EBhcwcW3cF2FJS4v+KyE8ElvCxsTUIn6T/m2ZkUoqc8AAAAAL+W5h8113PWAAFSUZ/rZ7QftvN9AQAAAAAEWVo=",
    "zstd": "KLUv/SBR9QEAFANbWzIsIDNdLCB7fSwgeyJjYWxsYmFja3MiOiBudWxsLCAiZXJyY2hhaW5jaG9yZH1dAwAysyZq061uPgE=",
    "brotli": "G1AA4MXOlqpdlmhSNY1su48/Tjng5oEH4HmQZnTSwwYcRBIGy5ppKl74F5T2EJfuw5DySgcuu1c=",
]

@Suite("Compression as kombu's codecs")
struct CompressionTests {
    static let body = Array(#"[[2, 3], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]"#.utf8)

    private func python(_ name: String) -> [UInt8] { Array(Data(base64Encoded: pythonOutput[name]!)!) }

    @Test("aliases and content types resolve as kombu's get_encoder does")
    func names() {
        #expect(Compression(named: "gzip") == .zlib)
        #expect(Compression(named: "zlib")?.contentType == "application/x-gzip")
        #expect(Compression(named: "application/x-gzip") == .zlib)
        #expect(Compression(named: "bzip2")?.contentType == "application/x-bz2")
        #expect(Compression(named: "xz")?.contentType == "application/x-lzma")
        #expect(Compression(named: "zstandard")?.contentType == "application/zstd")
        #expect(Compression(named: "brotli")?.contentType == "application/x-brotli")
        #expect(Compression(named: "snappy") == nil)
    }

    @Test("zlib, bzip2 and xz compress to Python's bytes exactly", arguments: ["zlib", "bzip2", "lzma"])
    func sameBytesAsPython(_ name: String) {
        #expect(Compression(named: name)!.compress(Self.body) == python(name))
    }

    @Test("Python's output of every codec decompresses", arguments: ["zlib", "bzip2", "lzma", "zstd", "brotli"])
    func readsPython(_ name: String) throws {
        #expect(try Compression(named: name)!.decompress(python(name), limit: 1 << 20) == Self.body)
    }

    @Test("every codec round-trips, empty and large inputs included", arguments: Compression.all)
    func roundTrip(_ compression: Compression) throws {
        var large = [UInt8]()
        for index in 0..<300_000 { large.append(UInt8(truncatingIfNeeded: index &* 7919 >> 5)) }
        for input in [[], Self.body, large] {
            #expect(try compression.decompress(compression.compress(input), limit: 1 << 20) == input)
        }
    }

    @Test("a decompression bomb stops at the limit, and the error names it", arguments: Compression.all)
    func bomb(_ compression: Compression) {
        let bomb = compression.compress([UInt8](repeating: 0, count: 4 << 20))
        #expect(bomb.count < 64 << 10)
        #expect {
            try compression.decompress(bomb, limit: 1 << 20)
        } throws: { error in
            guard let error = error as? CompressionError else { return false }
            return error.code == .limitExceeded && error.description.contains("1048576-byte limit")
                && error.compression == compression.contentType
        }
    }

    @Test("garbage and truncated data are refused with the reason", arguments: Compression.all)
    func malformed(_ compression: Compression) {
        let good = compression.compress(Self.body)
        for bad in [Array("not compressed at all, no".utf8), Array(good.prefix(good.count / 2))] {
            #expect {
                try compression.decompress(bad, limit: 1 << 20)
            } throws: { error in
                (error as? CompressionError)?.code == .malformed
            }
        }
    }

    @Test("concatenated streams read as Python reads them; trailing garbage ignored after bzip2 and xz only")
    func concatenated() throws {
        for compression in [Compression.bzip2, .lzma, .zstd] {
            let two = compression.compress(Self.body) + compression.compress(Self.body)
            #expect(try compression.decompress(two, limit: 1 << 20) == Self.body + Self.body)
        }
        let garbage = Array("trailing garbage".utf8)
        #expect(try Compression.bzip2.decompress(Compression.bzip2.compress(Self.body) + garbage, limit: 1 << 20) == Self.body)
        #expect(try Compression.lzma.decompress(Compression.lzma.compress(Self.body) + garbage, limit: 1 << 20) == Self.body)
        #expect(try Compression.zlib.decompress(Compression.zlib.compress(Self.body) + garbage, limit: 1 << 20) == Self.body)
        #expect(throws: CompressionError.self) { try Compression.zstd.decompress(Compression.zstd.compress(Self.body) + garbage, limit: 1 << 20) }
        #expect(throws: CompressionError.self) { try Compression.brotli.decompress(Compression.brotli.compress(Self.body) + garbage, limit: 1 << 20) }
        #expect(try Compression.bzip2.decompress([], limit: 10) == [])
        #expect(throws: CompressionError.self) { try Compression.lzma.decompress([], limit: 10) }
        #expect(throws: CompressionError.self) { try Compression.zlib.decompress([], limit: 10) }
    }
}
