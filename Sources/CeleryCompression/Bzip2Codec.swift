internal import CCompression

/// bzip2 streams, as Python's `bz2.compress` / `bz2.decompress` (kombu's `bzip2`).
enum Bzip2Codec {
    /// `bz2.compress(bytes)`: 900k blocks (level 9), work factor 0; the input is fed with
    /// `BZ_RUN`, then `BZ_FINISH`, as Python's `BZ2Compressor` does.
    static func compress(_ bytes: [UInt8]) -> [UInt8] {
        var stream = bz_stream()
        guard BZ2_bzCompressInit(&stream, 9, 0, 0) == BZ_OK else { preconditionFailure("bzip2: BZ2_bzCompressInit failed (out of memory)") }
        defer { BZ2_bzCompressEnd(&stream) }
        var output = BoundedOutput(limit: Int.max)
        bytes.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutableRawPointer(mutating: input.baseAddress)?.assumingMemoryBound(to: CChar.self)
            stream.avail_in = UInt32(input.count)
            var action = BZ_RUN
            while true {
                if action == BZ_RUN, stream.avail_in == 0 { action = BZ_FINISH }
                stream.next_out = UnsafeMutableRawPointer(output.chunk).assumingMemoryBound(to: CChar.self)
                stream.avail_out = UInt32(BoundedOutput.size)
                let status = BZ2_bzCompress(&stream, action)
                _ = output.take(BoundedOutput.size - Int(stream.avail_out))
                if status == BZ_STREAM_END { return }
                precondition(status == BZ_RUN_OK || status == BZ_FINISH_OK, "bzip2: BZ2_bzCompress returned \(status)")
            }
        }
        return output.bytes
    }

    /// `bz2.decompress(bytes)`: concatenated streams; trailing garbage after a stream ignored.
    static func decompress(_ bytes: [UInt8], limit: Int) -> Result<[UInt8], CompressionError> {
        guard bytes.count <= Int(UInt32.max) else {
            return .failure(CompressionError(code: .limitExceeded, reason: "compressed body of \(bytes.count) bytes is too large"))
        }
        return decodeConcatenated(bytes, limit: limit, emptyIsEmpty: true, decodeOne: decodeStream)
    }

    private static func decodeStream(_ input: UnsafeBufferPointer<UInt8>, limit: Int) -> Result<(output: [UInt8], consumed: Int), CompressionError> {
        var stream = bz_stream()
        guard BZ2_bzDecompressInit(&stream, 0, 0) == BZ_OK else {
            return .failure(CompressionError(code: .malformed, reason: "bzip2: BZ2_bzDecompressInit failed (out of memory)"))
        }
        defer { BZ2_bzDecompressEnd(&stream) }
        var output = BoundedOutput(limit: limit)
        stream.next_in = UnsafeMutableRawPointer(mutating: input.baseAddress)?.assumingMemoryBound(to: CChar.self)
        stream.avail_in = UInt32(input.count)
        while true {
            stream.next_out = UnsafeMutableRawPointer(output.chunk).assumingMemoryBound(to: CChar.self)
            stream.avail_out = UInt32(BoundedOutput.size)
            let status = BZ2_bzDecompress(&stream)
            let produced = BoundedOutput.size - Int(stream.avail_out)
            if let error = output.take(produced) { return .failure(error) }
            switch status {
            case BZ_STREAM_END: return .success((output.bytes, input.count - Int(stream.avail_in)))
            case BZ_OK where stream.avail_in == 0 && produced < BoundedOutput.size:
                return .failure(CompressionError(
                    code: .malformed, reason: "truncated bzip2 stream (compressed data ended before the end-of-stream marker)"))
            case BZ_OK: continue
            case BZ_DATA_ERROR_MAGIC: return .failure(CompressionError(code: .malformed, reason: "invalid bzip2 stream: not bzip2 data (bad magic)"))
            case BZ_DATA_ERROR: return .failure(CompressionError(code: .malformed, reason: "invalid bzip2 stream: data integrity error"))
            default: return .failure(CompressionError(code: .malformed, reason: "invalid bzip2 stream: error \(status)"))
            }
        }
    }
}
