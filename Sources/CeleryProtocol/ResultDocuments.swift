#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import CeleryJSON

extension TaskResultDocument {
    /// The document Celery's backend writes for the task of `message` in `status`, as
    /// `Backend.store_result` builds it from the task's request: its group and parent, and with
    /// `result_extended` its name, arguments, worker, retries and queue.
    ///
    /// - Parameters:
    ///   - dateDone: when the task became ready; `nil` for STARTED and RETRY.
    ///   - extendedFor: the worker's node name and the queue, when `result_extended` is set.
    public init(
        for message: TaskMessage, status: TaskState, result: JSONValue, traceback: String? = nil,
        children: JSONValue = .array([]), dateDone: Date?, extendedFor worker: (hostname: String, queue: String)? = nil
    ) {
        var extended: JSONObject?
        if let worker {
            extended = [
                "name": .string(message.headers.task), "args": .array(message.args), "kwargs": .object(message.kwargs),
                "worker": .string(worker.hostname), "retries": .integer(Int64(message.headers.retries)),
                "queue": .string(worker.queue),
            ]
        }
        self.init(
            taskID: message.headers.id, status: status, result: result, traceback: traceback, children: children,
            dateDone: dateDone.map { CeleryTime.isoformat($0) }, groupID: message.headers.group, parentID: message.headers.parentID,
            extended: extended)
    }

    /// The traceback stored with RETRY: Celery's `Retry` exception with its reason
    /// (`Retry in 5s: ValueError('x')`).
    public static func retryTraceback(task: String, reason: String) -> String {
        "Traceback (most recent call last):\n  File \"<swift-celery>\", line 1, in \(task)\n    (task implemented in Swift)\ncelery.exceptions.Retry: \(reason)\n"
    }
}

extension ExceptionInfo {
    /// A traceback in Python's format for this exception raised by Swift code in `task`, so
    /// Python's `AsyncResult.traceback` reads as it would for a Python task.
    public func traceback(inTask task: String) -> String {
        let qualified = module == "builtins" ? type : "\(module).\(type)"
        let text = pythonStr
        return "Traceback (most recent call last):\n  File \"<swift-celery>\", line 1, in \(task)\n    (task implemented in Swift)\n"
            + (text.isEmpty ? qualified : "\(qualified): \(text)") + "\n"
    }
}
