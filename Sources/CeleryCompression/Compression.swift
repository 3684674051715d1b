/// A compression kombu registers for message bodies (`kombu.compression`), named by the
/// content type kombu writes in a message's `compression` header.
///
/// Each compresses as kombu's encoder does with its defaults (zlib level 6, bzip2 level 9, xz
/// preset 6 with CRC64, zstd level 3, brotli quality 11), so zlib, bzip2 and xz output is
/// byte for byte Python's (both call the same system libraries), and decompresses with a
/// limit on the output so a small message cannot expand without bound.
public struct Compression: Sendable, Hashable, CustomStringConvertible {
    private enum Codec: Sendable, Hashable { case zlib, bzip2, lzma, zstd, brotli }
    private let codec: Codec

    /// The content type kombu writes in the `compression` header (`application/x-gzip`, ...).
    public let contentType: String

    /// `zlib` / `gzip`: `application/x-gzip`, a zlib stream (RFC 1950, not a gzip file), as
    /// Python's `zlib.compress`.
    public static let zlib = Compression(codec: .zlib, contentType: "application/x-gzip")
    /// `bzip2` / `bzip`: `application/x-bz2`.
    public static let bzip2 = Compression(codec: .bzip2, contentType: "application/x-bz2")
    /// `lzma` / `xz`: `application/x-lzma`, an xz stream (any xz or legacy .lzma stream is read).
    public static let lzma = Compression(codec: .lzma, contentType: "application/x-lzma")
    /// `zstd` / `zstandard`: `application/zstd` (kombu registers it when `backports.zstd` is installed).
    public static let zstd = Compression(codec: .zstd, contentType: "application/zstd")
    /// `brotli`: `application/x-brotli` (kombu registers it when `brotli` is installed).
    public static let brotli = Compression(codec: .brotli, contentType: "application/x-brotli")

    /// Every compression, in kombu's registration order.
    public static let all: [Compression] = [.zlib, .bzip2, .brotli, .lzma, .zstd]

    /// kombu's aliases (`kombu.compression.register(..., aliases=...)`).
    private static let aliases: [String: Compression] = [
        "gzip": .zlib, "zlib": .zlib, "bzip2": .bzip2, "bzip": .bzip2, "brotli": .brotli, "lzma": .lzma, "xz": .lzma,
        "zstd": .zstd, "zstandard": .zstd,
    ]

    private init(codec: Codec, contentType: String) {
        self.codec = codec
        self.contentType = contentType
    }

    /// The compression an alias (`gzip`, `bzip2`, `xz`, ...) or content type names, as
    /// kombu's `get_encoder`/`get_decoder` resolve it; `nil` for one kombu does not know.
    public init?(named name: String) {
        if let known = Self.aliases[name] ?? Self.all.first(where: { $0.contentType == name }) {
            self = known
        } else {
            return nil
        }
    }

    public var description: String { contentType }

    /// `bytes` compressed as kombu's encoder compresses them.
    public func compress(_ bytes: [UInt8]) -> [UInt8] {
        switch codec {
        case .zlib: ZlibCodec.compress(bytes)
        case .bzip2: Bzip2Codec.compress(bytes)
        case .lzma: LzmaCodec.compress(bytes)
        case .zstd: ZstdCodec.compress(bytes)
        case .brotli: BrotliCodec.compress(bytes)
        }
    }

    /// `bytes` decompressed, as kombu's decoder reads them (concatenated bzip2, xz and zstd
    /// streams included), stopping as soon as the output would exceed `limit` bytes.
    ///
    /// - Throws: ``CompressionError``: `.malformed` for data the codec cannot read (naming
    ///   the library's reason), `.limitExceeded` past `limit`.
    public func decompress(_ bytes: [UInt8], limit: Int) throws(CompressionError) -> [UInt8] {
        let result: Result<[UInt8], CompressionError>
        switch codec {
        case .zlib: result = ZlibCodec.decompress(bytes, limit: limit)
        case .bzip2: result = Bzip2Codec.decompress(bytes, limit: limit)
        case .lzma: result = LzmaCodec.decompress(bytes, limit: limit)
        case .zstd: result = ZstdCodec.decompress(bytes, limit: limit)
        case .brotli: result = BrotliCodec.decompress(bytes, limit: limit)
        }
        switch result {
        case .success(let output): return output
        case .failure(var error):
            error.compression = contentType
            throw error
        }
    }
}

/// Compressed data that could not be decompressed.
public struct CompressionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable { case malformed, limitExceeded }
        private let base: Base

        /// The data is not a valid (or is a truncated) stream of this compression.
        public static let malformed = Code(base: .malformed)
        /// The decompressed data would exceed the limit (a decompression bomb, or a limit set too low).
        public static let limitExceeded = Code(base: .limitExceeded)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The compression's content type (`application/x-gzip`, ...).
    public var compression: String
    /// Why, in the library's words where it gives them.
    public var reason: String

    /// Creates an error of `code` for `compression`, explained by `reason`.
    public init(code: Code, compression: String = "", reason: String) {
        self.code = code
        self.compression = compression
        self.reason = reason
    }

    public var description: String { "\(compression): \(reason)" }
}

/// Output collected in chunks of at most ``size`` bytes, refusing to grow past a limit.
struct BoundedOutput: ~Copyable {
    /// The bytes of scratch each call of a codec's decoder may write.
    static let size = 64 << 10

    let chunk: UnsafeMutablePointer<UInt8>
    let limit: Int
    var bytes: [UInt8] = []

    init(limit: Int) {
        self.limit = limit
        chunk = .allocate(capacity: Self.size)
    }

    deinit { chunk.deallocate() }

    /// Moves the first `count` bytes of the scratch chunk to the output.
    mutating func take(_ count: Int) -> CompressionError? {
        guard count > 0 else { return nil }
        guard bytes.count + count <= limit else {
            return CompressionError(
                code: .limitExceeded, reason: "decompressed body exceeds the \(limit)-byte limit (stopped there)")
        }
        bytes.append(contentsOf: UnsafeBufferPointer(start: chunk, count: count))
        return nil
    }
}

/// Python's `bz2.decompress` / `lzma.decompress` loop: streams one after another until the
/// input ends; a later stream that fails to open is trailing garbage and is ignored, a first
/// one that fails (or any that ends early) is an error. Empty input is no data for bzip2
/// (`emptyIsEmpty`) and an error for xz, as in Python.
func decodeConcatenated(
    _ input: [UInt8], limit: Int, emptyIsEmpty: Bool,
    decodeOne: (UnsafeBufferPointer<UInt8>, Int) -> Result<(output: [UInt8], consumed: Int), CompressionError>
) -> Result<[UInt8], CompressionError> {
    if input.isEmpty, emptyIsEmpty { return .success([]) }
    return input.withUnsafeBufferPointer { buffer in
        var output: [UInt8] = []
        var offset = 0
        while offset < buffer.count || offset == 0 {
            let rest = UnsafeBufferPointer(rebasing: buffer[offset...])
            switch decodeOne(rest, limit - output.count) {
            case .success(let one):
                output.append(contentsOf: one.output)
                offset += one.consumed
                if one.consumed == 0 { return .success(output) }
            case .failure(let error):
                if offset > 0, error.code == .malformed, !error.reason.hasPrefix("truncated") { return .success(output) }
                return .failure(error)
            }
        }
        return .success(output)
    }
}
