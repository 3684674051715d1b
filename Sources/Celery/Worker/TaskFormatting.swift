#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization
import Metrics
internal import CeleryRedis

/// Python-shaped text the worker writes: exceptions from Swift errors, tracebacks, reprs.
extension CeleryWorker {
    static func pythonException(for error: any Error) -> PythonException {
        if let exception = error as? PythonException { return exception }
        if error is CancellationError { return PythonException("TaskCancelled", module: "swift_celery", arguments: ["cancelled"]) }
        return PythonException.runtimeError("\(type(of: error)): \(error)")
    }

    /// A traceback in Python's format for an exception raised by Swift code, so Python's
    /// `AsyncResult.traceback` reads as it would for a Python task.
    static func traceback(for exception: ExceptionInfo, task: String) -> String {
        exception.traceback(inTask: task)
    }

    /// Celery's `resultrepr_maxsize`: how much of a result's repr logs and events show.
    static let reprLimit = 1024

    /// Seconds as Python prints the number the caller gave: `5`, `1.5`.
    static func secondsText(_ duration: Duration) -> String {
        let seconds = duration.timeInterval
        return seconds == seconds.rounded() ? String(Int64(seconds)) : PythonFloat.repr(seconds)
    }
}
