internal import CHiredis
#if canImport(Glibc)
import Glibc
#endif

/// One hiredis `redisContext`: connect, send pipelines, read replies. Blocking, not thread-safe:
/// its owner (``RedisConnection`` or ``RedisSubscriber``) confines it to one thread at a time.
///
/// This is the choke point where hiredis error codes become ``RedisError``s.
final class RedisContext {
    private let context: UnsafeMutablePointer<redisContext>
    let endpoint: RedisEndpoint

    /// Connects, logs in (AUTH) and selects the database.
    ///
    /// - Parameters:
    ///   - connectTimeout: how long to wait for the TCP or socket connection.
    ///   - readTimeout: how long any reply may take; `nil` waits forever (callers that poll).
    init(endpoint: RedisEndpoint, connectTimeout: Duration, readTimeout: Duration?) throws(RedisError) {
        self.endpoint = endpoint
        let connectTime = Self.timeval(connectTimeout)
        let connected: UnsafeMutablePointer<redisContext>?
        switch endpoint.address {
        case .tcp(let host, let port):
            connected = redisConnectWithTimeout(host, Int32(port), connectTime)
        case .unixSocket(let path):
            connected = redisConnectUnixWithTimeout(path, connectTime)
        }
        guard let connected else {
            throw RedisError(code: .outOfMemory, message: "cannot allocate a connection to \(endpoint)")
        }
        if chiredis_err(connected) != 0 {
            let text = String(cString: chiredis_errstr(connected))
            redisFree(connected)
            throw RedisError(code: .connectionFailed, message: "cannot connect to \(endpoint): \(text)")
        }
        context = connected
        // hiredis frees its read buffer whenever it empties with more than 16 KiB free, so
        // every large reply grew it again from nothing, reallocating and copying at each
        // doubling and faulting in fresh pages; keep up to 1 MiB instead.
        chiredis_set_reader_max_idle_buffer(connected, Self.readerIdleBuffer)
        if case .tcp = endpoint.address { _ = redisEnableKeepAlive(connected) }
        if let readTimeout { _ = redisSetTimeout(connected, Self.timeval(readTimeout)) }

        // Log in and pick the database. If either fails, the initializer throws with every
        // property set, so deinit frees the context (freeing it here too was a double free).
        if let password = endpoint.password {
            var arguments: [any RedisArgumentConvertible] = []
            if let username = endpoint.username { arguments.append(username) }
            arguments.append(password)
            let reply = try roundTrip([RedisCommand("AUTH", arguments: arguments)])[0]
            if case .error(let message) = reply {
                // A refused AUTH is a wrong user or password (WRONGPASS), or an AUTH the server
                // cannot take (no password configured, or no ACL users before Redis 6).
                throw RedisError(code: .authenticationFailed, message: "AUTH to \(endpoint) refused: \(message)")
            }
        }
        if endpoint.database != 0 {
            let reply = try roundTrip([RedisCommand("SELECT", endpoint.database)])[0]
            if case .error(let message) = reply {
                // NOAUTH here: the URL has no password and the server requires one.
                let code: RedisError.Code = RedisError.code(forErrorReply: message) == .authenticationFailed ? .authenticationFailed : .invalidDatabase
                throw RedisError(code: code, message: "SELECT \(endpoint.database) on \(endpoint) refused: \(message)")
            }
        }
    }

    deinit {
        redisFree(context)
    }

    /// The free space a connection's read buffer keeps between replies.
    static let readerIdleBuffer = 1 << 20

    /// The socket, for poll(2).
    var fileDescriptor: Int32 { chiredis_fd(context) }

    /// Sends every command, then reads one reply each, in one write and as few reads as the
    /// replies need. Error replies are returned, not thrown; only the connection failing throws.
    func roundTrip(_ commands: [RedisCommand]) throws(RedisError) -> [RedisReply] {
        try append(commands)
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw currentError() }
            replies.append(Self.copy(raw.assumingMemoryBound(to: redisReply.self)))
            freeReplyObject(raw)
        }
        return replies
    }

    /// Queues commands in hiredis's output buffer without sending them.
    func append(_ commands: [RedisCommand]) throws(RedisError) {
        for command in commands {
            let result: Int32 = Self.withArgv(command.arguments) { count, argv, lengths in
                redisAppendCommandArgv(context, count, argv, lengths)
            }
            guard result == REDIS_OK else { throw currentError() }
        }
    }

    /// Writes the output buffer completely.
    func flush() throws(RedisError) {
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else { throw currentError() }
        }
    }

    /// A complete reply already buffered, without touching the socket.
    func bufferedReply() throws(RedisError) -> RedisReply? {
        var raw: UnsafeMutableRawPointer?
        guard chiredis_buffered_reply(context, &raw) == REDIS_OK else { throw currentError() }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return Self.copy(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Reads what the socket has into the reader (call after poll(2) says it is readable).
    func readAvailable() throws(RedisError) {
        guard redisBufferRead(context) == REDIS_OK else { throw currentError() }
    }

    private func currentError() -> RedisError {
        let text = String(cString: chiredis_errstr(context))
        let code: RedisError.Code
        switch chiredis_err(context) {
        case REDIS_ERR_EOF: code = .closedByServer
        case REDIS_ERR_PROTOCOL: code = .protocolError
        case REDIS_ERR_OOM: code = .outOfMemory
        case REDIS_ERR_IO:
            code = text.contains("temporarily unavailable") || text.contains("timed out") ? .timeout : .io
        default: code = .io
        }
        return RedisError(code: code, message: "\(endpoint): \(text)")
    }

    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .bulk(Array(UnsafeRawBufferPointer(start: value.str, count: value.len)))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: UnsafeRawBufferPointer(start: value.str, count: value.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: UnsafeRawBufferPointer(start: value.str, count: value.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(value.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                if let element = value.element[index] { elements.append(copy(element)) }
            }
            return .array(elements)
        default:
            return .null
        }
    }

    /// Calls `body` with hiredis's argv/argvlen arrays for `arguments`. Up to
    /// ``maximumBorrowedArguments`` arguments the arrays live on the stack and point into each
    /// argument's own storage (no heap allocation per command); longer commands are laid out
    /// in one buffer first.
    private static func withArgv<Result>(
        _ arguments: [[UInt8]],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Result
    ) -> Result {
        let count = arguments.count
        guard count <= maximumBorrowedArguments else { return withCopiedArgv(arguments, body) }
        return withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: max(count, 1)) { argv in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: max(count, 1)) { lengths in
                // One nested borrow per argument keeps every pointer valid until `body` returns.
                func borrow(from index: Int) -> Result {
                    guard index < count else { return body(Int32(count), argv.baseAddress!, UnsafePointer(lengths.baseAddress!)) }
                    return arguments[index].withUnsafeBufferPointer { buffer in
                        let start = buffer.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(emptyArgument.utf8Start)
                        argv[index] = start.assumingMemoryBound(to: CChar.self)
                        lengths[index] = buffer.count
                        return borrow(from: index + 1)
                    }
                }
                return borrow(from: 0)
            }
        }
    }

    /// Commands with more arguments than this are copied into one buffer (bounds the nesting).
    private static let maximumBorrowedArguments = 32
    private static let emptyArgument: StaticString = ""

    private static func withCopiedArgv<Result>(
        _ arguments: [[UInt8]],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Result
    ) -> Result {
        var storage: [UInt8] = []
        storage.reserveCapacity(arguments.reduce(0) { $0 + $1.count } + 1)
        var offsets: [Int] = []
        var lengths: [Int] = []
        for argument in arguments {
            offsets.append(storage.count)
            lengths.append(argument.count)
            storage.append(contentsOf: argument)
        }
        storage.append(0)
        return storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            var argv = offsets.map { Optional(base + $0) }
            return argv.withUnsafeMutableBufferPointer { argvBuffer in
                lengths.withUnsafeBufferPointer { lengthBuffer in
                    body(Int32(arguments.count), argvBuffer.baseAddress!, lengthBuffer.baseAddress!)
                }
            }
        }
    }

    private static func timeval(_ duration: Duration) -> Glibc.timeval {
        let (seconds, attoseconds) = duration.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
