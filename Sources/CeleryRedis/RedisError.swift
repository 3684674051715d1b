/// A Redis operation that failed: no connection, a broken socket, or an error reply.
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case connectionFailed, io, closedByServer, protocolError, outOfMemory, serverError, timeout,
                unexpectedReply, closed, authenticationFailed, invalidDatabase
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
        /// The server refused the credentials (`AUTH` answered `WRONGPASS` or `ERR invalid
        /// password`), or wants some that were not given (`NOAUTH`): a configuration error.
        public static let authenticationFailed = Code(base: .authenticationFailed)
        /// The server refused to `SELECT` the database (`ERR DB index is out of range`: the URL
        /// names a database beyond the server's `databases`): a configuration error.
        public static let invalidDatabase = Code(base: .invalidDatabase)

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

    /// Whether the connection is unusable after this error and must be re-established. False
    /// for error replies, and for a refused login or database (``isConfigurationError``): a new
    /// connection would be refused the same way.
    public var isConnectionError: Bool {
        code != .serverError && code != .unexpectedReply && !isConfigurationError
    }

    /// Whether the server refused what the URL asks for (the credentials, the database): no
    /// retry helps until the URL or the server's configuration changes.
    public var isConfigurationError: Bool {
        code == .authenticationFailed || code == .invalidDatabase
    }

    /// The code for an error reply: ``Code/authenticationFailed`` for `NOAUTH` and `WRONGPASS`
    /// (and the older `ERR invalid password`), else ``Code/serverError``.
    public static func code(forErrorReply message: String) -> Code {
        if message.hasPrefix("NOAUTH") || message.hasPrefix("WRONGPASS") || message.hasPrefix("ERR invalid password")
            || message.hasPrefix("ERR invalid username-password pair")
        {
            return .authenticationFailed
        }
        return .serverError
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
