internal import CCompression

/// zlib streams (RFC 1950), as Python's `zlib.compress` / `zlib.decompress` (kombu's `gzip`/`zlib`).
enum ZlibCodec {
    /// `zlib.compress(bytes)`: level -1 (6), 15-bit window, memory level 8, default strategy.
    static func compress(_ bytes: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        guard ccompression_deflate_init(&stream, Z_DEFAULT_COMPRESSION) == Z_OK else {
            preconditionFailure("zlib: deflateInit failed (out of memory)")
        }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(bytes.count)))
        var output = [UInt8](repeating: 0, count: bound)
        let written = bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out -> Int in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                let status = deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "zlib: deflate into deflateBound's size returned \(status)")
                return out.count - Int(stream.avail_out)
            }
        }
        output.removeSubrange(written...)
        return output
    }

    /// `zlib.decompress(bytes)`: one zlib stream; bytes after its end are ignored, as Python does.
    static func decompress(_ bytes: [UInt8], limit: Int) -> Result<[UInt8], CompressionError> {
        guard bytes.count <= Int(UInt32.max) else {
            return .failure(CompressionError(code: .limitExceeded, reason: "compressed body of \(bytes.count) bytes is too large"))
        }
        var stream = z_stream()
        guard ccompression_inflate_init(&stream) == Z_OK else {
            return .failure(CompressionError(code: .malformed, reason: "zlib: inflateInit failed (out of memory)"))
        }
        defer { inflateEnd(&stream) }
        var output = BoundedOutput(limit: limit)
        return bytes.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = uInt(input.count)
            while true {
                stream.next_out = output.chunk
                stream.avail_out = uInt(BoundedOutput.size)
                let status = inflate(&stream, Z_NO_FLUSH)
                if let error = output.take(BoundedOutput.size - Int(stream.avail_out)) { return .failure(error) }
                switch status {
                case Z_STREAM_END: return .success(output.bytes)
                case Z_OK: continue
                case Z_BUF_ERROR where stream.avail_in == 0:
                    return .failure(CompressionError(code: .malformed, reason: "truncated zlib stream (incomplete or truncated stream)"))
                case Z_BUF_ERROR: continue
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    return .failure(CompressionError(code: .malformed, reason: "invalid zlib stream: \(message) (error \(status))"))
                }
            }
        }
    }
}
