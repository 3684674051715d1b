import ArgumentParser
import Celery

#if canImport(Glibc)
import Glibc
#endif

/// Exit codes: 0 success, 1 the task failed or was revoked, 2 usage, 3 timeout, 4 Redis or data error.
enum ExitCodes {
    /// The task ended in FAILURE or REVOKED.
    static let taskFailed = ExitCode(1)
    /// The result was not ready within `--timeout`.
    static let timeout = ExitCode(3)
    /// Redis could not be reached, or what it held could not be read.
    static let backendError = ExitCode(4)
}

/// Writes `text` to standard error, followed by a newline unless `newline` is false.
func printError(_ text: String, newline: Bool = true) {
    var line = text + (newline ? "\n" : "")
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// How ``withExitCodes(_:_:)`` words a failure on stderr; the exit code is the same either way.
enum FailureWording {
    /// `timeout: <message>` for a timeout; a failed task's exception, then its traceback.
    case full
    /// `error: <message>` for a timeout too; a failed task's exception without its traceback.
    /// What `apply` has always printed (its group waits are not `printResult`'s).
    case brief
}

/// Runs the part of a subcommand that talks to Redis or waits for a task, turning the library's
/// errors into the exit codes of ``ExitCodes``, each explained on stderr:
///
/// - ``TaskFailedError``: `FAILURE: ValueError('boom')` (the module is named unless it is
///   `builtins`) and the traceback, exit 1.
/// - ``CeleryError`` with code `timeout`: `timeout: <message>`, exit 3.
/// - any other ``CeleryError``: `error: <message>`, exit 4.
///
/// Every other error (an `ExitCode` already chosen, a `ValidationError`) reaches
/// ArgumentParser unchanged.
func withExitCodes<Value>(
    _ wording: FailureWording = .full, _ body: () async throws -> Value
) async throws -> Value {
    do {
        return try await body()
    } catch let failure as TaskFailedError {
        let module = failure.exception.module == "builtins" ? "" : failure.exception.module + "."
        printError("\(failure.state): \(module)\(failure.exception.pythonRepr)")
        if wording == .full, let traceback = failure.traceback { printError(traceback) }
        throw ExitCodes.taskFailed
    } catch let error as CeleryError where error.code == .timeout {
        printError("\(wording == .full ? "timeout" : "error"): \(error)")
        throw ExitCodes.timeout
    } catch let error as CeleryError {
        printError("error: \(error)")
        throw ExitCodes.backendError
    }
}

/// Waits for a result and prints its value (or, with `json`, the whole result document);
/// the states stored meanwhile (STARTED, RETRY, PROGRESS, ...) are shown on stderr when
/// `progress` is set. Failures print the exception and exit 1.
func printResult(_ result: AsyncResult, timeout: Double, json: Bool = false, progress: Bool = false) async throws {
    try await withExitCodes {
        let id = result.id
        let showUpdate: @Sendable (TaskResultDocument) -> Void = { update in
            let detail = update.result.isNull ? "" : " " + PythonRepr.repr(update.result, limit: 200)
            printError("\(id): \(update.status.rawValue)\(detail)")
        }
        let document: TaskResultDocument = try await result.wait(
            timeout: duration(seconds: timeout), onUpdate: progress ? showUpdate : nil)
        if json {
            print(String(decoding: document.jsonBytes(), as: UTF8.self))
            if document.status != .success { throw ExitCodes.taskFailed }
            return
        }
        if let exception = document.propagatedFailure {
            throw TaskFailedError(
                taskID: result.id, state: document.status, exception: exception, traceback: document.traceback)
        }
        print(document.result.pythonJSONString())
    }
}

/// Prints each node's reply as `celery inspect` does, then how many nodes answered.
func printReplies(_ replies: [String: JSONValue]) throws {
    guard !replies.isEmpty else {
        printError("Error: No nodes replied within time constraint")
        throw ExitCode(69)
    }
    for node in replies.keys.sorted() {
        print("->  \(node): OK")
        print("    \(replies[node]!.pythonJSONString())")
    }
    print("\n\(replies.count) node\(replies.count == 1 ? "" : "s") online.")
}
