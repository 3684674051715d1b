import CeleryJSON

extension ProtocolError {
    /// The exception a FAILURE result records for a message rejected for this reason, named as
    /// kombu and Celery name the same problem, so Python's `AsyncResult.get()` raises it:
    /// `kombu.exceptions.LimitExceeded` for an entry over the size limit, `ContentDisallowed`
    /// for a refused content type, `DecodeError` for a body that cannot be read, and
    /// `celery.exceptions.InvalidTaskError` for a missing or malformed field.
    public var pythonException: ExceptionInfo {
        let type: String
        let module: String
        switch code {
        case .tooLarge: (type, module) = ("LimitExceeded", "kombu.exceptions")
        case .refusedContentType: (type, module) = ("ContentDisallowed", "kombu.exceptions")
        case .malformedEnvelope, .malformedBody, .unsupportedEncoding: (type, module) = ("DecodeError", "kombu.exceptions")
        default: (type, module) = ("InvalidTaskError", "celery.exceptions")
        }
        return ExceptionInfo(type: type, module: module, arguments: [.string("message rejected: \(description)")])
    }
}

extension TaskMessage {
    /// The task id of a queue entry that could not be decoded, when it can still be read: the
    /// `correlation_id` kombu writes in the envelope's properties (Celery sets it to the task
    /// id), looked for in the entry's last 4 KiB only, where kombu puts the properties after the
    /// body. `nil` when absent or not a plausible id (printable ASCII, no quotes or
    /// backslashes, at most 255 bytes), so a FAILURE is stored only under the id its sender used.
    public static func taskID(ofRejected raw: [UInt8]) -> String? {
        let marker = Array(#""correlation_id":"#.utf8)
        let tail = raw.suffix(4096)
        var index = tail.startIndex
        while index + marker.count <= tail.endIndex {
            guard tail[index..<(index + marker.count)].elementsEqual(marker) else {
                index += 1
                continue
            }
            var cursor = index + marker.count
            while cursor < tail.endIndex, tail[cursor] == UInt8(ascii: " ") { cursor += 1 }
            guard cursor < tail.endIndex, tail[cursor] == UInt8(ascii: "\"") else { return nil }
            let start = cursor + 1
            guard let end = tail[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
            let id = tail[start..<end]
            guard (1...255).contains(id.count),
                id.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") })
            else { return nil }
            return String(decoding: id, as: UTF8.self)
        }
        return nil
    }
}
