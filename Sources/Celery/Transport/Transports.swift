internal import CeleryRedis

/// Opens the broker and the result store a configuration names, chosen by URL scheme.
enum Transports {
    /// The broker of `url`: one implementation per ``TransportScheme``.
    ///
    /// - Throws: ``CeleryError`` (`invalidConfiguration`) naming the setting when the scheme is
    ///   not one swift-celery speaks or the URL cannot be used.
    static func broker(url: String, eventLoop: RedisEventLoop) throws(CeleryError) -> any BrokerTransport {
        switch try TransportScheme(url: url, role: .broker) {
        case .redis:
            do {
                return try RedisBroker(url: url, eventLoop: eventLoop)
            } catch {
                throw CeleryError(code: .invalidConfiguration, message: "broker_url: \(error)", underlying: error)
            }
        }
    }

    /// The result store of `url`, keeping results for `expires` (forever when `nil`).
    ///
    /// - Throws: ``CeleryError`` (`invalidConfiguration`) naming the setting when the scheme is
    ///   not one swift-celery speaks or the URL cannot be used.
    static func resultStore(url: String, expires: Duration?, eventLoop: RedisEventLoop) throws(CeleryError) -> any ResultStore {
        switch try TransportScheme(url: url, role: .resultBackend) {
        case .redis:
            do {
                return try RedisResultBackend(url: url, expires: expires, eventLoop: eventLoop)
            } catch {
                throw CeleryError(code: .invalidConfiguration, message: "result_backend: \(error)", underlying: error)
            }
        }
    }
}
