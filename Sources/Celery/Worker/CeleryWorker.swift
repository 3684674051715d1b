#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Logging
public import ServiceLifecycle
import Synchronization

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
    private let logger: Logger
    private let broker: RedisBroker
    private let backend: RedisResultBackend
    private let buffer: DeliveryBuffer

    /// Creates a worker; connections open when it runs.
    ///
    /// - Throws: ``CeleryError`` with code `invalidConfiguration` when a URL cannot be used.
    public init(
        configuration: CeleryConfiguration, workerConfiguration: WorkerConfiguration = WorkerConfiguration(),
        registry: TaskRegistry, logger: Logger
    ) throws {
        self.configuration = configuration
        self.workerConfiguration = workerConfiguration
        self.registry = registry
        var logger = logger
        logger[metadataKey: LoggingKeys.hostname] = "\(workerConfiguration.hostname)"
        self.logger = logger
        do {
            broker = try RedisBroker(url: configuration.brokerURL)
            backend = try RedisResultBackend(url: configuration.resultBackendURL, expires: configuration.resultExpires)
        } catch {
            throw CeleryError(code: .invalidConfiguration, message: "\(error)")
        }
        buffer = DeliveryBuffer(limit: workerConfiguration.concurrency * workerConfiguration.prefetchMultiplier)
    }

    /// Consumes until graceful shutdown or cancellation.
    public func run() async throws {
        logger.info(
            "Connected to \(broker.endpoint); results in \(backend.endpoint); queues \(workerConfiguration.queues.joined(separator: ", ")); concurrency \(workerConfiguration.concurrency), prefetch \(buffer.limit)"
        )
        logger.info("[tasks]\n\(registry.names.map { "  . \($0)" }.joined(separator: "\n"))")
        logger.info("\(workerConfiguration.hostname) ready.")
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withDiscardingTaskGroup { group in
                    group.addTask { await self.consumeLoop() }
                    for _ in 0..<self.workerConfiguration.concurrency {
                        group.addTask {
                            while let delivery = await self.buffer.next() { await self.process(delivery) }
                        }
                    }
                }
            } onCancel: {
                self.buffer.shutdown()
            }
        } onGracefulShutdown: {
            self.logger.info("worker: Warm shutdown (MainProcess)")
            self.buffer.shutdown()
        }
        await returnUnstarted()
        broker.close()
        backend.close()
    }

    /// Fetches while there is room, in batches when the queues have messages and with a
    /// blocking pop when they are empty; backs off while the broker is unreachable.
    private func consumeLoop() async {
        var keys = RedisBroker.consumeKeys(queues: workerConfiguration.queues)
        let keysPerStep = workerConfiguration.queues.count
        var backoff = Backoff()
        while true {
            let room = await buffer.waitForRoom()
            guard room > 0 else { return }
            do {
                var deliveries = try await broker.fetch(keys: keys, limit: room)
                if deliveries.isEmpty, !buffer.isShutDown {
                    deliveries = try await broker.waitAndFetch(keys: keys, timeout: workerConfiguration.pollTimeoutSeconds)
                }
                if backoff.failures > 0 { logger.info("consumer: Connection to broker restored: \(broker.endpoint)") }
                backoff.reset()
                guard !deliveries.isEmpty else { continue }
                buffer.append(deliveries)
                // Rotate the queues within each priority step so several queues are served fairly.
                if keysPerStep > 1 { keys = Self.rotated(keys, stepWidth: keysPerStep) }
            } catch {
                let delay = backoff.next()
                if backoff.failures == 1 {
                    logger.error("consumer: Cannot connect to \(broker.endpoint): \(error). Trying again in \(delay)...")
                }
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// Runs one delivery from decoding to acknowledgement.
    private func process(_ delivery: Delivery) async {
        let message: TaskMessage
        do {
            message = try TaskMessage(envelope: delivery.raw, options: configuration.decoding)
        } catch {
            logger.error(
                "Rejected message \(delivery.deliveryTag ?? "(no delivery tag)") from queue \(delivery.queue): \(error)",
                metadata: [LoggingKeys.queue: "\(delivery.queue)"])
            await acknowledge(delivery)
            return
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
            await store(
                TaskResultDocument(
                    taskID: id, status: .failure,
                    result: ExceptionInfo(type: "NotRegistered", module: "celery.exceptions", arguments: [.string(name)]).jsonValue,
                    dateDone: CeleryTime.isoformat(Date()), groupID: message.headers.group, parentID: message.headers.parentID),
                logger: taskLogger)
            await acknowledge(delivery)
            return
        }
        taskLogger.info("Task \(shownName)[\(id)] received")

        if let expires = message.headers.expires.flatMap(CeleryTime.parse), expires.date < Date() {
            taskLogger.info("Discarding revoked task: \(shownName)[\(id)] (expired)")
            await store(
                TaskResultDocument(
                    taskID: id, status: .revoked,
                    result: ExceptionInfo(type: "TaskRevokedError", module: "celery.exceptions", arguments: ["expired"]).jsonValue,
                    children: .null, dateDone: CeleryTime.isoformat(Date()), groupID: message.headers.group,
                    parentID: message.headers.parentID),
                logger: taskLogger)
            await acknowledge(delivery)
            return
        }
        if let eta = message.headers.eta.flatMap(CeleryTime.parse) {
            let wait = eta.date.timeIntervalSinceNow
            if wait > 0 { try? await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
        }

        let acksLate = definition.options.acksLate ?? workerConfiguration.acksLate
        if !acksLate { await acknowledge(delivery) }

        let request = TaskRequest(message: message, queue: delivery.queue, hostname: workerConfiguration.hostname, logger: taskLogger)
        let ignoreResult = definition.options.ignoreResult || (message.headers.ignoreResult ?? false)
        let clock = ContinuousClock()
        let started = clock.now
        let outcome: Result<JSONValue, any Error>
        do {
            outcome = .success(try await definition.handler(request))
        } catch {
            outcome = .failure(error)
        }
        let runtime = PythonFloat.repr((clock.now - started).timeInterval)
        switch outcome {
        case .success(let value):
            if !ignoreResult {
                await store(
                    TaskResultDocument(
                        taskID: id, status: .success, result: value, dateDone: CeleryTime.isoformat(Date()),
                        groupID: message.headers.group, parentID: message.headers.parentID),
                    logger: taskLogger)
            }
            taskLogger.info("Task \(shownName)[\(id)] succeeded in \(runtime)s: \(PythonRepr.repr(value))")
        case .failure(let error):
            let exception = Self.pythonException(for: error)
            let traceback = exception.traceback ?? Self.traceback(for: exception.info, task: name)
            if !ignoreResult {
                await store(
                    TaskResultDocument(
                        taskID: id, status: .failure, result: exception.info.jsonValue, traceback: traceback,
                        dateDone: CeleryTime.isoformat(Date()), groupID: message.headers.group,
                        parentID: message.headers.parentID),
                    logger: taskLogger)
            }
            taskLogger.error("Task \(shownName)[\(id)] raised unexpected: \(exception.info.pythonRepr)\n\(traceback)")
        }
        if acksLate { await acknowledge(delivery) }
    }

    /// Acks the delivery (kombu's ack and reject-without-requeue are the same commands) and
    /// gives its prefetch room back. A failed ack is logged; the message then stays in
    /// `unacked` and comes back after the visibility timeout, as with Celery.
    private func acknowledge(_ delivery: Delivery) async {
        defer { buffer.release() }
        guard let tag = delivery.deliveryTag else { return }
        do {
            try await broker.ack(deliveryTag: tag)
        } catch {
            logger.error("Cannot acknowledge \(tag): \(error)", metadata: [LoggingKeys.deliveryTag: "\(tag)"])
        }
    }

    private func store(_ document: TaskResultDocument, logger: Logger) async {
        do {
            try await backend.store(document)
        } catch {
            logger.error("Cannot store the result of \(document.taskID) (\(document.status)): \(error)")
        }
    }

    /// On shutdown, puts every fetched but unstarted message back at the head of its queue.
    private func returnUnstarted() async {
        let unstarted = buffer.drainUnstarted()
        guard !unstarted.isEmpty else { return }
        logger.info("Restoring \(unstarted.count) unacknowledged message(s)")
        for delivery in unstarted {
            guard let tag = delivery.deliveryTag else { continue }
            do {
                try await broker.restore(deliveryTag: tag)
            } catch {
                logger.error("Cannot restore \(tag); it stays in unacked for the visibility restore: \(error)")
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
    var base = Duration.milliseconds(100)
    var cap = Duration.seconds(5)

    mutating func next() -> Duration {
        failures += 1
        let exponent = min(failures - 1, 16)
        let ceiling = min(base * (1 << exponent), cap)
        return ceiling * Double.random(in: 0.5...1.0)
    }

    mutating func reset() { failures = 0 }
}
