#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Logging
public import ServiceLifecycle
package import CeleryRedis

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
    package let broker: any BrokerTransport
    package let backend: any ResultStore
    private let logger: Logger
    private let builder: TaskMessageBuilder
    private let eventLoop: RedisEventLoop

    /// The thread this client talks to Redis on. A task that prefers it
    /// (`withTaskExecutorPreference(client.executor) { ... }`) runs there: its commands are
    /// written and its replies read on that thread, with no other thread woken on the way. A
    /// sequential `send(...).get()` through a Swift worker running `-P solo` took 0.26 ms there
    /// against 0.32 ms from another task (p50, 2-core development machine). Calls from anywhere
    /// else are correct too; they hop to this thread and back. Keep CPU-heavy work off it: it
    /// would hold up every other Redis reply of the client.
    public var executor: any TaskExecutor { eventLoop }

    /// Creates a client; connections open on first use.
    ///
    /// - Parameters:
    ///   - configuration: the broker and result backend URLs and Celery's settings.
    ///   - logger: where the client logs (retried connections, dropped replies); by default
    ///     nowhere, so a library embedding the client stays quiet unless asked.
    /// - Throws: ``CeleryError`` with code `invalidConfiguration` when a URL cannot be used.
    public convenience init(configuration: CeleryConfiguration, logger: Logger = CeleryClient.silentLogger) throws {
        let eventLoop = RedisEventLoop()
        do {
            let broker = try Transports.broker(url: configuration.brokerURL, eventLoop: eventLoop)
            let backend = try Transports.resultStore(for: configuration, eventLoop: eventLoop)
            self.init(configuration: configuration, logger: logger, broker: broker, backend: backend, eventLoop: eventLoop)
        } catch {
            eventLoop.shutdown()
            throw error
        }
    }

    /// A logger that drops everything: the client's default.
    public static var silentLogger: Logger {
        Logger(label: "celery.client", factory: { _ in SwiftLogNoOpLogHandler() })
    }

    /// Creates a client over the given broker and result store (the in-memory ones of
    /// `CeleryTesting`, or a transport of this package); `eventLoop` runs its I/O.
    package init(
        configuration: CeleryConfiguration, logger: Logger, broker: any BrokerTransport, backend: any ResultStore, eventLoop: RedisEventLoop
    ) {
        self.configuration = configuration
        self.logger = logger
        self.builder = TaskMessageBuilder(configuration: configuration)
        self.broker = broker
        self.backend = backend
        self.eventLoop = eventLoop
    }

    deinit {
        eventLoop.shutdown()
    }

    /// Closes the client's connections.
    public func close() {
        broker.close()
        backend.close()
        eventLoop.shutdown()
    }

    /// Publishes the task `name` with these arguments, as Python's `apply_async` does.
    ///
    /// - Returns: the task's ``AsyncResult``.
    @discardableResult
    public func send(
        _ name: String, args: [JSONValue] = [], kwargs: JSONObject = JSONObject(), options: TaskOptions = TaskOptions()
    ) async throws -> AsyncResult {
        try Self.checkCompression(options)
        let options = builder.routed(options, task: name)
        let message = makeMessage(name, args: args, kwargs: kwargs, options: options)
        do {
            try await broker.publish([(message, options)], defaultQueue: configuration.defaultQueue)
        } catch {
            throw publishFailure(error, "cannot publish \(name) to \(broker.location)")
        }
        logger.debug("Sent task", metadata: [LoggingKeys.taskName: "\(name)", LoggingKeys.taskID: "\(message.headers.id)"])
        return AsyncResult(id: message.headers.id, backend: backend)
    }

    /// Publishes many tasks in one pipelined round trip (for bulk producers); returns their
    /// results in the same order.
    @discardableResult
    public func sendBatch(_ calls: [TaskCall]) async throws -> [AsyncResult] {
        for call in calls { try Self.checkCompression(call.options) }
        // Building and encoding dominate a large batch: spread them over the cores, in order.
        let parts = calls.count >= 256 ? min(ProcessInfo.processInfo.activeProcessorCount, 8) : 1
        let size = (calls.count + parts - 1) / max(parts, 1)
        let builder = self.builder
        let encoded = await withTaskGroup(of: (Int, [(id: String, task: String, envelope: [UInt8], options: TaskOptions)]).self) { group in
            for (part, start) in stride(from: 0, to: calls.count, by: max(size, 1)).enumerated() {
                let slice = calls[start..<min(start + size, calls.count)]
                group.addTask {
                    (part, slice.map { call in
                        let options = builder.routed(call.options, task: call.name)
                        let message = builder.message(call.name, args: call.args, kwargs: call.kwargs, options: options)
                        return (message.headers.id, call.name, message.envelopeBytes(), options)
                    })
                }
            }
            var parts: [(Int, [(id: String, task: String, envelope: [UInt8], options: TaskOptions)])] = []
            for await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
        do {
            try await broker.publish(encoded: encoded.map { ($0.task, $0.envelope, $0.options) }, defaultQueue: configuration.defaultQueue)
        } catch {
            throw publishFailure(error, "cannot publish \(calls.count) tasks to \(broker.location)")
        }
        return encoded.map { AsyncResult(id: $0.id, backend: backend) }
    }

    /// Publishes a signature as Python's `sig.apply_async()` does: a task, a ``Signature/chain(_:options:)``,
    /// a ``Signature/group(_:options:)`` or a ``Signature/chord(_:body:options:)``, nested as deep as
    /// Celery allows; `args` go in front of the (first) task's arguments.
    ///
    /// - Returns: the result standing for the whole canvas: the task's, a chain's last step's,
    ///   a chord body's; for a group, an `AsyncResult` named by the group id (use
    ///   ``applyGroup(_:args:)`` for its members).
    @discardableResult
    public func apply(_ signature: Signature, args: [JSONValue] = []) async throws -> AsyncResult {
        AsyncResult(id: try await applyCanvas(signature, args: args).id, backend: backend)
    }

    /// Publishes a group (or any signature, as a group of one) and returns its ``GroupResult``.
    @discardableResult
    public func applyGroup(_ group: Signature, args: [JSONValue] = []) async throws -> GroupResult {
        let group = group.subtaskType == "group" ? group : Signature.group([group])
        let applied = try await applyCanvas(group, args: args)
        return GroupResult(id: applied.id, results: applied.memberIDs.map { AsyncResult(id: $0, backend: backend) })
    }

    /// A group saved with ``GroupResult/save()`` (by Swift or Python), by id; `nil` when none is stored.
    public func restoreGroup(_ groupID: String) async throws -> GroupResult? {
        let members: [String]?
        do {
            members = try await backend.restoreGroup(groupID: groupID)
        } catch let error as CeleryError {
            throw error
        } catch {
            throw CeleryError(code: .resultBackend, message: "cannot read group \(groupID): \(error)")
        }
        return members.map { GroupResult(id: groupID, results: $0.map { AsyncResult(id: $0, backend: backend) }) }
    }

    private func applyCanvas(_ signature: Signature, args: [JSONValue]) async throws -> CanvasPublisher.Applied {
        do {
            return try await CanvasPublisher(broker: broker, backend: backend, builder: builder).apply(signature, prepending: args)
        } catch let error as PythonException {
            throw CeleryError(code: .invalidCanvas, message: "cannot apply \(signature.task): \(error)", underlying: error)
        } catch {
            throw publishFailure(error, "cannot publish \(signature.task) to \(broker.location)")
        }
    }

    /// A publish that failed, as the caller sees it: `unroutable` when no queue is bound for
    /// the exchange and routing key, else `broker`, with the cause kept.
    private func publishFailure(_ error: any Error, _ what: String) -> CeleryError {
        CeleryError(code: error is UnroutableMessageError ? .unroutable : .broker, message: "\(what): \(error)", underlying: error)
    }

    /// Remote control of the workers (Python and Swift alike): `ping`, `inspect`, `revoke`, ...
    public var control: ControlClient {
        ControlClient(broker: broker, oid: builder.replyTo)
    }

    /// Up to `limit` raw entries waiting in `queue`, next to be taken first, without taking them.
    public func peek(queue: String, limit: Int = 10) async throws -> [(key: String, raw: [UInt8])] {
        do {
            return try await broker.peek(queue: queue, limit: limit)
        } catch {
            throw CeleryError(code: .broker, message: "cannot read queue \(queue) on \(broker.location): \(error)", underlying: error)
        }
    }

    /// Removes every message waiting in `queue` (all its priority lists), as `celery purge`;
    /// returns how many there were. Messages already delivered to a worker are not touched.
    @discardableResult
    public func purge(queue: String) async throws -> Int {
        do {
            return try await broker.purge(queue: queue)
        } catch {
            throw CeleryError(code: .broker, message: "cannot purge queue \(queue) on \(broker.location): \(error)", underlying: error)
        }
    }

    /// The result of a task sent earlier, by id.
    public func asyncResult(_ taskID: String) -> AsyncResult {
        AsyncResult(id: taskID, backend: backend)
    }

    /// Refuses a compression kombu does not know, as kombu's `get_encoder` does at publish time.
    private static func checkCompression(_ options: TaskOptions) throws {
        guard let name = options.compression, ResultPayload.compressionContentType(named: name) == nil else { return }
        throw CeleryError(
            code: .invalidConfiguration,
            message: "unknown compression '\(name)' (supported: gzip/zlib, bzip2, lzma/xz, zstd, brotli)")
    }

    /// The message `send` would publish: headers, properties and body exactly as Celery 5.7's
    /// `apply_async` writes them for the same call.
    public func makeMessage(
        _ name: String, args: [JSONValue] = [], kwargs: JSONObject = JSONObject(), options: TaskOptions = TaskOptions()
    ) -> TaskMessage {
        builder.message(name, args: args, kwargs: kwargs, options: options)
    }
}

extension CeleryClient: Service {
    /// Runs in a `ServiceGroup` beside an HTTP server or a ``CeleryWorker``: waits for the
    /// group's graceful shutdown, then closes the client's connections. List it before the
    /// services that publish with it, so it stops after them.
    public func run() async throws {
        try? await gracefulShutdown()
        close()
    }
}
