#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Logging
public import ServiceLifecycle
import Synchronization
import Metrics
package import CeleryRedis

/// A Celery worker: takes task messages from Redis queues, runs the registered Swift task
/// of each, stores results where Python's `AsyncResult` reads them, and acknowledges them
/// the way kombu does, so it can stand beside Python workers on the same queues.
///
/// It is a swift-service-lifecycle `Service`: graceful shutdown (the first SIGTERM/SIGINT)
/// stops fetching, lets running tasks finish, returns unstarted messages to their queues and
/// returns; cancellation (the second signal) stops at once, leaving unacknowledged messages in
/// `unacked` for a visibility-timeout restore.
public final class CeleryWorker: Service, Sendable {
    /// Broker, backend and shared settings.
    public let configuration: CeleryConfiguration
    /// Queues, concurrency, prefetch, node name.
    public let workerConfiguration: WorkerConfiguration
    /// The tasks this worker runs.
    public let registry: TaskRegistry
    let logger: Logger
    /// The thread that does the worker's Redis I/O (fetches, acknowledgements, results) and
    /// runs the consumer; with the solo pool, the slots and task bodies too. Commands issued
    /// together leave as one pipeline per connection; replies are read as they arrive.
    let eventLoop: RedisEventLoop
    /// Where slots, task bodies and the work after each task run (``WorkerPool``).
    let taskExecutor: any TaskExecutor
    /// Where messages come from and acknowledgements go (``BrokerTransport``).
    package let broker: any BrokerTransport
    /// Where results are stored (``ResultStore``).
    package let backend: any ResultStore
    let buffer: DeliveryBuffer
    let schedule = EtaSchedule()
    /// Set when the worker stops taking work; housekeeping loops sleep on it.
    let stopping = StopSignal()
    /// `gen<pid>@<host>`, as Celery's `origin` header names the publisher.
    let origin = "gen\(ProcessInfo.processInfo.processIdentifier)@\(ProcessInfo.processInfo.hostName)"
    let canvas: CanvasDispatch
    /// Running tasks, revokes, totals, clock and the settings remote control changes.
    let state: WorkerState
    let events: EventDispatcher
    /// The Redis work after each task, pipelined off the execution slots.
    let completions: CompletionTracker
    /// Failures of acknowledgements and of result stores, each logged once per outage.
    let ackOutage: OutageLog
    let storeOutage: OutageLog
    /// Counters, timers and gauges through swift-metrics.
    let metrics = WorkerMetrics()
    /// Ids of tasks whose result Redis refused until the worker stopped (see `store`).
    let lostOutcomes = Mutex<Set<String>>([])
    /// Why the worker stopped by itself, when it gave up on its broker (a refused password or
    /// database, or more failed attempts than `broker_connection_max_retries`); `run()` throws it.
    let brokerFailure = Mutex<CeleryError?>(nil)

    /// Creates a worker; connections open when it runs.
    ///
    /// - Throws: ``CeleryError`` with code `invalidConfiguration` when a URL cannot be used, or
    ///   the concurrency is above ``WorkerConfiguration/maximumConcurrency``.
    public convenience init(
        configuration: CeleryConfiguration, workerConfiguration: WorkerConfiguration = WorkerConfiguration(),
        registry: TaskRegistry, logger: Logger
    ) throws {
        let eventLoop = RedisEventLoop()
        do {
            let broker = try Transports.broker(url: configuration.brokerURL, eventLoop: eventLoop)
            let backend = try Transports.resultStore(for: configuration, eventLoop: eventLoop)
            try self.init(
                configuration: configuration, workerConfiguration: workerConfiguration, registry: registry, logger: logger,
                broker: broker, backend: backend, eventLoop: eventLoop)
        } catch {
            eventLoop.shutdown()
            throw error
        }
    }

    /// Creates a worker over the given broker and result store (the in-memory ones of
    /// `CeleryTesting`, or a transport of this package); `eventLoop` runs the worker's I/O and,
    /// with the solo pool, its tasks.
    package init(
        configuration: CeleryConfiguration, workerConfiguration: WorkerConfiguration, registry: TaskRegistry, logger: Logger,
        broker: any BrokerTransport, backend: any ResultStore, eventLoop: RedisEventLoop
    ) throws(CeleryError) {
        guard workerConfiguration.concurrency <= WorkerConfiguration.maximumConcurrency else {
            throw CeleryError(
                code: .invalidConfiguration,
                message: "concurrency \(workerConfiguration.concurrency) is above the maximum of \(WorkerConfiguration.maximumConcurrency) (WorkerConfiguration.maximumConcurrency)")
        }
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.broker = broker
        self.backend = backend
        self.workerConfiguration = workerConfiguration
        self.registry = registry
        BuiltinTasks.register(in: registry)
        var logger = logger
        logger[metadataKey: LoggingKeys.hostname] = "\(workerConfiguration.hostname)"
        self.logger = logger
        taskExecutor = workerConfiguration.pool == .solo ? eventLoop : globalConcurrentExecutor
        buffer = DeliveryBuffer(limit: workerConfiguration.prefetchLimit)
        state = WorkerState(
            queues: workerConfiguration.queues, concurrency: workerConfiguration.concurrency,
            eventsEnabled: workerConfiguration.sendTaskEvents)
        ackOutage = OutageLog(logger: logger, resumed: "acknowledgements resume")
        storeOutage = OutageLog(logger: logger, resumed: "results are stored again")
        completions = CompletionTracker(
            limit: workerConfiguration.concurrency * workerConfiguration.prefetchMultiplier * 2, executor: taskExecutor)
        events = EventDispatcher(broker: broker, state: state, hostname: workerConfiguration.hostname, logger: logger)
        canvas = CanvasDispatch(
            broker: broker, backend: backend, builder: TaskMessageBuilder(configuration: configuration),
            registry: registry, logger: logger)
    }

    /// Consumes until graceful shutdown or cancellation. Ignores SIGPIPE process-wide first (a
    /// closed log pipe or socket must cost a log line or a reconnect, never the held messages);
    /// ``runService(softShutdownTimeout:hangup:)`` adds Celery's other signals.
    ///
    /// It says `<hostname> ready.` once the broker has answered (after `Connected to <URL>`,
    /// as Celery does), waiting out an unreachable broker as ``WorkerConfiguration/brokerConnectionMaxRetries`` allows.
    ///
    /// - Throws: ``CeleryError`` when the worker gave up on its broker: `invalidConfiguration`
    ///   when the server refused the URL's password or database (after three attempts), `broker`
    ///   after more failed attempts than the setting allows.
    public func run() async throws {
        Posix.ignoreBrokenPipe()
        logger.info(
            "Broker \(broker.location); results in \(backend.location); queues \(workerConfiguration.queues.joined(separator: ", ")); concurrency \(workerConfiguration.concurrency), prefetch \(buffer.limit)"
        )
        logger.info("[tasks]\n\(registry.applicationNames.map { "  . \($0)" }.joined(separator: "\n"))")
        if let path = workerConfiguration.stateDatabasePath {
            do {
                let forgotten = try state.load(from: path)
                logger.info("Loaded \(state.revokedIDs.count) revoked task id(s) from \(path)")
                logForgotten(forgotten)
            } catch {
                logger.error("Cannot read the state database \(path): \(error)")
            }
        }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                guard await self.connectToBroker() else { return }
                self.logger.info("\(self.workerConfiguration.hostname) ready.")
                await withDiscardingTaskGroup { group in
                    group.addTask(executorPreference: self.eventLoop) { await self.consumeLoop() }
                    group.addTask { await self.schedule.run(into: self.buffer) }
                    group.addTask { await self.visibilityRestoreLoop() }
                    group.addTask { await self.etaVisibilityLoop() }
                    group.addTask { await self.runRemoteControl() }
                    if self.workerConfiguration.sendHeartbeats { group.addTask { await self.heartbeatLoop() } }
                    group.addTask(executorPreference: self.taskExecutor) { await self.runSlots() }
                }
            } onCancel: {
                self.stopTakingWork()
            }
        } onGracefulShutdown: {
            self.logger.info("worker: Warm shutdown (MainProcess)")
            self.stopTakingWork()
        }
        await completions.drain()
        await returnHeldMessages()
        saveState()
        let failure = brokerFailure.withLock { $0 }
        if workerConfiguration.sendHeartbeats, failure == nil {
            await events.workerEvent("worker-offline", active: 0, processed: state.totals.values.reduce(0, +))
        }
        broker.close()
        backend.close()
        eventLoop.shutdown()
        if let failure { throw failure }
    }

    /// The execution slots: as many as the concurrency, which `pool_grow`/`pool_shrink` change
    /// at run time. A new slot starts when the concurrency grows; a slot above it retires after
    /// its current task.
    private func runSlots() async {
        await withDiscardingTaskGroup { slots in
            for await target in state.concurrencyChanges {
                while state.claimSlot(upTo: target) {
                    slots.addTask {
                        while self.state.slotMayContinue(), let item = await self.buffer.next() {
                            // The pool may have shrunk while this slot waited: hand the message on.
                            guard self.state.slotMayContinue() else {
                                self.buffer.putBack(item)
                                return
                            }
                            self.metrics.prefetched.record(self.buffer.pendingCount)
                            await self.process(item)
                        }
                    }
                }
                if buffer.isShutDown { break }
            }
        }
    }

    /// Stops taking work: the warm shutdown `celery control shutdown` and SIGTERM ask for.
    func stopTakingWork() {
        state.finishConcurrencyChanges()
        buffer.shutdown()
        schedule.shutdown()
        stopping.stop()
    }
}
