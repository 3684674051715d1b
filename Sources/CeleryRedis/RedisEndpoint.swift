/// Where a Redis server is and how to log in, parsed from a Celery-style URL.
///
/// Forms: `redis://[[user]:password@]host[:port][/db]`, `rediss://` is refused (no TLS here),
/// `unix://[[user]:password@]/path/to/socket[?db=N]` and `redis+socket://`. The password is
/// never part of ``description`` or ``redactedURL``.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// How to reach the server.
    public enum Address: Sendable, Hashable {
        case tcp(host: String, port: Int)
        case unixSocket(path: String)
    }

    /// How to reach the server.
    public var address: Address
    /// The database number selected after connecting.
    public var database: Int
    /// The ACL user name, when the URL names one.
    public var username: String?
    /// The password, when the URL has one. Never logged.
    public var password: String?

    /// An endpoint from its parts.
    public init(address: Address, database: Int = 0, username: String? = nil, password: String? = nil) {
        self.address = address
        self.database = database
        self.username = username
        self.password = password
    }

    /// Parses a Redis URL.
    ///
    /// - Throws: ``RedisError`` with code `connectionFailed` naming what is wrong, with any
    ///   password in the URL replaced by `***`.
    public init(url: String) throws(RedisError) {
        func invalid(_ reason: String) -> RedisError {
            RedisError(code: .connectionFailed, message: "invalid Redis URL '\(Self.redact(url))': \(reason)")
        }
        guard let schemeEnd = url.firstRange(of: "://") else { throw invalid("no scheme") }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        var rest = Substring(url[schemeEnd.upperBound...])
        var query: Substring = ""
        if let questionMark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: questionMark)...]
            rest = rest[..<questionMark]
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = Self.percentDecoded(credentials[..<colon])
                username = user.isEmpty ? nil : user
                password = Self.percentDecoded(credentials[credentials.index(after: colon)...])
            } else if !credentials.isEmpty {
                password = Self.percentDecoded(credentials)
            }
        }
        var database = 0
        for parameter in query.split(separator: "&") {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0] == "db" || pair[0] == "virtual_host" {
                guard let number = Int(pair[1]) else { throw invalid("database '\(pair[1])' is not a number") }
                database = number
            }
        }
        switch scheme {
        case "redis":
            var hostPort = rest
            if let slash = rest.firstIndex(of: "/") {
                hostPort = rest[..<slash]
                let path = rest[rest.index(after: slash)...]
                if !path.isEmpty {
                    guard let number = Int(path) else { throw invalid("database '\(path)' is not a number") }
                    database = number
                }
            }
            var host = String(hostPort)
            var port = 6379
            if hostPort.hasPrefix("[") , let close = hostPort.firstIndex(of: "]") {
                host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
                let after = hostPort[hostPort.index(after: close)...]
                if after.hasPrefix(":") {
                    guard let number = Int(after.dropFirst()) else { throw invalid("port is not a number") }
                    port = number
                }
            } else if let colon = hostPort.lastIndex(of: ":") {
                host = String(hostPort[..<colon])
                guard let number = Int(hostPort[hostPort.index(after: colon)...]) else {
                    throw invalid("port is not a number")
                }
                port = number
            }
            if host.isEmpty { host = "localhost" }
            self.init(address: .tcp(host: host, port: port), database: database, username: username, password: password)
        case "unix", "redis+socket", "socket":
            guard rest.hasPrefix("/") else { throw invalid("socket path must be absolute") }
            self.init(address: .unixSocket(path: String(rest)), database: database, username: username, password: password)
        case "rediss":
            throw invalid("TLS (rediss://) is not supported")
        default:
            throw invalid("unsupported scheme '\(scheme)'")
        }
    }

    /// The URL with the password replaced by `***`: safe to log.
    public var redactedURL: String {
        let credentials: String
        switch (username, password) {
        case (let user?, _?): credentials = "\(user):***@"
        case (nil, _?): credentials = ":***@"
        case (let user?, nil): credentials = "\(user)@"
        case (nil, nil): credentials = ""
        }
        switch address {
        case .tcp(let host, let port):
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return "redis://\(credentials)\(shownHost):\(port)/\(database)"
        case .unixSocket(let path):
            return "unix://\(credentials)\(path)" + (database == 0 ? "" : "?db=\(database)")
        }
    }

    public var description: String { redactedURL }

    /// Any URL with the password between `:` and `@` replaced by `***`, for error messages
    /// about URLs that could not be parsed.
    public static func redact(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://"), let at = url[schemeEnd.upperBound...].lastIndex(of: "@") else {
            return url
        }
        let credentials = url[schemeEnd.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else {
            return url[..<schemeEnd.upperBound] + "***" + url[at...]
        }
        return url[..<colon] + ":***" + url[at...]
    }

    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
