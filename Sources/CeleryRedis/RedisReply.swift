/// One reply from Redis, copied out of hiredis's reply object (binary-safe).
public enum RedisReply: Sendable, Hashable {
    /// A status reply such as `OK` or `QUEUED`.
    case status(String)
    /// An error reply such as `ERR wrong number of arguments`.
    case error(String)
    case integer(Int64)
    /// A bulk string: any bytes.
    case bulk([UInt8])
    /// The nil bulk string or nil array.
    case null
    case array([RedisReply])

    /// The bytes of a bulk string or status reply.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let bytes): return bytes
        case .status(let text): return Array(text.utf8)
        default: return nil
        }
    }

    /// The text of a bulk string or status reply, decoded as UTF-8.
    public var string: String? {
        bytes.map { String(decoding: $0, as: UTF8.self) }
    }

    /// The integer of an integer reply.
    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The elements of an array reply.
    public var array: [RedisReply]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// Throws the error reply as a ``RedisError`` (``RedisError/Code/authenticationFailed`` for
    /// `NOAUTH`/`WRONGPASS`, else ``RedisError/Code/serverError``); returns the reply otherwise.
    @discardableResult
    public func unwrapped(command: String) throws(RedisError) -> RedisReply {
        if case .error(let message) = self {
            throw RedisError(code: RedisError.code(forErrorReply: message), message: "\(command): \(message)")
        }
        return self
    }
}

extension RedisReply {
    /// The replies of a `MULTI`, commands…, `EXEC` pipeline checked: `EXEC`'s reply when the
    /// transaction ran. When Redis discarded it (`EXECABORT Transaction discarded because of
    /// previous errors`), throws the error that made it do so, which Redis sent as the reply to
    /// `MULTI` or to a queued command (under `maxmemory`, `OOM command not allowed ...`), so the
    /// log says what is wrong rather than that something was.
    public static func transactionResult(_ replies: [RedisReply], command: String) throws(RedisError) -> RedisReply {
        guard let exec = replies.last else {
            throw RedisError(code: .unexpectedReply, message: "\(command): no reply to EXEC")
        }
        if case .error(let message) = exec {
            for case .error(let cause) in replies.dropLast() {
                throw RedisError(code: .serverError, message: "\(command): \(cause) (the transaction was discarded)")
            }
            throw RedisError(code: .serverError, message: "\(command): \(message)")
        }
        return exec
    }
}

/// A Redis command as its arguments, each any bytes (`redisCommandArgv` is binary-safe).
public struct RedisCommand: Sendable, Hashable {
    /// The command name followed by its arguments.
    public var arguments: [[UInt8]]

    /// A command from raw arguments.
    public init(arguments: [[UInt8]]) {
        self.arguments = arguments
    }

    /// A command from a name and arguments of any convertible type.
    public init(_ name: String, _ arguments: any RedisArgumentConvertible...) {
        self.arguments = [Array(name.utf8)] + arguments.map(\.redisArgument)
    }

    /// A command from a name and an array of arguments.
    public init(_ name: String, arguments: [any RedisArgumentConvertible]) {
        self.arguments = [Array(name.utf8)] + arguments.map(\.redisArgument)
    }

    /// The command's name, for error messages.
    public var name: String {
        arguments.first.map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}

/// A value that can be sent as one Redis command argument.
public protocol RedisArgumentConvertible {
    /// The argument's bytes.
    var redisArgument: [UInt8] { get }
}

extension String: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(utf8) }
}

extension Array: RedisArgumentConvertible where Element == UInt8 {
    public var redisArgument: [UInt8] { self }
}

extension Int: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(String(self).utf8) }
}

extension Int64: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(String(self).utf8) }
}

extension Double: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(String(self).utf8) }
}
