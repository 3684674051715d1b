#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension TaskMessageBuilder {
    /// The message Celery's `Task.retry` publishes: the same task id with `retries + 1`, the
    /// new ETA (`eta`, else `countdown`, else the task's default delay), the original as parent,
    /// this worker as origin, and the arguments and expiry the retry replaces.
    ///
    /// - Parameters:
    ///   - queue: the queue the original came from (used when it was routed by an exchange).
    ///   - compression: the worker's `task_compression` as a content type: a retry is published
    ///     with the worker's own compression, as Python's `Task.retry` does, not the original's.
    /// - Returns: the message, the queue to publish it to, and `when` for the log line
    ///   (`in 5.0s`, `at 2026-...`).
    static func retryMessage(
        of message: TaskMessage, retry: TaskRetry, defaultDelay: Duration, deliveredFrom queue: String, origin: String,
        compression: String? = nil, now: Date = Date()
    ) -> (message: TaskMessage, queue: String, when: String) {
        let headers = message.headers
        let delay = retry.countdown ?? defaultDelay
        let eta = retry.eta ?? now.addingTimeInterval(delay.timeInterval)
        let when = retry.eta.map { "at \(CeleryTime.isoformat($0))" } ?? "in \(CeleryWorker.secondsText(delay))s"

        var next = message
        next.headers.retries = headers.retries + 1
        next.headers.eta = CeleryTime.isoformat(eta)
        next.headers.parentID = headers.parentID ?? headers.id
        next.headers.object["origin"] = .string(origin)
        next.headers.compression = compression
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
        let target = message.properties.exchange.isEmpty ? (message.properties.routingKey ?? queue) : queue
        let expiration = next.headers.expires.flatMap(CeleryTime.parse).map {
            String(max(0, Int(min(($0.date.timeIntervalSince(now) * 1000).rounded(.down), 1e15))))
        }
        next.properties = MessageProperties(
            correlationID: headers.id, replyTo: message.properties.object["reply_to"]?.stringValue ?? "",
            routingKey: target, priority: message.properties.priority, deliveryTag: RandomUUID.string(),
            expiration: expiration, origin: origin)
        return (next, target, when)
    }
}
