internal import CCompression

/// zstd frames, as Python's `backports.zstd` / `compression.zstd` `compress` and `decompress`
/// (kombu's `zstd`).
enum ZstdCodec {
    /// `zstd.compress(bytes)`: one frame, level 3 (zstd's default), content size recorded, no checksum.
    static func compress(_ bytes: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
        let written = bytes.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                ZSTD_compress(out.baseAddress, out.count, input.baseAddress, input.count, ZSTD_CLEVEL_DEFAULT)
            }
        }
        precondition(ZSTD_isError(written) == 0, "zstd: ZSTD_compress failed: \(String(cString: ZSTD_getErrorName(written)))")
        output.removeSubrange(written...)
        return output
    }

    /// `zstd.decompress(bytes)`: every frame until the input ends; empty input, trailing
    /// garbage or a frame cut short is an error, as in Python.
    static func decompress(_ bytes: [UInt8], limit: Int) -> Result<[UInt8], CompressionError> {
        guard let context = ZSTD_createDStream() else {
            return .failure(CompressionError(code: .malformed, reason: "zstd: ZSTD_createDStream failed (out of memory)"))
        }
        defer { ZSTD_freeDStream(context) }
        var output = BoundedOutput(limit: limit)
        return bytes.withUnsafeBytes { input in
            var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
            var frameComplete = false
            while true {
                var target = ZSTD_outBuffer(dst: output.chunk, size: BoundedOutput.size, pos: 0)
                let status = ZSTD_decompressStream(context, &target, &source)
                if ZSTD_isError(status) != 0 {
                    return .failure(CompressionError(code: .malformed, reason: "invalid zstd data: \(String(cString: ZSTD_getErrorName(status)))"))
                }
                if let error = output.take(target.pos) { return .failure(error) }
                frameComplete = status == 0
                if source.pos == source.size, target.pos < target.size {
                    guard frameComplete else {
                        return .failure(CompressionError(
                            code: .malformed, reason: "truncated zstd data (compressed data ended before the end-of-frame marker)"))
                    }
                    return .success(output.bytes)
                }
            }
        }
    }
}
