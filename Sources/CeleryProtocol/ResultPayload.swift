public import CeleryJSON
internal import CeleryCompression

/// A stored result payload, as Celery 5.7's backends write it with `result_compression`:
/// `\0celery-compressed\0` + the compression's content type + `\0` + the compressed JSON
/// (`celery.backends.base.compress_payload`). A payload without the marker is plain JSON, so
/// results are read whether or not compression is configured, as Celery reads them.
public enum ResultPayload {
    /// Celery's `COMPRESSED_PAYLOAD_MAGIC`.
    public static let magic: [UInt8] = Array("\0celery-compressed\0".utf8)

    /// The largest JSON a compressed payload may expand to (512 MiB, Redis's largest string).
    public static let defaultDecompressedLimit = 512 << 20

    /// Whether `name` (an alias such as `gzip` or a content type) is a compression this
    /// implementation writes and reads, as Celery's `prepare_compression` checks
    /// `result_compression` and kombu's `get_encoder` checks `task_compression`; the content
    /// type it stands for, or `nil` for one kombu does not register.
    public static func compressionContentType(named name: String) -> String? {
        Compression(named: name)?.contentType
    }

    /// The content types of every compression supported, in kombu's registration order.
    public static var supportedCompressions: [String] { Compression.all.map(\.contentType) }

    /// `json` as stored: unchanged without `compression`, else Celery's compressed form.
    /// An unknown `compression` stores plain JSON (validate it with ``compressionContentType(named:)``).
    public static func encode(_ json: [UInt8], compression: String?) -> [UInt8] {
        guard let compression = compression.flatMap(Compression.init(named:)) else { return json }
        return magic + Array(compression.contentType.utf8) + [0] + compression.compress(json)
    }

    /// The JSON of a stored payload: the payload itself without the marker, else its body
    /// decompressed (`celery.backends.base.decompress_payload`).
    ///
    /// - Throws: ``ProtocolError``: `unsupportedEncoding` for a compression not supported,
    ///   `malformedBody` for data that does not decompress, `tooLarge` past `limit`.
    public static func decode(_ stored: [UInt8], limit: Int = defaultDecompressedLimit) throws(ProtocolError) -> [UInt8] {
        guard stored.starts(with: magic) else { return stored }
        let rest = stored[magic.count...]
        guard let separator = rest.firstIndex(of: 0) else {
            throw ProtocolError(code: .malformedBody, field: "result", reason: "compressed result has no content type")
        }
        let name = String(decoding: rest[..<separator], as: UTF8.self)
        guard let compression = Compression(named: name) else {
            throw ProtocolError(
                code: .unsupportedEncoding, field: "result",
                reason: "unsupported compression '\(name)' (supported: \(supportedCompressions.joined(separator: ", ")))")
        }
        do {
            return try compression.decompress(Array(rest[(separator + 1)...]), limit: limit)
        } catch {
            throw ProtocolError(
                code: error.code == .limitExceeded ? .tooLarge : .malformedBody, field: "result",
                reason: "compressed result cannot be decompressed: \(error)")
        }
    }

    /// A stored result document, compressed or not.
    public static func document(_ stored: [UInt8]) throws(ProtocolError) -> TaskResultDocument {
        let json = try decode(stored)
        do {
            return try TaskResultDocument(json: JSONValue(parsing: json))
        } catch let error as ProtocolError {
            throw error
        } catch {
            throw ProtocolError(code: .malformedBody, field: "result", reason: "is not JSON: \(error)")
        }
    }
}
