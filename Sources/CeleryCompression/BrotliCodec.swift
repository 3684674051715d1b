internal import CCompression

/// Brotli streams, as Python's `brotli.compress` / `brotli.decompress` (kombu's `brotli`).
enum BrotliCodec {
    /// `brotli.compress(bytes)`: quality 11, window 22, generic mode.
    static func compress(_ bytes: [UInt8]) -> [UInt8] {
        var size = BrotliEncoderMaxCompressedSize(bytes.count)
        if size == 0 { size = bytes.count + (bytes.count >> 2) + 1024 }
        var output = [UInt8](repeating: 0, count: size)
        let done = bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                BrotliEncoderCompress(
                    BROTLI_DEFAULT_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, input.count, input.baseAddress, &size,
                    out.baseAddress)
            }
        }
        precondition(done == BROTLI_TRUE, "brotli: BrotliEncoderCompress failed")
        output.removeSubrange(size...)
        return output
    }

    /// `brotli.decompress(bytes)`: one stream, which must end exactly where the input ends.
    static func decompress(_ bytes: [UInt8], limit: Int) -> Result<[UInt8], CompressionError> {
        guard let state = BrotliDecoderCreateInstance(nil, nil, nil) else {
            return .failure(CompressionError(code: .malformed, reason: "brotli: BrotliDecoderCreateInstance failed (out of memory)"))
        }
        defer { BrotliDecoderDestroyInstance(state) }
        var output = BoundedOutput(limit: limit)
        return bytes.withUnsafeBufferPointer { input in
            var availableIn = input.count
            var nextIn = input.baseAddress
            while true {
                var availableOut = BoundedOutput.size
                var nextOut: UnsafeMutablePointer<UInt8>? = output.chunk
                let status = BrotliDecoderDecompressStream(state, &availableIn, &nextIn, &availableOut, &nextOut, nil)
                if let error = output.take(BoundedOutput.size - availableOut) { return .failure(error) }
                switch status {
                case BROTLI_DECODER_RESULT_SUCCESS:
                    guard availableIn == 0 else {
                        return .failure(CompressionError(code: .malformed, reason: "invalid brotli stream: \(availableIn) bytes after its end"))
                    }
                    return .success(output.bytes)
                case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT: continue
                case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
                    return .failure(CompressionError(code: .malformed, reason: "truncated brotli stream"))
                default:
                    let code = BrotliDecoderGetErrorCode(state)
                    return .failure(CompressionError(
                        code: .malformed, reason: "invalid brotli stream: \(String(cString: BrotliDecoderErrorString(code)))"))
                }
            }
        }
    }
}
