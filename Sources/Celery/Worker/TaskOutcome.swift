#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization
import Metrics
internal import CeleryRedis

/// What happens after a task ran, in Celery's order: callbacks and the chain's next step,
/// the result, the chord, errbacks, retries, events, and the acks_late acknowledgement.
extension CeleryWorker {
    /// Publishes callbacks, stores the result, counts the chord, sends events and, for
    /// acks_late tasks, acknowledges: everything after the task ran, in Celery's order.
    func complete(_ context: Completion, outcome: LimitedOutcome) async {
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

    func fail(_ message: TaskMessage, delivery: Delivery, exception: PythonException, ignoreResult: Bool, logger: Logger) async {
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
    func revokeResult(of message: TaskMessage, queue: String, reason: String, logger: Logger) async {
        let revoked = ExceptionInfo(type: "TaskRevokedError", module: "celery.exceptions", arguments: [.string(reason)])
        await store(resultDocument(for: message, queue: queue, status: .revoked, result: revoked.jsonValue), logger: logger)
        await chordPartReturn(of: message, state: .revoked, result: revoked.jsonValue, logger: logger)
        await events.taskEvent("task-revoked", [
            ("uuid", .string(message.headers.id)), ("terminated", .bool(reason == "terminated")),
            ("signum", reason == "terminated" ? 15 : nil), ("expired", .bool(reason == "expired")),
        ])
    }

    func publishErrbacks(
        of message: TaskMessage, queue: String, exception: ExceptionInfo, traceback: String, logger: Logger
    ) async {
        do {
            try await canvas.runErrbacks(
                of: message, queue: queue, hostname: workerConfiguration.hostname, exception: exception, traceback: traceback)
        } catch {
            logger.error("Cannot publish the errbacks of \(message.headers.task)[\(message.headers.id)]: \(error)")
        }
    }

    func chordPartReturn(of message: TaskMessage, state: TaskState, result: JSONValue, logger: Logger) async {
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
    func failChain(
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
    func retry(
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
    func resultDocument(
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
}
