/// A Redis operation that failed: no connection, a broken socket, or an error reply.
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case connectionFailed, io, closedByServer, protocolError, outOfMemory, serverError, timeout,
                unexpectedReply, closed
        }
        private let base: Base

        /// The server could not be reached or refused the handshake (AUTH/SELECT).
        public static let connectionFailed = Code(base: .connectionFailed)
        /// The socket failed while reading or writing.
        public static let io = Code(base: .io)
        /// The server closed the connection.
        public static let closedByServer = Code(base: .closedByServer)
        /// The server sent something that is not RESP.
        public static let protocolError = Code(base: .protocolError)
        /// hiredis ran out of memory.
        public static let outOfMemory = Code(base: .outOfMemory)
        /// The server answered with an error reply (`-ERR ...`, `-NOSCRIPT ...`).
        public static let serverError = Code(base: .serverError)
        /// No reply came within the read timeout.
        public static let timeout = Code(base: .timeout)
        /// The reply did not have the shape the command promises.
        public static let unexpectedReply = Code(base: .unexpectedReply)
        /// The connection was closed by its owner.
        public static let closed = Code(base: .closed)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What failed, naming the server (never its password) and hiredis's or Redis's own text.
    public var message: String

    /// Creates an error of `code` explained by `message`.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// Whether the connection is unusable after this error and must be re-established.
    public var isConnectionError: Bool {
        code != .serverError && code != .unexpectedReply
    }

    /// Whether Redis refused a write because it reached `maxmemory` under the `noeviction`
    /// policy (`-OOM command not allowed when used memory > 'maxmemory'`), alone, inside a
    /// script or inside a transaction: the data is fine and the same command can succeed once
    /// memory is freed, so it is worth retrying, unlike other error replies.
    public var isOutOfMemory: Bool {
        code == .serverError && (message.hasPrefix("OOM ") || message.contains(": OOM "))
    }

    public var description: String { "Redis \(code): \(message)" }
}
