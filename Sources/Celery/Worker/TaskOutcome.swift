#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization
import Metrics
internal import CeleryRedis

/// The effects after a task ran that ``TaskLifecycle`` steps name: REVOKED results, errbacks,
/// the chord count, failing the rest of a chain, and the result document itself.
extension CeleryWorker {
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

    /// The result document Celery's backend writes for `message` in `status`, with this
    /// worker's `result_extended` fields when the setting is on.
    func resultDocument(
        for message: TaskMessage, queue: String, status: TaskState, result: JSONValue, traceback: String? = nil,
        children: JSONValue = .array([]), dateDone: Bool = true
    ) -> TaskResultDocument {
        TaskResultDocument(
            for: message, status: status, result: result, traceback: traceback, children: children,
            dateDone: dateDone ? Date() : nil,
            extendedFor: configuration.resultExtended ? (workerConfiguration.hostname, queue) : nil)
    }
}
