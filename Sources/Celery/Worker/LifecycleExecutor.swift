#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Metrics
import Synchronization

/// Carries out the steps ``TaskLifecycle`` decides after a task ran, against the broker and the
/// result store: the only place those effects happen, in the order the plan gives.
extension CeleryWorker {
    /// Everything after a task ran: resolves its outcome, plans the steps and performs them.
    func complete(_ context: Completion, outcome limited: LimitedOutcome) async {
        let outcome: TaskLifecycle.Outcome
        switch limited {
        case .finished(.success(let value)):
            outcome = .succeeded(value)
        case .finished(.failure(let error)):
            outcome = TaskLifecycle.outcome(
                of: error, message: context.message, options: context.definition.options, softLimited: context.softLimit != nil)
        case .hardLimitExceeded:
            let limit = (context.hardLimit ?? .zero).timeInterval
            outcome = .timedOut(ExceptionInfo(
                type: "TimeLimitExceeded", module: "billiard.exceptions",
                arguments: [limit == limit.rounded() ? .integer(Int64(limit)) : .double(limit)]))
        }
        await perform(
            TaskLifecycle.afterRun(
                outcome, acksLate: context.acksLate, ignoreResult: context.ignoreResult,
                acksOnFailure: workerConfiguration.acksOnFailure, acksOnTimeout: workerConfiguration.acksOnTimeout,
                creditHeld: !context.acksLate && workerConfiguration.disablePrefetch),
            outcome: outcome, context: context)
    }

    /// Performs `steps` for `outcome`, in order.
    func perform(_ steps: [TaskLifecycle.Step], outcome: TaskLifecycle.Outcome, context: Completion) async {
        let (message, delivery, logger) = (context.message, context.delivery, context.logger)
        let id = message.headers.id
        let task = message.headers.task
        let failure = Failure(outcome, task: task)
        var children: [String] = []
        var retryReason = ""
        var remaining = steps[...]
        if case .timedOut = outcome {
            // Celery's on_timeout logs it as a hard time limit, not as raised by the task.
            metrics.task(task).failed.increment()
            logger.error("Hard time limit (\(PythonFloat.repr((context.hardLimit ?? .zero).timeInterval))s) exceeded for \(context.shownName)[\(id)]")
        }
        while let step = remaining.popFirst() {
            switch step {
            case .publishSuccessors:
                guard case .succeeded(let value) = outcome else { continue }
                do {
                    children = try await canvas.publishSuccessors(of: message, result: value)
                } catch {
                    logger.error("Cannot publish the callbacks of \(context.shownName)[\(id)]: \(error)")
                }
            case .store(let status):
                let document: TaskResultDocument
                if case .succeeded(let value) = outcome {
                    document = resultDocument(
                        for: message, queue: delivery.queue, status: status, result: value,
                        children: .array(children.map { [[.string($0), nil], nil] }))
                } else if case .retried(let retry) = outcome {
                    document = resultDocument(
                        for: message, queue: delivery.queue, status: .retry, result: retry.exception?.info.jsonValue ?? .null,
                        traceback: TaskResultDocument.retryTraceback(task: task, reason: retryReason), children: [[[.string(id), nil], nil]],
                        dateDone: false)
                } else {
                    document = resultDocument(
                        for: message, queue: delivery.queue, status: status, result: failure?.info.jsonValue ?? .null,
                        traceback: failure?.traceback)
                }
                await store(document, logger: logger)
            case .publishRetry:
                guard case .retried(let retry) = outcome else { continue }
                let next = TaskMessageBuilder.retryMessage(
                    of: message, retry: retry, defaultDelay: context.definition.options.defaultRetryDelay,
                    deliveredFrom: delivery.queue, origin: origin,
                    compression: configuration.taskCompression.flatMap(ResultPayload.compressionContentType(named:)))
                do {
                    try await broker.publish(next.message.envelopeBytes(), queue: next.queue, priority: message.properties.priority)
                    retryReason = "Retry \(next.when)" + (retry.exception.map { ": \($0.info.pythonRepr)" } ?? "")
                } catch {
                    logger.error("Cannot re-publish \(task)[\(id)] for its retry: \(error)")
                    let failed = TaskLifecycle.Outcome.failed(.runtimeError("retry could not be published: \(error)"))
                    await perform(TaskLifecycle.afterRun(
                        failed, acksLate: context.acksLate, ignoreResult: false,
                        creditHeld: !context.acksLate && workerConfiguration.disablePrefetch), outcome: failed, context: context)
                    return
                }
            case .chordPartReturn(let state):
                let result: JSONValue = if case .succeeded(let value) = outcome { value } else { failure?.info.jsonValue ?? .null }
                await chordPartReturn(of: message, state: state, result: result, logger: logger)
            case .failChain:
                guard let failure else { continue }
                let timedOut = if case .timedOut = outcome { true } else { false }
                await failChain(
                    of: message, exception: failure.info, traceback: failure.traceback, storeResults: timedOut || !context.ignoreResult,
                    queue: delivery.queue, logger: logger)
            case .publishErrbacks:
                guard let failure else { continue }
                await publishErrbacks(of: message, queue: delivery.queue, exception: failure.info, traceback: failure.traceback, logger: logger)
            case .event(let type):
                await announce(type, outcome: outcome, failure: failure, retryReason: retryReason, context: context)
            case .acknowledge:
                // A result the store would not take before the worker stopped: return the message
                // rather than acknowledge it, so its outcome is computed again instead of lost.
                let lost = lostOutcomes.withLock { $0.remove(id) != nil }
                await finish(delivery, requeue: lost)
            case .requeue:
                _ = lostOutcomes.withLock { $0.remove(id) }
                await finish(delivery, requeue: true)
            case .releaseCredit:
                buffer.release()
            case .reject:
                // kombu's Redis QoS.reject without requeue removes the message, as an ack does.
                let lost = lostOutcomes.withLock { $0.remove(id) != nil }
                await finish(delivery, requeue: lost)
            }
        }
        if case .ignored = outcome { logger.info("Task \(context.shownName)[\(id)] ignored") }
    }

    /// The log line, counter and task event of an outcome.
    private func announce(
        _ type: String, outcome: TaskLifecycle.Outcome, failure: Failure?, retryReason: String, context: Completion
    ) async {
        let (message, logger) = (context.message, context.logger)
        let id = message.headers.id
        let counters = metrics.task(message.headers.task)
        var fields: [(String, JSONValue)] = [("uuid", .string(id))]
        switch outcome {
        case .succeeded(let value):
            counters.succeeded.increment()
            let shown = PythonRepr.repr(value, limit: Self.reprLimit)
            logger.info("Task \(context.shownName)[\(id)] succeeded in \(PythonFloat.repr(context.runtimeSeconds))s: \(shown)")
            fields += [("result", .string(shown)), ("runtime", .double(context.runtimeSeconds))]
        case .failed:
            counters.failed.increment()
            guard let failure else { break }
            logger.error("Task \(context.shownName)[\(id)] raised unexpected: \(failure.info.pythonRepr)\n\(failure.traceback)")
            fields += [("exception", .string(failure.info.pythonRepr)), ("traceback", .string(failure.traceback))]
        case .retried:
            counters.retried.increment()
            logger.info("Task \(context.shownName)[\(id)] retry: \(retryReason)")
            fields += [
                ("exception", .string("Retry(\(PythonRepr.stringRepr(retryReason)))")),
                ("traceback", .string(TaskResultDocument.retryTraceback(task: message.headers.task, reason: retryReason))),
            ]
        case .rejected(let reject):
            logger.info("Task \(context.shownName)[\(id)] rejected\(reject.requeue ? " (requeued)" : ""): \(reject.reason ?? "")")
            fields.append(("requeue", .bool(reject.requeue && context.acksLate)))
        case .timedOut:
            guard let failure else { break }
            fields += [("exception", .string(failure.info.pythonRepr)), ("traceback", .string(failure.traceback))]
        case .ignored:
            break
        }
        await events.taskEvent(type, fields)
    }


    /// The exception and traceback a failed outcome stores, chains and errbacks carry.
    struct Failure {
        var info: ExceptionInfo
        var traceback: String

        init?(_ outcome: TaskLifecycle.Outcome, task: String) {
            switch outcome {
            case .failed(let exception):
                info = exception.info
                traceback = exception.traceback ?? CeleryWorker.traceback(for: exception.info, task: task)
            case .timedOut(let exceeded):
                info = exceeded
                traceback = CeleryWorker.traceback(for: exceeded, task: task)
            case .rejected(let reject):
                // Celery 5.7 records a permanent rejection as FAILURE with the Reject exception.
                info = ExceptionInfo(
                    type: "Reject", module: "celery.exceptions", arguments: [reject.reason.map(JSONValue.string) ?? .null, .bool(false)])
                traceback = CeleryWorker.traceback(for: info, task: task)
            default:
                return nil
            }
        }
    }
}
