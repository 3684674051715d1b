public import Celery
public import Logging
package import CeleryRedis

/// A broker and a result store in this process, shared by the workers and clients made from
/// it: unit tests of Swift tasks and workers without Redis, in milliseconds.
///
/// ```swift
/// let worker = try CeleryWorker.inMemory(registry: registry)
/// let sum = try await worker.withRunning { client in
///     try await client.send("tasks.add", args: [2, 3]).get()
/// }
/// ```
public final class InMemoryTransport: Sendable {
    /// The broker: queues, unacknowledged deliveries, exchanges.
    public let broker: InMemoryBroker
    /// The result store.
    public let results: InMemoryResultStore

    /// An empty broker and result store.
    public convenience init() {
        self.init(broker: InMemoryBroker(), results: InMemoryResultStore())
    }

    init(broker: InMemoryBroker, results: InMemoryResultStore) {
        self.broker = broker
        self.results = results
    }
}

extension CeleryWorker {
    /// A worker over an in-memory broker and result store, for unit tests.
    ///
    /// - Parameters:
    ///   - workerConfiguration: queues, concurrency, acks_late, ...; by default Celery's, with
    ///     two slots and a 20 ms poll so that a test's worker stops at once.
    ///   - transport: the broker and store; share one to run several workers and clients.
    ///   - logger: by default nothing is logged.
    /// - Throws: ``CeleryError`` when the configuration cannot be used.
    public static func inMemory(
        registry: TaskRegistry,
        workerConfiguration: WorkerConfiguration = WorkerConfiguration(concurrency: 2, hostname: "celery@memory", pollTimeout: .milliseconds(20)),
        configuration: CeleryConfiguration = CeleryConfiguration(brokerURL: "memory://"),
        transport: InMemoryTransport = InMemoryTransport(),
        logger: Logger = Logger(label: "celery.worker", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws -> CeleryWorker {
        try CeleryWorker(
            configuration: configuration, workerConfiguration: workerConfiguration, registry: registry, logger: logger,
            broker: transport.broker, backend: transport.results, eventLoop: RedisEventLoop())
    }

    /// The in-memory broker and store this worker runs on, or `nil` for a worker on a real broker.
    public var inMemoryTransport: InMemoryTransport? {
        guard let broker = broker as? InMemoryBroker, let results = backend as? InMemoryResultStore else { return nil }
        return InMemoryTransport(broker: broker, results: results)
    }

    /// A client publishing to this worker's in-memory broker and reading its results.
    ///
    /// - Throws: ``CeleryError`` (`invalidConfiguration`) when the worker runs on a real broker.
    public func inMemoryClient() throws -> CeleryClient {
        guard let transport = inMemoryTransport else {
            throw CeleryError(code: .invalidConfiguration, message: "inMemoryClient(): this worker runs on \(configuration.brokerURL), not in memory")
        }
        return CeleryClient.inMemory(transport: transport, configuration: configuration)
    }

    /// Runs the worker while `body` runs with a client of it, then stops the worker and returns
    /// what `body` returned.
    ///
    /// - Throws: what `body` or the worker threw.
    public func withRunning<Result: Sendable>(_ body: (CeleryClient) async throws -> Result) async throws -> Result {
        let client = try inMemoryClient()
        defer { client.close() }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            let result = try await body(client)
            group.cancelAll()
            try await group.waitForAll()
            return result
        }
    }
}

extension CeleryClient {
    /// A client of an in-memory broker and result store.
    public static func inMemory(
        transport: InMemoryTransport, configuration: CeleryConfiguration = CeleryConfiguration(brokerURL: "memory://"),
        logger: Logger = CeleryClient.silentLogger
    ) -> CeleryClient {
        CeleryClient(
            configuration: configuration, logger: logger, broker: transport.broker, backend: transport.results,
            eventLoop: RedisEventLoop())
    }
}
