#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Logging

/// Publishes tasks to Celery workers (Python or Swift) and reads their results.
///
/// ```swift
/// let client = try CeleryClient(configuration: .fromEnvironment())
/// let result = try await client.send("tasks.add", args: [2, 3])
/// let sum = try await result.get(timeout: .seconds(10))   // 5
/// ```
public final class CeleryClient: Sendable {
    /// The configuration the client was made with.
    public let configuration: CeleryConfiguration
    let broker: RedisBroker
    let backend: RedisResultBackend
    private let logger: Logger
    private let builder: TaskMessageBuilder

    /// Creates a client; connections open on first use.
    ///
    /// - Throws: ``CeleryError`` with code `invalidConfiguration` when a URL cannot be used.
    public init(configuration: CeleryConfiguration, logger: Logger = Logger(label: "celery.client")) throws {
        self.configuration = configuration
        self.logger = logger
        self.builder = TaskMessageBuilder(defaultQueue: configuration.defaultQueue)
        do {
            broker = try RedisBroker(url: configuration.brokerURL)
            backend = try RedisResultBackend(url: configuration.resultBackendURL, expires: configuration.resultExpires)
        } catch {
            throw CeleryError(code: .invalidConfiguration, message: "\(error)")
        }
    }

    /// Closes the client's connections.
    public func close() {
        broker.close()
        backend.close()
    }

    /// Publishes the task `name` with these arguments, as Python's `apply_async` does.
    ///
    /// - Returns: the task's ``AsyncResult``.
    @discardableResult
    public func send(
        _ name: String, args: [JSONValue] = [], kwargs: JSONObject = JSONObject(), options: TaskOptions = TaskOptions()
    ) async throws -> AsyncResult {
        let message = makeMessage(name, args: args, kwargs: kwargs, options: options)
        do {
            try await broker.publish([(message, options)], defaultQueue: configuration.defaultQueue)
        } catch {
            throw CeleryError(code: .broker, message: "cannot publish \(name) to \(broker.endpoint): \(error)")
        }
        logger.debug("Sent task", metadata: [LoggingKeys.taskName: "\(name)", LoggingKeys.taskID: "\(message.headers.id)"])
        return AsyncResult(id: message.headers.id, backend: backend)
    }

    /// Publishes many tasks in one pipelined round trip (for bulk producers); returns their
    /// results in the same order.
    @discardableResult
    public func sendBatch(_ calls: [TaskCall]) async throws -> [AsyncResult] {
        let messages = calls.map { makeMessage($0.name, args: $0.args, kwargs: $0.kwargs, options: $0.options) }
        do {
            try await broker.publish(zip(messages, calls).map { ($0, $1.options) }, defaultQueue: configuration.defaultQueue)
        } catch {
            throw CeleryError(code: .broker, message: "cannot publish \(calls.count) tasks to \(broker.endpoint): \(error)")
        }
        return messages.map { AsyncResult(id: $0.headers.id, backend: backend) }
    }

    /// Remote control of the workers (Python and Swift alike): `ping`, `inspect`, `revoke`, ...
    public var control: ControlClient {
        ControlClient(broker: broker, commands: broker.commands, oid: builder.replyTo)
    }

    /// Up to `limit` raw entries waiting in `queue`, next to be taken first, without taking them.
    public func peek(queue: String, limit: Int = 10) async throws -> [(key: String, raw: [UInt8])] {
        do {
            return try await broker.peek(queue: queue, limit: limit)
        } catch {
            throw CeleryError(code: .broker, message: "cannot read queue \(queue) on \(broker.endpoint): \(error)")
        }
    }

    /// The result of a task sent earlier, by id.
    public func asyncResult(_ taskID: String) -> AsyncResult {
        AsyncResult(id: taskID, backend: backend)
    }

    /// The message `send` would publish: headers, properties and body exactly as Celery 5.7's
    /// `apply_async` writes them for the same call.
    public func makeMessage(
        _ name: String, args: [JSONValue] = [], kwargs: JSONObject = JSONObject(), options: TaskOptions = TaskOptions()
    ) -> TaskMessage {
        builder.message(name, args: args, kwargs: kwargs, options: options)
    }
}

extension Duration {
    /// The duration in seconds, as `TimeInterval`.
    var timeInterval: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
