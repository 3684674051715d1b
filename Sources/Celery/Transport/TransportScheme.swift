internal import CeleryRedis

/// The transport a broker or result-backend URL names, read from its scheme as Celery and
/// kombu read it (`redis://` → kombu's Redis transport, `amqp://` → py-amqp, ...). The worker
/// and the client choose their implementation from it, and a URL naming a transport
/// swift-celery does not speak is refused at start-up with the scheme in the message, rather
/// than failing later as a malformed Redis URL.
enum TransportScheme: Sendable, Hashable {
    /// kombu's Redis transport over TCP (`redis://`) or a Unix socket (`unix://`,
    /// `redis+socket://`, `socket://`).
    case redis

    /// What a URL is for, to name it in errors (`broker_url`, `result_backend`).
    enum Role: String, Sendable {
        case broker = "broker_url"
        case resultBackend = "result_backend"
    }

    /// The transport of `url` used as `role`.
    ///
    /// - Throws: ``CeleryError`` (`invalidConfiguration`) naming the setting, the URL (its
    ///   password redacted) and the scheme, saying which schemes Celery knows that this
    ///   package does not speak yet and which it does.
    init(url: String, role: Role) throws(CeleryError) {
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw Self.refused(url, role, "it has no scheme (redis://host:6379/0, unix:///path/to/socket)")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        switch scheme {
        case "redis", "unix", "redis+socket", "socket":
            self = .redis
        case "rediss":
            throw Self.refused(url, role, "Redis over TLS (rediss://) is not supported yet")
        case "sentinel":
            throw Self.refused(url, role, "Redis Sentinel (sentinel://) is not supported yet")
        case "amqp", "amqps", "pyamqp", "librabbitmq":
            throw Self.refused(url, role, "RabbitMQ (\(scheme)://) is not supported yet")
        case "rpc" where role == .resultBackend:
            throw Self.refused(url, role, "the rpc:// result backend is not supported yet")
        default:
            throw Self.refused(url, role, "the '\(scheme)' transport is not supported")
        }
    }

    private static func refused(_ url: String, _ role: Role, _ reason: String) -> CeleryError {
        CeleryError(
            code: .invalidConfiguration,
            message: "\(role.rawValue) '\(RedisEndpoint.redact(url))': \(reason); swift-celery speaks redis:// and unix://")
    }
}
