public import CeleryJSON
internal import CeleryCompression

/// A Celery task message: the kombu envelope and the task it carries.
///
/// Decoded from a Redis queue entry with ``init(envelope:options:)``, encoded for LPUSH with
/// ``envelopeBytes()``. Protocol 2 is read and written; protocol 1 is read and converted to
/// protocol-2 headers.
public struct TaskMessage: Sendable, Hashable {
    /// The task headers (protocol 2 form, also for messages that arrived as protocol 1).
    public var headers: TaskHeaders
    /// The envelope properties.
    public var properties: MessageProperties
    /// `content-type`: `application/json`.
    public var contentType: String
    /// `content-encoding`: `utf-8`.
    public var contentEncoding: String
    /// Positional arguments.
    public var args: [JSONValue]
    /// Keyword arguments.
    public var kwargs: JSONObject
    /// The body's third element: `callbacks`, `errbacks`, `chain`, `chord`.
    public var embed: JSONObject
    /// The protocol the message arrived in (1 or 2).
    public var protocolVersion: Int
    /// The protocol ``envelopeBytes()`` writes: 2, or 1 for a client with `task_protocol = 1`
    /// (Celery's `as_task_v1`). A decoded message is re-sent as protocol 2, as Celery's worker does.
    public var encodingProtocol: Int = 2

    /// The `embed` Celery writes when there is no canvas: every key present and null.
    public static let emptyEmbed = JSONObject([
        ("callbacks", .null), ("errbacks", .null), ("chain", .null), ("chord", .null),
    ])

    /// A message from its parts.
    public init(
        headers: TaskHeaders, properties: MessageProperties, args: [JSONValue], kwargs: JSONObject,
        embed: JSONObject = TaskMessage.emptyEmbed, contentType: String = "application/json",
        contentEncoding: String = "utf-8"
    ) {
        self.headers = headers
        self.properties = properties
        self.args = args
        self.kwargs = kwargs
        self.embed = embed
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.protocolVersion = 2
    }

    /// The task body, `[args, kwargs, embed]`, as Python-compatible JSON.
    public func bodyBytes() -> [UInt8] {
        JSONValue.array([.array(args), .object(kwargs), .object(embed)]).pythonJSONBytes()
    }

    /// The whole queue entry as kombu writes it: `body` (base64), `content-encoding`,
    /// `content-type`, `headers`, `properties`, in that order. When the headers name a
    /// `compression` (`application/x-gzip`, ... or an alias), the body is compressed with it
    /// before base64, as kombu's producer does; ``encodingProtocol`` 1 writes Celery's
    /// protocol-1 form (``protocolOneEnvelope()``).
    public func envelopeBytes() -> [UInt8] {
        let (body, envelopeHeaders) = encodingProtocol == 1 ? protocolOneEnvelope() : (bodyBytes(), headers.object)
        let compressed = headers.compression.flatMap(Compression.init(named:)).map { $0.compress(body) } ?? body
        let envelope = JSONObject([
            ("body", .string(String(decoding: Base64.encode(compressed), as: UTF8.self))),
            ("content-encoding", .string(contentEncoding)), ("content-type", .string(contentType)),
            ("headers", .object(envelopeHeaders)), ("properties", .object(properties.object)),
        ])
        return JSONValue.object(envelope).pythonJSONBytes()
    }
}

/// Limits and policy for decoding queue entries.
public struct MessageDecodingOptions: Sendable, Hashable {
    /// Content types whose bodies are decoded, as Celery's `accept_content`; anything else
    /// (pickle above all) is refused without being decoded.
    public var acceptedContentTypes: Set<String>
    /// The largest queue entry accepted, in bytes (`worker_max_message_size`).
    public var maximumMessageSize: Int
    /// How deeply the body's JSON may nest.
    public var maximumDepth: Int
    /// The largest body a compressed one may expand to, in bytes; decompression stops there
    /// and the message is rejected (a decompression bomb). `nil`: ``maximumMessageSize``.
    public var maximumDecompressedSize: Int?

    /// JSON only, 512 MiB (Redis's own largest string, `proto-max-bulk-len`; kombu sets no
    /// limit), 256 levels.
    public init(
        acceptedContentTypes: Set<String> = ["application/json"], maximumMessageSize: Int = 512 << 20,
        maximumDepth: Int = JSONValue.defaultMaximumDepth, maximumDecompressedSize: Int? = nil
    ) {
        self.acceptedContentTypes = acceptedContentTypes
        self.maximumMessageSize = maximumMessageSize
        self.maximumDepth = maximumDepth
        self.maximumDecompressedSize = maximumDecompressedSize
    }
}

extension TaskMessage {
    /// Decodes one queue entry.
    ///
    /// - Throws: ``ProtocolError`` naming the field at fault, with `rawMessage` set.
    public init(envelope raw: [UInt8], options: MessageDecodingOptions = MessageDecodingOptions()) throws(ProtocolError) {
        do {
            try self.init(decoding: raw, options: options)
        } catch var error {
            error.rawMessage = raw
            throw error
        }
    }

    private init(decoding raw: [UInt8], options: MessageDecodingOptions) throws(ProtocolError) {
        guard raw.count <= options.maximumMessageSize else {
            throw ProtocolError(
                code: .tooLarge, field: nil,
                reason: "message of \(raw.count) bytes exceeds the \(options.maximumMessageSize)-byte limit")
        }
        // kombu writes `{"body": "<base64>", ...}`: take the body text straight from the bytes
        // and let jansson parse only the small rest, instead of copying the body through it.
        let split = Self.splitBody(raw)
        let parsed: JSONValue
        do {
            // The envelope itself is shallow; the body is parsed (with the depth limit) below.
            parsed = try JSONValue(parsing: split?.rest ?? raw, maximumDepth: 16)
        } catch {
            throw ProtocolError(code: .malformedEnvelope, field: nil, reason: "not a JSON envelope: \(error)")
        }
        guard case .object(let envelope) = parsed else {
            throw ProtocolError(code: .malformedEnvelope, field: nil, reason: "envelope is a JSON \(parsed.typeName), not an object")
        }
        guard let contentType = try envelope.optionalString("content-type", field: "content-type") else {
            throw ProtocolError(code: .missingField, field: "content-type", reason: "is required")
        }
        guard options.acceptedContentTypes.contains(contentType) else {
            throw ProtocolError(
                code: .refusedContentType, field: "content-type",
                reason: "'\(contentType)' is not accepted (accepted: \(options.acceptedContentTypes.sorted().joined(separator: ", ")))"
                    + (contentType == "application/x-python-serialize" ? "; pickle is never decoded" : ""))
        }
        // kombu's `(content_encoding or 'utf-8').lower()`: falsy is utf-8, a non-string fails.
        let contentEncoding: String
        switch envelope["content-encoding"] {
        case .string(let text)? where !text.isEmpty: contentEncoding = text
        case let other? where !other.isPythonFalsy: throw ProtocolError.wrongType("content-encoding", expected: "a string", got: other)
        default: contentEncoding = "utf-8"
        }
        guard case .object(let propertiesObject)? = envelope["properties"] else {
            throw ProtocolError(code: .missingField, field: "properties", reason: "must be an object")
        }
        let properties = MessageProperties(object: propertiesObject)
        guard case .string? = propertiesObject["delivery_tag"] else {
            throw ProtocolError(code: .missingField, field: "properties.delivery_tag", reason: "must be a string")
        }
        var headersObject = JSONObject()
        switch envelope["headers"] {
        case .object(let object)?: headersObject = object
        // kombu's `self.headers = headers or {}`: any falsy value (`[]` from PHP or Node
        // clients, `""`, `0`, `false`, null) is no headers; anything else fails its `.get`.
        case let other? where !other.isPythonFalsy: throw ProtocolError.wrongType("headers", expected: "an object", got: other)
        default: break
        }
        // kombu decompresses when the header is truthy; a non-string one fails its lookup.
        var compression: Compression?
        switch headersObject["compression"] {
        case .string(let name)? where !name.isEmpty:
            guard let known = Compression(named: name) else {
                throw ProtocolError(
                    code: .unsupportedEncoding, field: "headers.compression",
                    reason: "unsupported compression '\(name)' (supported: \(Compression.all.map(\.contentType).joined(separator: ", ")))")
            }
            compression = known
        case let other? where !other.isPythonFalsy:
            throw ProtocolError.wrongType("headers.compression", expected: "a string", got: other)
        default: break
        }
        guard case .string(let parsedBodyText)? = envelope["body"] else {
            throw ProtocolError(code: .missingField, field: "body", reason: "must be a string")
        }
        var bodyBytes: [UInt8]
        // kombu's `decode_body`: a falsy encoding or `utf-8` (any case) leaves the body as it
        // is, `base64` is its one codec, any other name fails its codec lookup.
        switch propertiesObject["body_encoding"] {
        case "base64"?:
            let decoded: [UInt8]?
            if let split {
                decoded = raw.withUnsafeBytes { Base64.decode(UnsafeRawBufferPointer(rebasing: $0[split.body])) }
            } else {
                var text = parsedBodyText
                decoded = text.withUTF8 { Base64.decode(UnsafeRawBufferPointer($0)) }
            }
            guard let decoded else {
                throw ProtocolError(code: .malformedBody, field: "body", reason: "is not valid base64")
            }
            bodyBytes = decoded
        case let other? where !other.isPythonFalsy && other.stringValue?.lowercased() != "utf-8":
            throw ProtocolError(
                code: .unsupportedEncoding, field: "properties.body_encoding",
                reason: "\(other.stringValue.map { "'\($0)'" } ?? other.typeName) is not supported (kombu's Redis transport knows base64 and utf-8)")
        default:
            bodyBytes = split.map { Array(raw[$0.body]) } ?? Array(parsedBodyText.utf8)
        }
        if let compression {
            do {
                bodyBytes = try compression.decompress(bodyBytes, limit: options.maximumDecompressedSize ?? options.maximumMessageSize)
            } catch {
                throw ProtocolError(
                    code: error.code == .limitExceeded ? .tooLarge : .malformedBody, field: "body",
                    reason: "cannot be decompressed: \(error)")
            }
        }
        let body: JSONValue
        do {
            body = try JSONValue(parsing: bodyBytes, maximumDepth: options.maximumDepth)
        } catch {
            throw ProtocolError(code: .malformedBody, field: "body", reason: "is not JSON: \(error)")
        }

        if headersObject["task"] != nil {
            guard case .array(let parts) = body, parts.count == 3 else {
                throw ProtocolError(code: .malformedBody, field: "body", reason: "must be [args, kwargs, embed]")
            }
            // `fun(*args)`: an empty object (a PHP client's `{}`) unpacks to no arguments.
            let args: [JSONValue]
            switch parts[0] {
            case .array(let values): args = values
            case .object(let members) where members.isEmpty: args = []
            default: throw ProtocolError.wrongType("body.args", expected: "an array", got: parts[0])
            }
            guard case .object(let kwargs) = parts[1] else {
                throw ProtocolError.wrongType("body.kwargs", expected: "an object", got: parts[1])
            }
            // Celery's `dict(..., **embed or {})`: a falsy embed (null, `[]`) is none.
            let embed: JSONObject
            switch parts[2] {
            case .object(let object) where !object.isEmpty: embed = object
            case let other where other.isPythonFalsy: embed = TaskMessage.emptyEmbed
            default: throw ProtocolError.wrongType("body.embed", expected: "an object", got: parts[2])
            }
            self.init(
                headers: TaskHeaders(object: headersObject), properties: properties, args: args, kwargs: kwargs,
                embed: embed, contentType: contentType, contentEncoding: contentEncoding)
        } else {
            try self.init(protocolOneBody: body, properties: properties, contentType: contentType, contentEncoding: contentEncoding)
        }
        try headers.validate()
    }

    /// When `raw` starts with kombu's `{"body": "` and the body text has no escapes, the byte
    /// range of the body text and the envelope with an empty body in its place.
    static func splitBody(_ raw: [UInt8]) -> (body: Range<Int>, rest: [UInt8])? {
        let prefix: [UInt8] = Array(#"{"body": ""#.utf8)
        guard raw.count > prefix.count, raw[0..<prefix.count].elementsEqual(prefix) else { return nil }
        var end = prefix.count
        let closed = raw.withUnsafeBytes { bytes -> Bool in
            while true {
                end = ASCIIScan.firstSpecialByte(in: bytes, from: end)
                guard end < bytes.count else { return false }
                let byte = bytes[end]
                if byte == UInt8(ascii: "\"") { return true }
                if byte != 0x7F { return false }  // an escape, a control character or non-ASCII: let jansson read it
                end += 1
            }
        }
        guard closed else { return nil }
        var rest = prefix
        rest.append(contentsOf: raw[end...])
        return (prefix.count..<end, rest)
    }

    /// Protocol 1 keeps everything in the body: `{"task", "id", "args", "kwargs", "eta", ...}`.
    private init(protocolOneBody body: JSONValue, properties: MessageProperties, contentType: String, contentEncoding: String) throws(ProtocolError) {
        guard case .object(let fields) = body else {
            throw ProtocolError(code: .missingField, field: "headers.task", reason: "is required (and the body is not a protocol-1 task either)")
        }
        // Celery's `proto1_to_proto2`: `body.get('args', ())`, `body.get('kwargs', {})`, and
        // kwargs must be a mapping (a null or `[]` one is refused there; null args fail the call).
        var args: [JSONValue] = []
        switch fields["args"] {
        case nil: break
        case .array(let values)?: args = values
        case .object(let members)? where members.isEmpty: break
        case let other?: throw ProtocolError.wrongType("body.args", expected: "an array", got: other)
        }
        var kwargs = JSONObject()
        switch fields["kwargs"] {
        case nil: break
        case .object(let values)?: kwargs = values
        case let other?: throw ProtocolError.wrongType("body.kwargs", expected: "a mapping (Task keyword arguments must be a mapping)", got: other)
        }
        var headers = JSONObject()
        headers["lang"] = "py"
        for key in ["task", "id", "eta", "expires", "group", "group_index", "retries", "timelimit", "root_id", "parent_id"] {
            headers[key] = fields[key] ?? .null
        }
        headers["retries"] = fields["retries"] ?? .integer(0)
        // `body['group'] = body['taskset']` whenever the body has a taskset.
        if let taskset = fields["taskset"] { headers["group"] = taskset }
        headers["root_id"] = fields["root_id"] ?? fields["id"] ?? .null
        headers["argsrepr"] = .string(PythonRepr.tupleRepr(args))
        headers["kwargsrepr"] = .string(PythonRepr.dictRepr(kwargs))
        let embed = JSONObject([
            ("callbacks", fields["callbacks"] ?? .null), ("errbacks", fields["errbacks"] ?? .null), ("chain", .null),
            ("chord", fields["chord"] ?? .null),
        ])
        self.init(
            headers: TaskHeaders(object: headers), properties: properties, args: args, kwargs: kwargs, embed: embed,
            contentType: contentType, contentEncoding: contentEncoding)
        self.protocolVersion = 1
    }
}
