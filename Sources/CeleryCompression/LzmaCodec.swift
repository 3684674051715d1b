internal import CCompression

/// xz streams, as Python's `lzma.compress` / `lzma.decompress` (kombu's `lzma`/`xz`).
enum LzmaCodec {
    /// `lzma.compress(bytes)`: an xz stream, preset 6, CRC64 check; the input is fed with
    /// `LZMA_RUN`, then `LZMA_FINISH`, as Python's `LZMACompressor` does.
    static func compress(_ bytes: [UInt8]) -> [UInt8] {
        var stream = lzma_stream()
        guard lzma_easy_encoder(&stream, 6, LZMA_CHECK_CRC64) == LZMA_OK else {
            preconditionFailure("xz: lzma_easy_encoder failed (out of memory)")
        }
        defer { lzma_end(&stream) }
        var output = BoundedOutput(limit: Int.max)
        bytes.withUnsafeBufferPointer { input in
            stream.next_in = input.baseAddress
            stream.avail_in = input.count
            var action = LZMA_RUN
            while true {
                if action == LZMA_RUN, stream.avail_in == 0 { action = LZMA_FINISH }
                stream.next_out = output.chunk
                stream.avail_out = BoundedOutput.size
                let status = lzma_code(&stream, action)
                _ = output.take(BoundedOutput.size - stream.avail_out)
                if status == LZMA_STREAM_END { return }
                precondition(status == LZMA_OK, "xz: lzma_code returned \(status.rawValue)")
            }
        }
        return output.bytes
    }

    /// `lzma.decompress(bytes)`: xz or legacy .lzma, concatenated streams; trailing garbage
    /// after a stream ignored.
    static func decompress(_ bytes: [UInt8], limit: Int) -> Result<[UInt8], CompressionError> {
        decodeConcatenated(bytes, limit: limit, emptyIsEmpty: false, decodeOne: decodeStream)
    }

    private static func decodeStream(_ input: UnsafeBufferPointer<UInt8>, limit: Int) -> Result<(output: [UInt8], consumed: Int), CompressionError> {
        var stream = lzma_stream()
        guard lzma_auto_decoder(&stream, UInt64.max, 0) == LZMA_OK else {
            return .failure(CompressionError(code: .malformed, reason: "xz: lzma_auto_decoder failed (out of memory)"))
        }
        defer { lzma_end(&stream) }
        var output = BoundedOutput(limit: limit)
        stream.next_in = input.baseAddress
        stream.avail_in = input.count
        while true {
            stream.next_out = output.chunk
            stream.avail_out = BoundedOutput.size
            let status = lzma_code(&stream, LZMA_RUN)
            let produced = BoundedOutput.size - stream.avail_out
            if let error = output.take(produced) { return .failure(error) }
            switch status {
            case LZMA_STREAM_END: return .success((output.bytes, input.count - stream.avail_in))
            case LZMA_OK where stream.avail_in == 0 && produced < BoundedOutput.size,
                LZMA_BUF_ERROR:
                return .failure(CompressionError(
                    code: .malformed, reason: "truncated xz stream (compressed data ended before the end-of-stream marker)"))
            case LZMA_OK: continue
            case LZMA_FORMAT_ERROR: return .failure(CompressionError(code: .malformed, reason: "invalid xz stream: input format not supported"))
            case LZMA_DATA_ERROR: return .failure(CompressionError(code: .malformed, reason: "invalid xz stream: corrupt input data"))
            case LZMA_OPTIONS_ERROR: return .failure(CompressionError(code: .malformed, reason: "invalid xz stream: invalid or unsupported options"))
            default: return .failure(CompressionError(code: .malformed, reason: "invalid xz stream: error \(status.rawValue)"))
            }
        }
    }
}
