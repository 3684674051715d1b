#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization
import Metrics
internal import CeleryRedis

/// A held message from decoding to running: rejection, unregistered, revoked, expired, ETA
/// hold, early ack, STARTED, limits, and the hand-over to the completion.
extension CeleryWorker {
    /// Takes one held message from decoding to acknowledgement.
    func process(_ item: QueuedDelivery) async {
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

        let definition = registry[name]
        let decision = TaskLifecycle.arrival(
            TaskLifecycle.Arrival(
                isRegistered: definition != nil, isRevoked: state.isRevoked(id),
                expires: message.headers.expires.flatMap(CeleryTime.parse)?.date,
                eta: message.headers.eta.flatMap(CeleryTime.parse)?.date, wasHeld: item.message != nil,
                acksLate: definition?.options.acksLate ?? workerConfiguration.acksLate, trackStarted: configuration.trackStarted),
            now: Date())
        guard let definition, decision != .unregistered else {
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

        switch decision {
        case .unregistered:
            return
        case .discard(let reason):
            taskLogger.info("Discarding revoked task: \(shownName)[\(id)]\(reason == .expired ? " (expired)" : "")")
            await revokeResult(of: message, queue: delivery.queue, reason: reason.rawValue, logger: taskLogger)
            await finish(delivery)
        case .hold(let eta):
            // Held unacknowledged until due, without a slot or prefetch room, as Celery does.
            schedule.schedule(
                QueuedDelivery(delivery: delivery, message: message),
                due: ContinuousClock.now.advanced(by: .fromSeconds(eta.timeIntervalSinceNow) ?? .zero))
            buffer.release()
        case .run(let acknowledgeFirst, let storeStarted):
            await execute(
                message, delivery: delivery, definition: definition, acknowledgeFirst: acknowledgeFirst, storeStarted: storeStarted,
                logger: taskLogger)
        }
    }

    /// Runs a decoded, due task and records its outcome.
    func execute(
        _ message: TaskMessage, delivery: Delivery, definition: TaskDefinition, acknowledgeFirst: Bool, storeStarted: Bool,
        logger: Logger
    ) async {
        let id = message.headers.id
        let shownName = message.headers.shadow ?? message.headers.task
        let acksLate = !acknowledgeFirst
        // Early ack: acknowledged as the task starts (at most once), as Celery does, so a
        // message that brings the process down is not redelivered to every worker in turn.
        // It goes out as work of its own, like the work after a task, so its round trip
        // overlaps the task and never holds the slot; shutdown waits for it with the rest.
        // With worker_disable_prefetch an early-acknowledged task keeps its credit until done.
        let creditHeld = !acksLate && workerConfiguration.disablePrefetch
        if !acksLate { await completions.start { await self.finish(delivery, releaseCredit: !creditHeld) } }
        if storeStarted {
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
            if creditHeld { buffer.release() }
            return
        }
        if Task.isCancelled, case .finished(.failure) = outcome {
            // Cold shutdown interrupted the task: store nothing and leave its message as it is,
            // so an acks_late task stays in unacked for the visibility restore, as in Celery.
            logger.warning("Task \(shownName)[\(id)] interrupted by cold shutdown; its message is left unacknowledged")
            if acksLate || creditHeld { buffer.release() }
            return
        }
        let context = Completion(
            message: message, delivery: delivery, definition: definition, acksLate: acksLate, ignoreResult: ignoreResult,
            hardLimit: hardLimit, softLimit: softLimit, runtimeSeconds: runtimeSeconds, logger: logger)
        await completions.start { await self.complete(context, outcome: outcome) }
    }

    /// What the work after a task needs to know about it.
    struct Completion: Sendable {
        var message: TaskMessage
        var delivery: Delivery
        var definition: TaskDefinition
        var acksLate: Bool
        var ignoreResult: Bool
        var hardLimit: Duration?
        var softLimit: Duration?
        var runtimeSeconds: Double
        var logger: Logger

        /// The name log lines show: the `shadow` name when the message has one.
        var shownName: String { message.headers.shadow ?? message.headers.task }
    }
}
