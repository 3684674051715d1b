
/// What the worker and the client need from a message broker, named after what Celery and
/// kombu do rather than after one server: consume with prefetch credit, acknowledge, restore,
/// publish (direct, by exchange and routing key, fanout) and the remote-control channels.
///
/// ``RedisBroker`` is kombu's Redis transport; ``InMemoryBroker`` (in `CeleryTesting`) keeps
/// the same rules in one process for unit tests. The worker's rules (prefetch, acks_late,
/// ETA holds, retries) are written once, against this protocol; each call is one round trip.
package protocol BrokerTransport: AnyObject, Sendable {
    /// The broker for log lines and `inspect report`, its password hidden.
    var location: String { get }
    /// The connection as `inspect stats` describes it under `broker`.
    var connectionInfo: BrokerConnectionInfo { get }

    /// Connects (logging in) and checks that the broker answers with this configuration.
    func ping() async throws
    /// Declares `queue` as a Celery worker's consumer does (bound to its own exchange and
    /// routing key), so publishers routing by exchange and peers restoring by exchange find it.
    func declare(queue: String) async throws
    /// Takes up to `limit` messages from `queues` without waiting, each held unacknowledged.
    /// The order of `queues` is the order they are served in.
    func fetch(queues: [String], limit: Int) async throws -> [Delivery]
    /// Waits up to `timeout` for a message on any of `queues`, then takes up to `limit`.
    func waitAndFetch(queues: [String], limit: Int, timeout: Duration) async throws -> [Delivery]
    /// Acknowledges a delivery: the broker forgets it.
    func ack(deliveryTag: [UInt8]) async throws
    /// Returns an unacknowledged delivery to its queue: next in line with `leftmost` (a message
    /// this worker took but did not start), else at the end.
    func restore(deliveryTag: [UInt8], leftmost: Bool) async throws
    /// Returns to their queues the messages held unacknowledged for longer than
    /// `visibilityTimeout` by any worker (kombu's `restore_visible`); how many it returned.
    func restoreVisible(visibilityTimeout: Duration) async throws -> Int
    /// Marks the deliveries filed under `tags` as delivered now, so no visibility restore
    /// takes them while this worker holds them for their ETA.
    func refreshVisibility(of tags: [[UInt8]]) async throws

    /// Publishes task messages as a Celery producer does: to a queue, or through an exchange
    /// and routing key (``UnroutableMessageError`` when nothing is bound).
    func publish(_ messages: [(message: TaskMessage, options: TaskOptions)], defaultQueue: String) async throws
    /// Publishes envelopes already encoded.
    func publish(encoded messages: [(task: String, envelope: [UInt8], options: TaskOptions)], defaultQueue: String) async throws
    /// Publishes one encoded envelope to `queue` at `priority`.
    func publish(_ envelope: [UInt8], queue: String, priority: Int) async throws
    /// Publishes to a fanout exchange (events, remote-control broadcasts).
    func publishFanout(_ envelope: [UInt8], exchange: String, routingKey: String) async throws
    /// Subscribes to a fanout exchange; `onMessage` gets each envelope published to it while
    /// the subscription lasts.
    func subscribeFanout(exchange: String, onMessage: @escaping @Sendable ([UInt8]) -> Void) async throws
        -> any FanoutSubscription
    /// Sends a remote-control reply to the queues bound to `reply.celery.pidbox` with `routingKey`.
    func publishReply(_ envelope: [UInt8], routingKey: String) async throws
    /// Binds (or unbinds) the reply queue of a remote-control caller whose oid is `oid`.
    func bindReplyQueue(oid: String, bound: Bool) async throws
    /// Takes the replies waiting in the reply queue of `oid`, oldest first.
    func takeReplies(oid: String) async throws -> [[UInt8]]
    /// Deletes the reply queue of `oid`.
    func deleteReplyQueue(oid: String) async throws

    /// Deletes every message waiting in `queue`; how many there were.
    func purge(queue: String) async throws -> Int
    /// Up to `limit` messages waiting in `queue`, next to be taken first, without taking them.
    func peek(queue: String, limit: Int) async throws -> [(key: String, raw: [UInt8])]
    /// Closes the connections; pending calls fail.
    func close()
}

/// A subscription to a fanout exchange.
package protocol FanoutSubscription: Sendable {
    /// Ends the subscription.
    func cancel()
}

/// The broker connection as Celery's `inspect stats` reports it (`broker` in its reply).
package struct BrokerConnectionInfo: Sendable {
    /// kombu's transport name: `redis`, `memory`, ...
    package var transport: String
    package var hostname: String
    package var port: Int
    package var userID: String?
    package var virtualHost: String
    package var ssl: Bool

    /// The description of one broker connection.
    package init(transport: String, hostname: String, port: Int, userID: String?, virtualHost: String, ssl: Bool) {
        self.transport = transport
        self.hostname = hostname
        self.port = port
        self.userID = userID
        self.virtualHost = virtualHost
        self.ssl = ssl
    }
}
