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

    /// The result store of `configuration.resultBackendURL`, keeping results for
    /// `result_expires` and compressing them with `result_compression`.
    ///
    /// - Throws: ``CeleryError`` (`invalidConfiguration`) naming the setting when the scheme is
    ///   not one swift-celery speaks or the URL cannot be used.
    static func resultStore(for configuration: CeleryConfiguration, eventLoop: RedisEventLoop) throws(CeleryError) -> any ResultStore {
        let url = configuration.resultBackendURL
        switch try TransportScheme(url: url, role: .resultBackend) {
        case .redis:
            do {
                return try RedisResultBackend(
                    url: url, expiry: ResultExpiry(configuration: configuration), eventLoop: eventLoop,
                    compression: configuration.resultCompression)
            } catch {
                throw CeleryError(code: .invalidConfiguration, message: "result_backend: \(error)", underlying: error)
            }
        }
    }
}
