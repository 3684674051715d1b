#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Logging
public import ServiceLifecycle
import Synchronization
import Metrics
internal import CeleryRedis

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
    let eventLoop = RedisEventLoop()
    /// Where slots, task bodies and the work after each task run (``WorkerPool``).
    private let taskExecutor: any TaskExecutor
    let broker: RedisBroker
    let backend: RedisResultBackend
    let buffer: DeliveryBuffer
    let schedule = EtaSchedule()
    let stopping = Atomic<Bool>(false)
    /// `gen<pid>@<host>`, as Celery's `origin` header names the publisher.
    private let origin = "gen\(ProcessInfo.processInfo.processIdentifier)@\(ProcessInfo.processInfo.hostName)"
    private let canvas: CanvasDispatch
    /// Running tasks, revokes, totals, clock and the settings remote control changes.
    let state: WorkerState
    let events: EventDispatcher
    /// The Redis work after each task, pipelined off the execution slots.
    private let completions: CompletionTracker
    /// Failures of acknowledgements and of result stores, each logged once per outage.
    private let ackOutage: OutageLog
    private let storeOutage: OutageLog
    /// Counters, timers and gauges through swift-metrics.
    let metrics = WorkerMetrics()
    /// Ids of tasks whose result Redis refused until the worker stopped (see `store`).
    private let lostOutcomes = Mutex<Set<String>>([])
    /// Why the worker stopped by itself, when it gave up on its broker (a refused password or
    /// database, or more failed attempts than `broker_connection_max_retries`); `run()` throws it.
    let brokerFailure = Mutex<CeleryError?>(nil)

    /// Creates a worker; connections open when it runs.
    ///
    /// - Throws: ``CeleryError`` with code `invalidConfiguration` when a URL cannot be used, or
    ///   the concurrency is above ``WorkerConfiguration/maximumConcurrency``.
    public init(
        configuration: CeleryConfiguration, workerConfiguration: WorkerConfiguration = WorkerConfiguration(),
        registry: TaskRegistry, logger: Logger
    ) throws {
        guard workerConfiguration.concurrency <= WorkerConfiguration.maximumConcurrency else {
            throw CeleryError(
                code: .invalidConfiguration,
                message: "concurrency \(workerConfiguration.concurrency) is above the maximum of \(WorkerConfiguration.maximumConcurrency) (WorkerConfiguration.maximumConcurrency)")
        }
        self.configuration = configuration
        self.workerConfiguration = workerConfiguration
        self.registry = registry
        BuiltinTasks.register(in: registry)
        var logger = logger
        logger[metadataKey: LoggingKeys.hostname] = "\(workerConfiguration.hostname)"
        self.logger = logger
        taskExecutor = workerConfiguration.pool == .solo ? eventLoop : globalConcurrentExecutor
        // One transport today; the scheme is checked first so another one is named, not misparsed.
        _ = try TransportScheme(url: configuration.brokerURL, role: .broker)
        _ = try TransportScheme(url: configuration.resultBackendURL, role: .resultBackend)
        do {
            broker = try RedisBroker(url: configuration.brokerURL, eventLoop: eventLoop)
            backend = try RedisResultBackend(url: configuration.resultBackendURL, expires: configuration.resultExpires, eventLoop: eventLoop)
        } catch {
            throw CeleryError(code: .invalidConfiguration, message: "\(error)")
        }
        buffer = DeliveryBuffer(limit: workerConfiguration.concurrency * workerConfiguration.prefetchMultiplier)
        state = WorkerState(
            queues: workerConfiguration.queues, concurrency: workerConfiguration.concurrency,
            eventsEnabled: workerConfiguration.sendTaskEvents)
        ackOutage = OutageLog(logger: logger, resumed: "acknowledgements resume")
        storeOutage = OutageLog(logger: logger, resumed: "results are stored again")
        completions = CompletionTracker(
            limit: workerConfiguration.concurrency * workerConfiguration.prefetchMultiplier * 2, executor: taskExecutor)
        events = EventDispatcher(broker: broker, state: state, hostname: workerConfiguration.hostname, logger: logger)
        canvas = CanvasDispatch(
            broker: broker, backend: backend, builder: TaskMessageBuilder(defaultQueue: configuration.defaultQueue, routes: configuration.taskRoutes),
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
            "Broker \(broker.endpoint); results in \(backend.endpoint); queues \(workerConfiguration.queues.joined(separator: ", ")); concurrency \(workerConfiguration.concurrency), prefetch \(buffer.limit)"
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

    /// Writes the revoked ids to `--statedb`, if one is configured.
    func saveState() {
        guard let path = workerConfiguration.stateDatabasePath else { return }
        do {
            try state.save(to: path)
        } catch {
            logger.error("Cannot write the state database \(path): \(error)")
        }
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
        stopping.store(true, ordering: .relaxed)
    }

    /// Fetches while there is room, in batches when the queues have messages and with a
    /// blocking pop when they are empty; backs off while the broker is unreachable.
    private func consumeLoop() async {
        var queues = state.queues
        var keys = RedisBroker.consumeKeys(queues: queues)
        var backoff = Backoff()
        var retry = BrokerConnectionRetry(maxRetries: workerConfiguration.brokerConnectionMaxRetries)
        var declared: Set<String> = []
        // The last fetch found the queues emptied (fewer messages than room): a look without
        // waiting would find nothing new and cost a round trip per task when tasks come one
        // at a time, so wait at once (each wait ends with a look at every list).
        var drained = false
        while true {
            let room = await buffer.waitForRoom()
            guard room > 0 else { return }
            if state.queues != queues {
                queues = state.queues
                keys = RedisBroker.consumeKeys(queues: queues)
            }
            let keysPerStep = queues.count
            guard !queues.isEmpty else {
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            do {
                // Bind each queue as a Celery worker's consumer declares it, so clients routing
                // by exchange and peers restoring by exchange find it.
                for queue in queues where !declared.contains(queue) {
                    try await broker.declareBinding(queue: queue)
                    declared.insert(queue)
                }
                var deliveries = drained ? [] : try await broker.fetch(keys: keys, limit: room)
                if deliveries.isEmpty, !buffer.isShutDown {
                    deliveries = try await broker.waitAndFetch(
                        keys: keys, limit: room, timeout: workerConfiguration.pollTimeout.timeInterval)
                }
                drained = deliveries.count < room
                if backoff.failures > 0 {
                    logger.info("consumer: Connection to broker restored: \(broker.endpoint)")
                    metrics.reconnects.increment()
                }
                backoff.reset()
                retry.succeeded()
                guard !deliveries.isEmpty else { continue }
                // A queue cancelled (cancel_consumer) while the fetch was under way: put its messages back.
                let current = state.queues
                if deliveries.contains(where: { !current.contains($0.queue) }) {
                    for delivery in deliveries where !current.contains(delivery.queue) {
                        if let tag = delivery.deliveryTag { try? await broker.restore(deliveryTag: tag) }
                    }
                    deliveries.removeAll { !current.contains($0.queue) }
                }
                buffer.append(deliveries)
                metrics.prefetched.record(buffer.pendingCount)
                // Rotate the queues within each priority step so several queues are served fairly.
                if keysPerStep > 1 { keys = Self.rotated(keys, stepWidth: keysPerStep) }
            } catch {
                drained = false
                guard let delay = brokerAttemptFailed(error, retry: &retry, backoff: &backoff) else { return }
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// `worker-online`, then `worker-heartbeat` every 2 s, as Celery's heartbeat step.
    private func heartbeatLoop() async {
        var type = "worker-online"
        while !stopping.load(ordering: .relaxed) {
            await events.workerEvent(type, active: state.active.count, processed: state.totals.values.reduce(0, +))
            type = "worker-heartbeat"
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .milliseconds(Int(EventDispatcher.heartbeatFrequency * 1000)))
            while clock.now < deadline, !stopping.load(ordering: .relaxed) {
                try? await Task.sleep(for: min(.milliseconds(100), clock.now.duration(to: deadline)))
            }
        }
    }

    /// At start-up and then every `visibilityRestoreInterval`, puts back messages any worker
    /// left unacknowledged longer than the visibility timeout (kombu's `restore_visible`).
    private func visibilityRestoreLoop() async {
        while !stopping.load(ordering: .relaxed) {
            do {
                let restored = try await broker.restoreVisible(visibilityTimeout: configuration.visibilityTimeout)
                if restored > 0 { logger.info("Restored \(restored) message(s) unacknowledged past the visibility timeout") }
            } catch {
                logger.debug("Visibility restore skipped: \(error)")
            }
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: workerConfiguration.visibilityRestoreInterval)
            while clock.now < deadline, !stopping.load(ordering: .relaxed) {
                try? await Task.sleep(for: min(.milliseconds(250), clock.now.duration(to: deadline)))
            }
        }
    }

    /// Takes one held message from decoding to acknowledgement.
    private func process(_ item: QueuedDelivery) async {
        let delivery = item.delivery
        let message: TaskMessage
        if let decoded = item.message {
            message = decoded
        } else {
            do {
                message = try TaskMessage(envelope: delivery.raw, options: configuration.decoding)
            } catch {
                logger.error(
                    "Rejected message \(delivery.tagDescription) from queue \(delivery.queue): \(error)",
                    metadata: [LoggingKeys.queue: "\(delivery.queue)"])
                metrics.rejected.increment()
                // A caller may be waiting on the id: a FAILURE answers it, as Celery answers an
                // unregistered task, instead of a get() that waits forever.
                if let id = TaskMessage.taskID(ofRejected: delivery.raw) {
                    let failure = error.pythonException
                    await store(
                        TaskResultDocument(
                            taskID: id, status: .failure, result: failure.jsonValue,
                            traceback: Self.traceback(for: failure, task: "(rejected message)"),
                            dateDone: CeleryTime.isoformat(Date())),
                        logger: logger)
                }
                await finish(delivery)
                return
            }
        }
        let name = message.headers.task
        let id = message.headers.id
        var taskLogger = logger
        taskLogger[metadataKey: LoggingKeys.taskID] = "\(id)"
        taskLogger[metadataKey: LoggingKeys.taskName] = "\(name)"
        let shownName = message.headers.shadow ?? name

        guard let definition = registry[name] else {
            taskLogger.error(
                "Received unregistered task of type '\(name)'.\nThe message has been ignored and discarded.\n\nDid you remember to import the module containing this task?\nOr maybe you're using relative imports?")
            let failure = ExceptionInfo(type: "NotRegistered", module: "celery.exceptions", arguments: [.string(name)])
            await store(resultDocument(for: message, queue: delivery.queue, status: .failure, result: failure.jsonValue), logger: taskLogger)
            metrics.rejected.increment()
            await finish(delivery)
            return
        }
        if item.message == nil {
            metrics.task(name).received.increment()
            taskLogger.info("Task \(shownName)[\(id)] received")
            await events.taskEvent("task-received", [
                ("uuid", .string(id)), ("name", .string(name)), ("args", .string(message.headers.argsrepr ?? PythonRepr.tupleRepr(message.args))),
                ("kwargs", .string(message.headers.kwargsrepr ?? PythonRepr.dictRepr(message.kwargs))),
                ("root_id", message.headers.rootID.map(JSONValue.string) ?? nil), ("parent_id", message.headers.parentID.map(JSONValue.string) ?? nil),
                ("retries", .integer(Int64(message.headers.retries))), ("eta", message.headers.eta.map(JSONValue.string) ?? nil),
                ("expires", message.headers.expires.map(JSONValue.string) ?? nil),
            ])
        }

        if state.isRevoked(id) {
            taskLogger.info("Discarding revoked task: \(shownName)[\(id)]")
            await revokeResult(of: message, queue: delivery.queue, reason: "revoked", logger: taskLogger)
            await finish(delivery)
            return
        }

        if let expires = message.headers.expires.flatMap(CeleryTime.parse), expires.date < Date() {
            taskLogger.info("Discarding revoked task: \(shownName)[\(id)] (expired)")
            await revokeResult(of: message, queue: delivery.queue, reason: "expired", logger: taskLogger)
            await finish(delivery)
            return
        }
        if item.message == nil, let eta = message.headers.eta.flatMap(CeleryTime.parse) {
            let wait = eta.date.timeIntervalSinceNow
            if wait > 0 {
                // Held unacknowledged until due, without a slot or prefetch room, as Celery does.
                schedule.schedule(
                    QueuedDelivery(delivery: delivery, message: message),
                    due: ContinuousClock.now.advanced(by: .fromSeconds(wait) ?? .zero))
                buffer.release()
                return
            }
        }
        await execute(message, delivery: delivery, definition: definition, logger: taskLogger)
    }

    /// Runs a decoded, due task and records its outcome.
    private func execute(_ message: TaskMessage, delivery: Delivery, definition: TaskDefinition, logger: Logger) async {
        let id = message.headers.id
        let shownName = message.headers.shadow ?? message.headers.task
        let acksLate = definition.options.acksLate ?? workerConfiguration.acksLate
        // Early ack: acknowledged as the task starts (at most once), as Celery does, so a
        // message that brings the process down is not redelivered to every worker in turn.
        // It goes out as work of its own, like the work after a task, so its round trip
        // overlaps the task and never holds the slot; shutdown waits for it with the rest.
        if !acksLate { await completions.start { await self.finish(delivery) } }
        if configuration.trackStarted {
            let started: JSONValue = [
                "pid": .integer(Int64(ProcessInfo.processInfo.processIdentifier)),
                "hostname": .string(workerConfiguration.hostname),
            ]
            await store(
                resultDocument(for: message, queue: delivery.queue, status: .started, result: started, dateDone: false),
                logger: logger)
        }

        let backend = self.backend
        let queue = delivery.queue
        var request = TaskRequest(
            message: message, queue: queue, hostname: workerConfiguration.hostname, logger: logger,
            stateUpdater: { [self] state, meta in
                try await backend.store(
                    resultDocument(for: message, queue: queue, status: state, result: meta, dateDone: state.isReady))
            })
        let ignoreResult = definition.options.ignoreResult || (message.headers.ignoreResult ?? false)
        // The message's limits, then the `time_limit` control command's, the task's, the worker's.
        let limits = message.headers.timeLimit
        let runtimeLimits = state.timeLimits(for: message.headers.task)
        let hardLimit = Duration.timeLimit(seconds: limits.hard) ?? runtimeLimits?.hard ?? definition.options.timeLimit
            ?? workerConfiguration.timeLimit
        let softLimit = Duration.timeLimit(seconds: limits.soft) ?? runtimeLimits?.soft ?? definition.options.softTimeLimit
            ?? workerConfiguration.softTimeLimit
        if let rateLimit = state.rateLimit(for: message.headers.task) { await rateLimit.acquire() }
        request.timeLimit = hardLimit
        request.softTimeLimit = softLimit
        request.services = WorkerServices(publisher: canvas.publisher, registry: registry)

        let clock = ContinuousClock()
        let started = clock.now
        let taskMetrics = metrics.task(message.headers.task)
        if message.headers.eta == nil { WorkerMetrics.record(taskMetrics.wait, from: delivery.fetchedAt, to: started) }
        metrics.active.increment()
        defer { metrics.active.decrement() }
        let prepared = request
        let work = Task(executorPreference: taskExecutor) { try await definition.handler(prepared) }
        state.started(id, WorkerState.ActiveTask(
            message: message, queue: delivery.queue, started: Date(), acknowledged: !acksLate, cancel: { work.cancel() }))
        await events.taskEvent("task-started", [("uuid", .string(id))])
        let outcome = await runWithTimeLimits(soft: softLimit?.enforcedLimit, hard: hardLimit?.enforcedLimit, work: work)
        let runtimeSeconds = (clock.now - started).timeInterval
        WorkerMetrics.record(taskMetrics.runtime, from: started, to: clock.now)
        let terminated = state.finished(id)
        if terminated {
            logger.info("Task \(shownName)[\(id)] terminated by revoke")
            await revokeResult(of: message, queue: delivery.queue, reason: "terminated", logger: logger)
            if acksLate { await finish(delivery) }
            return
        }
        if Task.isCancelled, case .finished(.failure) = outcome {
            // Cold shutdown interrupted the task: store nothing and leave its message as it is,
            // so an acks_late task stays in unacked for the visibility restore, as in Celery.
            logger.warning("Task \(shownName)[\(id)] interrupted by cold shutdown; its message is left unacknowledged")
            if acksLate { buffer.release() }
            return
        }
        let context = Completion(
            message: message, delivery: delivery, definition: definition, acksLate: acksLate, ignoreResult: ignoreResult,
            hardLimit: hardLimit, softLimit: softLimit, runtimeSeconds: runtimeSeconds, logger: logger)
        await completions.start { await self.complete(context, outcome: outcome) }
    }

    /// What the work after a task needs to know about it.
    private struct Completion: Sendable {
        var message: TaskMessage
        var delivery: Delivery
        var definition: TaskDefinition
        var acksLate: Bool
        var ignoreResult: Bool
        var hardLimit: Duration?
        var softLimit: Duration?
        var runtimeSeconds: Double
        var logger: Logger
    }

    /// Publishes callbacks, stores the result, counts the chord, sends events and, for
    /// acks_late tasks, acknowledges: everything after the task ran, in Celery's order.
    private func complete(_ context: Completion, outcome: LimitedOutcome) async {
        let (message, delivery, definition, logger) = (context.message, context.delivery, context.definition, context.logger)
        let (acksLate, ignoreResult, hardLimit, softLimit) = (context.acksLate, context.ignoreResult, context.hardLimit, context.softLimit)
        let id = message.headers.id
        let shownName = message.headers.shadow ?? message.headers.task
        let runtimeSeconds = context.runtimeSeconds
        let runtime = PythonFloat.repr(runtimeSeconds)
        var requeue = false
        switch outcome {
        case .finished(.success(let value)):
            // Callbacks and the next chain step go out before the result is stored, as in Celery.
            var children: [String] = []
            do {
                children = try await canvas.publishSuccessors(of: message, result: value)
            } catch {
                logger.error("Cannot publish the callbacks of \(shownName)[\(id)]: \(error)")
            }
            if !ignoreResult {
                await store(
                    resultDocument(
                        for: message, queue: delivery.queue, status: .success, result: value,
                        children: .array(children.map { [[.string($0), nil], nil] })),
                    logger: logger)
            }
            await chordPartReturn(of: message, state: .success, result: value, logger: logger)
            metrics.task(message.headers.task).succeeded.increment()
            logger.info("Task \(shownName)[\(id)] succeeded in \(runtime)s: \(PythonRepr.repr(value, limit: Self.reprLimit))")
            await events.taskEvent("task-succeeded", [
                ("uuid", .string(id)), ("result", .string(PythonRepr.repr(value, limit: Self.reprLimit))),
                ("runtime", .double(runtimeSeconds)),
            ])
        case .hardLimitExceeded:
            let limit = (hardLimit ?? .zero).timeInterval
            let exceeded = ExceptionInfo(
                type: "TimeLimitExceeded", module: "billiard.exceptions",
                arguments: [limit == limit.rounded() ? .integer(Int64(limit)) : .double(limit)])
            logger.error("Hard time limit (\(PythonFloat.repr(limit))s) exceeded for \(shownName)[\(id)]")
            metrics.task(message.headers.task).failed.increment()
            await store(resultDocument(for: message, queue: delivery.queue, status: .failure, result: exceeded.jsonValue), logger: logger)
            await chordPartReturn(of: message, state: .failure, result: exceeded.jsonValue, logger: logger)
            await failChain(
                of: message, exception: exceeded, traceback: Self.traceback(for: exceeded, task: message.headers.task),
                queue: delivery.queue, logger: logger)
            await publishErrbacks(
                of: message, queue: delivery.queue, exception: exceeded,
                traceback: Self.traceback(for: exceeded, task: message.headers.task), logger: logger)
        case .finished(.failure(let error as TaskRetry)):
            await retry(message, delivery: delivery, definition: definition, retry: error, logger: logger)
        case .finished(.failure(let error as TaskReject)):
            requeue = error.requeue && acksLate
            logger.info("Task \(shownName)[\(id)] rejected\(error.requeue ? " (requeued)" : ""): \(error.reason ?? "")")
            if !error.requeue, !ignoreResult {
                // Celery 5.7 records a permanent rejection as FAILURE with the Reject exception.
                let reject = ExceptionInfo(
                    type: "Reject", module: "celery.exceptions",
                    arguments: [error.reason.map(JSONValue.string) ?? .null, .bool(false)])
                await store(
                    resultDocument(for: message, queue: delivery.queue, status: .failure, result: reject.jsonValue,
                                   traceback: Self.traceback(for: reject, task: message.headers.task)),
                    logger: logger)
            }
            await events.taskEvent("task-rejected", [("uuid", .string(id)), ("requeue", .bool(requeue))])
        case .finished(.failure(is TaskIgnore)):
            logger.info("Task \(shownName)[\(id)] ignored")
        case .finished(.failure(let error)):
            var exception = Self.pythonException(for: error)
            if error is CancellationError, softLimit != nil {
                exception = PythonException("SoftTimeLimitExceeded", module: "billiard.exceptions")
            }
            if definition.options.autoretryFor.contains(exception.info.type) {
                let countdown = definition.options.retryBackoff > .zero
                    ? definition.options.backoffCountdown(retries: message.headers.retries)
                    : definition.options.defaultRetryDelay
                await retry(
                    message, delivery: delivery, definition: definition,
                    retry: TaskRetry(countdown: countdown, exception: exception), logger: logger)
                break
            }
            await fail(message, delivery: delivery, exception: exception, ignoreResult: ignoreResult, logger: logger)
        }
        // A result Redis would not take before the worker stopped: return the message rather
        // than acknowledge it, so its outcome is computed again instead of lost.
        let outcomeLost = lostOutcomes.withLock { $0.remove(id) != nil }
        if acksLate { await finish(delivery, requeue: requeue || outcomeLost) }
    }

    private func fail(_ message: TaskMessage, delivery: Delivery, exception: PythonException, ignoreResult: Bool, logger: Logger) async {
        metrics.task(message.headers.task).failed.increment()
        let traceback = exception.traceback ?? Self.traceback(for: exception.info, task: message.headers.task)
        if !ignoreResult {
            await store(
                resultDocument(
                    for: message, queue: delivery.queue, status: .failure, result: exception.info.jsonValue, traceback: traceback),
                logger: logger)
        }
        logger.error(
            "Task \(message.headers.shadow ?? message.headers.task)[\(message.headers.id)] raised unexpected: \(exception.info.pythonRepr)\n\(traceback)"
        )
        await chordPartReturn(of: message, state: .failure, result: exception.info.jsonValue, logger: logger)
        await failChain(
            of: message, exception: exception.info, traceback: traceback, storeResults: !ignoreResult, queue: delivery.queue,
            logger: logger)
        await publishErrbacks(of: message, queue: delivery.queue, exception: exception.info, traceback: traceback, logger: logger)
        await events.taskEvent("task-failed", [
            ("uuid", .string(message.headers.id)), ("exception", .string(exception.info.pythonRepr)), ("traceback", .string(traceback)),
        ])
    }

    /// Stores REVOKED with `TaskRevokedError(reason)` (`revoked`, `expired`, `terminated`),
    /// counts it towards its chord, and sends `task-revoked`.
    private func revokeResult(of message: TaskMessage, queue: String, reason: String, logger: Logger) async {
        let revoked = ExceptionInfo(type: "TaskRevokedError", module: "celery.exceptions", arguments: [.string(reason)])
        await store(resultDocument(for: message, queue: queue, status: .revoked, result: revoked.jsonValue), logger: logger)
        await chordPartReturn(of: message, state: .revoked, result: revoked.jsonValue, logger: logger)
        await events.taskEvent("task-revoked", [
            ("uuid", .string(message.headers.id)), ("terminated", .bool(reason == "terminated")),
            ("signum", reason == "terminated" ? 15 : nil), ("expired", .bool(reason == "expired")),
        ])
    }

    private func publishErrbacks(
        of message: TaskMessage, queue: String, exception: ExceptionInfo, traceback: String, logger: Logger
    ) async {
        do {
            try await canvas.runErrbacks(
                of: message, queue: queue, hostname: workerConfiguration.hostname, exception: exception, traceback: traceback)
        } catch {
            logger.error("Cannot publish the errbacks of \(message.headers.task)[\(message.headers.id)]: \(error)")
        }
    }

    private func chordPartReturn(of message: TaskMessage, state: TaskState, result: JSONValue, logger: Logger) async {
        do {
            try await canvas.chordPartReturn(
                of: message, state: state, result: result, hostname: workerConfiguration.hostname,
                queue: message.properties.routingKey ?? configuration.defaultQueue)
        } catch {
            logger.error("Chord \(message.headers.group ?? "?") of \(message.headers.task)[\(message.headers.id)] failed: \(error)")
        }
    }

    /// Celery's `mark_as_failure` for the chain after a failed task: every later step is
    /// failed with the same exception, so nobody waits on it forever.
    private func failChain(
        of message: TaskMessage, exception: ExceptionInfo, traceback: String?, storeResults: Bool = true, queue: String, logger: Logger
    ) async {
        guard case .array(let steps)? = message.embed["chain"], !steps.isEmpty else { return }
        do {
            try await canvas.failChain(
                of: message, exception: exception, traceback: traceback, storeResults: storeResults,
                hostname: workerConfiguration.hostname, queue: queue)
        } catch {
            logger.error("Cannot fail the chain after \(message.headers.task)[\(message.headers.id)]: \(error)")
        }
    }

    /// Celery's `Task.retry`: re-publish the same task id with `retries + 1` and the new ETA,
    /// store RETRY, and let the original be acknowledged; past `max_retries`, fail instead.
    private func retry(
        _ message: TaskMessage, delivery: Delivery, definition: TaskDefinition, retry: TaskRetry, logger: Logger
    ) async {
        let headers = message.headers
        let (retries, overflow) = headers.retries.addingReportingOverflow(1)
        if overflow || (retry.maxRetries ?? definition.options.maxRetries).map({ retries > $0 }) ?? false {
            let exception = retry.exception ?? PythonException(
                "MaxRetriesExceededError", module: "celery.exceptions",
                arguments: [
                    .string("Can't retry \(headers.task)[\(headers.id)] args:\(PythonRepr.tupleRepr(retry.args ?? message.args)) kwargs:\(PythonRepr.dictRepr(retry.kwargs ?? message.kwargs))")
                ])
            await fail(message, delivery: delivery, exception: exception, ignoreResult: false, logger: logger)
            return
        }
        let now = Date()
        let eta = retry.eta ?? now.addingTimeInterval((retry.countdown ?? definition.options.defaultRetryDelay).timeInterval)
        let when = retry.eta.map { "at \(CeleryTime.isoformat($0))" }
            ?? "in \(Self.secondsText(retry.countdown ?? definition.options.defaultRetryDelay))s"

        var next = message
        next.headers.retries = retries
        next.headers.eta = CeleryTime.isoformat(eta)
        next.headers.parentID = headers.parentID ?? headers.id
        next.headers.object["origin"] = .string(origin)
        if let args = retry.args {
            next.args = args
            next.headers.object["argsrepr"] = .string(PythonRepr.tupleRepr(args))
        }
        if let kwargs = retry.kwargs {
            next.kwargs = kwargs
            next.headers.object["kwargsrepr"] = .string(PythonRepr.dictRepr(kwargs))
        }
        if let expiresIn = retry.expiresIn {
            next.headers.object["expires"] = .string(CeleryTime.isoformat(now.addingTimeInterval(expiresIn.timeInterval)))
        }
        let queue = message.properties.exchange.isEmpty ? (message.properties.routingKey ?? delivery.queue) : delivery.queue
        let expiration = next.headers.expires.flatMap(CeleryTime.parse).map {
            String(max(0, Int(min(($0.date.timeIntervalSince(now) * 1000).rounded(.down), 1e15))))
        }
        next.properties = MessageProperties(
            correlationID: headers.id, replyTo: message.properties.object["reply_to"]?.stringValue ?? "",
            routingKey: queue, priority: message.properties.priority, deliveryTag: RandomUUID.string(),
            expiration: expiration, origin: origin)
        do {
            try await broker.publish(next.envelopeBytes(), queue: queue, priority: message.properties.priority)
        } catch {
            logger.error("Cannot re-publish \(headers.task)[\(headers.id)] for its retry: \(error)")
            await fail(message, delivery: delivery, exception: .runtimeError("retry could not be published: \(error)"), ignoreResult: false, logger: logger)
            return
        }
        let reason = "Retry \(when)" + (retry.exception.map { ": \($0.info.pythonRepr)" } ?? "")
        let traceback = "Traceback (most recent call last):\n  File \"<swift-celery>\", line 1, in \(headers.task)\n    (task implemented in Swift)\ncelery.exceptions.Retry: \(reason)\n"
        await store(
            resultDocument(
                for: message, queue: delivery.queue, status: .retry, result: retry.exception?.info.jsonValue ?? .null,
                traceback: traceback, children: [[[.string(headers.id), nil], nil]], dateDone: false),
            logger: logger)
        logger.info("Task \(headers.shadow ?? headers.task)[\(headers.id)] retry: \(reason)")
        metrics.task(message.headers.task).retried.increment()
        await events.taskEvent("task-retried", [
            ("uuid", .string(headers.id)), ("exception", .string("Retry(\(PythonRepr.stringRepr(reason)))")), ("traceback", .string(traceback)),
        ])
    }

    /// The result document Celery's backend writes for `message` in `status`.
    private func resultDocument(
        for message: TaskMessage, queue: String, status: TaskState, result: JSONValue, traceback: String? = nil,
        children: JSONValue = .array([]), dateDone: Bool = true
    ) -> TaskResultDocument {
        var extended: JSONObject?
        if configuration.resultExtended {
            extended = [
                "name": .string(message.headers.task), "args": .array(message.args), "kwargs": .object(message.kwargs),
                "worker": .string(workerConfiguration.hostname), "retries": .integer(Int64(message.headers.retries)),
                "queue": .string(queue),
            ]
        }
        return TaskResultDocument(
            taskID: message.headers.id, status: status, result: result, traceback: traceback, children: children,
            dateDone: dateDone ? CeleryTime.isoformat(Date()) : nil, groupID: message.headers.group,
            parentID: message.headers.parentID, extended: extended)
    }

    /// Gives the delivery's prefetch room back and acks it (kombu's ack and reject-without-
    /// requeue are the same commands), or with `requeue` puts it back at the end of its queue.
    /// A failure is logged; the message then stays in `unacked` and comes back after the
    /// visibility timeout, as with Celery.
    ///
    /// The room is given back as the ack is issued, not when Redis has answered: the message
    /// is done with, and an ack waiting in a batch must not keep the consumer from fetching
    /// (that wait bounded the drain rate: +20–30 % with the default prefetch). kombu frees
    /// the credit once its ack has returned, so `unacked` may hold, beyond the prefetch
    /// bound, the acks still on their way: about one per slot when tasks take any time.
    private func finish(_ delivery: Delivery, requeue: Bool = false) async {
        buffer.release()
        guard let tag = delivery.deliveryTag else { return }
        do {
            if requeue {
                try await broker.restore(deliveryTag: tag, leftmost: true)
            } else {
                try await broker.ack(deliveryTag: tag)
            }
            ackOutage.succeeded()
        } catch {
            ackOutage.failed("Cannot acknowledge \(delivery.tagDescription)", error, metadata: [LoggingKeys.deliveryTag: "\(delivery.tagDescription)"])
        }
    }

    /// Stores a result. A result is state a caller waits for, so while the worker runs it is
    /// kept and retried, with back-off capped at a second, as long as Redis refuses it for a
    /// reason that passes: the connection is down, or Redis reached `maxmemory` under
    /// `noeviction` (logged with Redis's own `OOM command not allowed ...` text, once per
    /// outage). Once the worker is stopping it gets Celery's backend retry budget (about 20
    /// tries over 15 s) and then gives up: the task id is noted in ``lostOutcomes`` so that an
    /// acks_late message is returned to its queue instead of acknowledged.
    ///
    /// - Returns: whether the document was stored.
    @discardableResult
    private func store(_ document: TaskResultDocument, logger: Logger) async -> Bool {
        var backoff = Backoff(base: .milliseconds(100), cap: .seconds(1))
        var triesWhileStopping = 0
        while true {
            do {
                try await backend.store(document)
                storeOutage.succeeded()
                return true
            } catch let error as RedisError where error.isConnectionError || error.isOutOfMemory {
                if stopping.load(ordering: .relaxed) { triesWhileStopping += 1 }
                guard triesWhileStopping <= 20 else {
                    logger.error(
                        "Cannot store the result of \(document.taskID) (\(document.status)) before the worker stopped: \(error)")
                    lostOutcomes.withLock { _ = $0.insert(document.taskID) }
                    return false
                }
                storeOutage.failed("Cannot store the result of \(document.taskID) (\(document.status)); retrying", error)
                try? await Task.sleep(for: backoff.next())
            } catch {
                logger.error("Cannot store the result of \(document.taskID) (\(document.status)): \(error)")
                return false
            }
        }
    }

    /// On shutdown, puts every held message no slot started (prefetched ones and those
    /// waiting for their ETA) back at the consuming end of its queue, as kombu does.
    private func returnHeldMessages() async {
        let held = buffer.drainUnstarted() + schedule.drain()
        guard !held.isEmpty else { return }
        logger.info("Restoring \(held.count) unacknowledged message(s)")
        for delivery in held {
            guard let tag = delivery.deliveryTag else { continue }
            do {
                try await broker.restore(deliveryTag: tag)
            } catch {
                logger.error("Cannot restore \(delivery.tagDescription); it stays in unacked for the visibility restore: \(error)")
            }
        }
    }

    static func pythonException(for error: any Error) -> PythonException {
        if let exception = error as? PythonException { return exception }
        if error is CancellationError { return PythonException("TaskCancelled", module: "swift_celery", arguments: ["cancelled"]) }
        return PythonException.runtimeError("\(type(of: error)): \(error)")
    }

    /// A traceback in Python's format for an exception raised by Swift code, so Python's
    /// `AsyncResult.traceback` reads as it would for a Python task.
    static func traceback(for exception: ExceptionInfo, task: String) -> String {
        let qualified = exception.module == "builtins" ? exception.type : "\(exception.module).\(exception.type)"
        let text = exception.pythonStr
        return "Traceback (most recent call last):\n  File \"<swift-celery>\", line 1, in \(task)\n    (task implemented in Swift)\n"
            + (text.isEmpty ? qualified : "\(qualified): \(text)") + "\n"
    }

    /// Celery's `resultrepr_maxsize`: how much of a result's repr logs and events show.
    static let reprLimit = 1024

    /// Seconds as Python prints the number the caller gave: `5`, `1.5`.
    static func secondsText(_ duration: Duration) -> String {
        let seconds = duration.timeInterval
        return seconds == seconds.rounded() ? String(Int64(seconds)) : PythonFloat.repr(seconds)
    }

    private static func rotated(_ keys: [String], stepWidth: Int) -> [String] {
        stride(from: 0, to: keys.count, by: stepWidth).flatMap { start -> [String] in
            let step = keys[start..<min(start + stepWidth, keys.count)]
            return Array(step.dropFirst()) + step.prefix(1)
        }
    }
}

/// Capped exponential backoff with jitter for reconnect attempts.
struct Backoff {
    private(set) var failures = 0
    var base: Duration
    var cap: Duration

    init(base: Duration = .milliseconds(100), cap: Duration = .seconds(5)) {
        self.base = base
        self.cap = cap
    }

    mutating func next() -> Duration {
        failures += 1
        let exponent = min(failures - 1, 16)
        let ceiling = min(base * (1 << exponent), cap)
        return ceiling * Double.random(in: 0.5...1.0)
    }

    mutating func reset() { failures = 0 }
}
