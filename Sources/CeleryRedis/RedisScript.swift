import Synchronization

/// A Lua script run with EVALSHA, loaded on first use and again after a server restart
/// (`NOSCRIPT`), as redis-py's `register_script` does.
public final class RedisScript: Sendable {
    /// The Lua source.
    public let source: String
    /// A name for error messages.
    public let name: String
    private let sha = Mutex<String?>(nil)

    /// A script named `name` with this source.
    public init(name: String, source: String) {
        self.name = name
        self.source = source
    }

    /// The `EVALSHA` command for `keys` and `arguments`, once a ``run(on:keys:arguments:)`` has
    /// loaded the script; `nil` before. Its reply may be `NOSCRIPT` (see ``isNotLoaded(_:)``)
    /// after a server restart: then ``run(on:keys:arguments:)`` loads it again.
    public func loadedCommand(keys: [String], arguments: [any RedisArgumentConvertible]) -> RedisCommand? {
        guard let known = sha.withLock({ $0 }) else { return nil }
        let all: [any RedisArgumentConvertible] = [known, keys.count] + keys + arguments
        return RedisCommand("EVALSHA", arguments: all)
    }

    /// Whether `reply` is the server's `NOSCRIPT` error: it does not hold the script (any more).
    public static func isNotLoaded(_ reply: RedisReply) -> Bool {
        if case .error(let message) = reply { return message.hasPrefix("NOSCRIPT") }
        return false
    }

    /// Runs the script on `connection` with `keys` and `arguments`; error replies throw.
    public func run(
        on connection: RedisConnection, keys: [String], arguments: [any RedisArgumentConvertible]
    ) async throws -> RedisReply {
        let tail: [any RedisArgumentConvertible] = [keys.count] + keys + arguments
        if let known = sha.withLock({ $0 }) {
            let reply = try await connection.send(RedisCommand("EVALSHA", arguments: [known] + tail))
            guard Self.isNotLoaded(reply) else {
                return try reply.unwrapped(command: "EVALSHA (\(name))")
            }
        }
        let loaded = try await connection.send(RedisCommand("SCRIPT", "LOAD", source)).unwrapped(command: "SCRIPT LOAD (\(name))")
        guard let loadedSHA = loaded.string else {
            throw RedisError(code: .unexpectedReply, message: "SCRIPT LOAD (\(name)) returned no SHA")
        }
        sha.withLock { $0 = loadedSHA }
        return try await connection.send(RedisCommand("EVALSHA", arguments: [loadedSHA] + tail)).unwrapped(command: "EVALSHA (\(name))")
    }
}
