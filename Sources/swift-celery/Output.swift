import ArgumentParser
import Celery

#if canImport(Glibc)
import Glibc
#endif

/// Exit codes: 0 success, 1 the task failed or was revoked, 2 usage, 3 timeout, 4 Redis or data error.
enum ExitCodes {
    static let taskFailed = ExitCode(1)
    static let timeout = ExitCode(3)
    static let backendError = ExitCode(4)
}

func printError(_ text: String, newline: Bool = true) {
    var line = text + (newline ? "\n" : "")
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// Waits for a result and prints its value (or, with `json`, the whole result document);
/// the states stored meanwhile (STARTED, RETRY, PROGRESS, ...) are shown on stderr when
/// `progress` is set. Failures print the exception and exit 1.
func printResult(_ result: AsyncResult, timeout: Double, json: Bool = false, progress: Bool = false) async throws {
    do {
        let id = result.id
        let showUpdate: @Sendable (TaskResultDocument) -> Void = { update in
            let detail = update.result.isNull ? "" : " " + PythonRepr.repr(update.result, limit: 200)
            printError("\(id): \(update.status.rawValue)\(detail)")
        }
        let document: TaskResultDocument = try await result.wait(
            timeout: .milliseconds(Int(timeout * 1000)), onUpdate: progress ? showUpdate : nil)
        if json {
            print(String(decoding: document.jsonBytes(), as: UTF8.self))
            if document.status != .success { throw ExitCodes.taskFailed }
            return
        }
        if let exception = document.exception, document.status != .success {
            throw TaskFailedError(taskID: result.id, state: document.status, exception: exception, traceback: document.traceback)
        }
        print(document.result.pythonJSONString())
    } catch let failure as TaskFailedError {
        let module = failure.exception.module == "builtins" ? "" : failure.exception.module + "."
        printError("\(failure.state): \(module)\(failure.exception.pythonRepr)")
        if let traceback = failure.traceback { printError(traceback) }
        throw ExitCodes.taskFailed
    } catch let error as CeleryError where error.code == .timeout {
        printError("timeout: \(error)")
        throw ExitCodes.timeout
    } catch let error as CeleryError {
        printError("error: \(error)")
        throw ExitCodes.backendError
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
