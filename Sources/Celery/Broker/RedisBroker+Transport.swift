internal import CeleryRedis

/// kombu's Redis transport as the worker's and client's ``BrokerTransport``.
extension RedisBroker: BrokerTransport {
    var location: String { "\(endpoint)" }

    var connectionInfo: BrokerConnectionInfo {
        var hostname = "localhost"
        var port = 6379
        if case .tcp(let host, let number) = endpoint.address {
            hostname = host
            port = number
        }
        return BrokerConnectionInfo(
            transport: "redis", hostname: hostname, port: port, userID: endpoint.username,
            virtualHost: String(endpoint.database), ssl: false)
    }

    func declare(queue: String) async throws {
        try await declareBinding(queue: queue)
    }

    func fetch(queues: [String], limit: Int) async throws -> [Delivery] {
        try await fetch(keys: Self.consumeKeys(queues: queues), limit: limit)
    }

    func waitAndFetch(queues: [String], limit: Int, timeout: Duration) async throws -> [Delivery] {
        try await waitAndFetch(keys: Self.consumeKeys(queues: queues), limit: limit, timeout: timeout.timeInterval)
    }

    /// kombu's fanout consumer: `PSUBSCRIBE /<db>.<exchange>` on a connection of its own.
    func subscribeFanout(exchange: String, onMessage: @escaping @Sendable ([UInt8]) -> Void) async throws
        -> any FanoutSubscription
    {
        let channel = Self.fanoutChannel(database: endpoint.database, exchange: exchange, routingKey: "")
        let subscriber = RedisSubscriber(endpoint: endpoint) { _, payload in onMessage(payload) }
        do {
            try await subscriber.psubscribe(channel)
        } catch {
            subscriber.shutdown()
            throw error
        }
        return RedisFanoutSubscription(subscriber: subscriber)
    }

    /// kombu's pidbox reply queue `<oid>.reply.celery.pidbox`, bound to the `reply.celery.pidbox`
    /// exchange with the oid as routing key (`SADD`/`SREM` of its binding).
    func bindReplyQueue(oid: String, bound: Bool) async throws {
        let member = QueueKeys.bindingMember(routingKey: oid, queue: Self.replyQueue(oid: oid))
        let key = QueueKeys.bindingKey(exchange: "reply.celery.pidbox")
        try await commands.send(RedisCommand(bound ? "SADD" : "SREM", key, member)).unwrapped(command: "bind reply queue")
    }

    /// One `RPOP` per priority list of the reply queue, pipelined: polled, since a blocking pop
    /// on the shared command connection would stall everything pipelined behind it.
    func takeReplies(oid: String) async throws -> [[UInt8]] {
        let keys = QueueKeys.keys(queue: Self.replyQueue(oid: oid))
        return try await commands.pipeline(keys.map { RedisCommand("RPOP", $0) }).compactMap(\.bytes)
    }

    func deleteReplyQueue(oid: String) async throws {
        let keys = QueueKeys.keys(queue: Self.replyQueue(oid: oid))
        _ = try await commands.pipeline(keys.map { RedisCommand("DEL", $0) })
    }

    static func replyQueue(oid: String) -> String { "\(oid).reply.celery.pidbox" }
}

/// A `PSUBSCRIBE` on a connection of its own.
struct RedisFanoutSubscription: FanoutSubscription {
    let subscriber: RedisSubscriber

    func cancel() { subscriber.shutdown() }
}

extension RedisError: TransportError {
    package var isClosed: Bool { code == .closed }

    package var configurationProblem: String? {
        switch code {
        case .authenticationFailed: "the broker refused the user or password of broker_url (or needs one the URL does not give)"
        case .invalidDatabase: "the broker has no such database (the URL's database number is beyond the server's `databases`)"
        default: nil
        }
    }
}
