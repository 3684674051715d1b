#if canImport(Glibc)
import Glibc
#endif
import Celery

/// `semantics.*`: tasks exercising one worker option each, for interop/tests/test_worker_semantics.py.
enum SemanticsTasks {
    static func register(in registry: TaskRegistry) {
        // Retries once after `countdown` seconds, then returns how many retries it took.
        registry.register("semantics.retry_once") { request in
            let countdown = try request.bind(["countdown"], defaults: ["countdown": 1])["countdown"]!
            if request.retries == 0 {
                throw request.retry(countdown: try InteropTasks.seconds(countdown))
            }
            return .integer(Int64(request.retries))
        }
        // acks_late: acknowledged after it ran.
        registry.register("semantics.add_late", options: TaskDefinitionOptions(acksLate: true)) { request in
            let arguments = try request.bind(["x", "y"])
            return try PythonOperators.add(arguments["x"]!, arguments["y"]!)
        }
        // Always retries, reporting ValueError; fails with it after max_retries.
        registry.register("semantics.retry_with_exc") { request in
            let maxRetries = try request.bind(["max_retries"])["max_retries"]!
            throw request.retry(
                countdown: .milliseconds(100), exception: .valueError("still failing"),
                maxRetries: Int(maxRetries.integerValue ?? 1))
        }
        // Always retries without an exception: MaxRetriesExceededError after max_retries.
        registry.register("semantics.retry_forever") { request in
            let maxRetries = try request.bind(["max_retries"])["max_retries"]!
            throw request.retry(countdown: .milliseconds(100), maxRetries: Int(maxRetries.integerValue ?? 1))
        }
        // Retries with new arguments: retry(args=[x + 1]) until x reaches 3.
        registry.register("semantics.count_up") { request in
            let x = try request.bind(["x"])["x"]!.integerValue ?? 0
            if x < 3 { throw request.retry(countdown: .milliseconds(50), args: [.integer(x + 1)]) }
            return .integer(x)
        }
        // autoretry_for=(ValueError,), retry_backoff: fails the first two runs.
        registry.register(
            "semantics.autoretry",
            options: TaskDefinitionOptions(maxRetries: 5, autoretryFor: ["ValueError"], retryBackoff: .milliseconds(100), retryJitter: false)
        ) { request in
            if request.retries < 2 { throw PythonException.valueError("flaky \(request.retries)") }
            return .integer(Int64(request.retries))
        }
        // Sleeps cooperatively: a soft time limit cancels it.
        registry.register("semantics.sleep") { request in
            let value = try request.bind(["seconds"])["seconds"]!
            try await Task.sleep(for: try InteropTasks.seconds(value))
            return value
        }
        // Ignores cancellation (a blocking C sleep): only the hard limit frees its slot.
        registry.register("semantics.block") { request in
            let value = try request.bind(["seconds"])["seconds"]!
            let (whole, fraction) = try InteropTasks.seconds(value).components
            var interval = timespec(tv_sec: Int(whole), tv_nsec: Int(fraction / 1_000_000_000))
            var remaining = timespec()
            while nanosleep(&interval, &remaining) != 0 { interval = remaining }
            return value
        }
        // Catches its soft time limit and returns normally.
        registry.register("semantics.catch_soft_limit") { _ in
            do {
                try await Task.sleep(for: .seconds(30))
                return "not cancelled"
            } catch {
                return "cleaned up after the soft limit"
            }
        }
        // acks_late; rejects with requeue on first delivery, succeeds when redelivered.
        registry.register("semantics.reject_then_succeed", options: TaskDefinitionOptions(acksLate: true)) { request in
            if !request.properties.redelivered { throw TaskReject(reason: "first delivery", requeue: true) }
            return "redelivered"
        }
        // Ignore: no state stored.
        registry.register("semantics.ignore") { _ in throw TaskIgnore() }
        // Returns the request context Celery's self.request offers.
        // self.replace(sig): the signature given (serialized) takes this task's place.
        registry.register("semantics.replace_with") { request in
            let serialized = try request.bind(["sig"])["sig"]!
            guard let signature = Signature(json: serialized) else { throw PythonException.typeError("not a signature") }
            try await request.replace(with: signature)
        }
        // Publishes a signature from inside the task (sig.apply_async()) and returns its result id.
        registry.register("semantics.spawn") { request in
            let serialized = try request.bind(["sig"])["sig"]!
            guard let signature = Signature(json: serialized) else { throw PythonException.typeError("not a signature") }
            return .string(try await request.apply(signature))
        }
        // An errback of the (request, exc, traceback) kind: called in the failing worker, it reports
        // what it got by publishing tasks.echo under the id it was given.
        registry.register("semantics.on_error_new", options: {
            var options = TaskDefinitionOptions()
            options.errbackArguments = .requestExceptionTraceback
            return options
        }()) { request in
            let arguments = try request.bind(["request", "exc", "traceback", "report_id"])
            let report: JSONValue = [
                "failed_id": arguments["request"]!["id"] ?? nil, "failed_task": arguments["request"]!["task"] ?? nil,
                "exc_type": arguments["exc"]!["exc_type"] ?? nil, "exc_message": arguments["exc"]!["exc_message"] ?? nil,
                "has_traceback": .bool(arguments["traceback"]!.stringValue?.contains("Traceback") ?? false),
            ]
            var echo = Signature("tasks.echo", args: [report])
            echo.options["task_id"] = arguments["report_id"]!
            try await request.apply(echo)
            return nil
        }
        // The replaced_task_nesting header this run carries.
        registry.register("semantics.nesting") { request in
            request.headers.object["replaced_task_nesting"] ?? 0
        }
        registry.register("semantics.context") { request -> JSONValue in
            [
                "id": .string(request.id), "retries": .integer(Int64(request.retries)),
                "root_id": request.rootID.map(JSONValue.string) ?? nil,
                "parent_id": request.parentID.map(JSONValue.string) ?? nil, "group": request.group.map(JSONValue.string) ?? nil,
                "eta": request.eta.map(JSONValue.string) ?? nil, "expires": request.expires.map(JSONValue.string) ?? nil,
                "hostname": .string(request.hostname), "queue": .string(request.queue),
                "priority": .integer(Int64(request.properties.priority)),
                "x_custom": request.headers.object["x-custom"] ?? nil,
            ]
        }
    }
}

extension SemanticsTasks {
    /// Reports PROGRESS `steps` times, then returns "done".
    static func registerProgress(in registry: TaskRegistry) {
        registry.register("semantics.progress") { request in
            let steps = try request.bind(["steps"])["steps"]!.integerValue ?? 1
            for step in 1...max(1, steps) {
                try await request.updateState("PROGRESS", meta: ["current": .integer(step), "total": .integer(steps)])
                try await Task.sleep(for: .milliseconds(300))
            }
            return "done"
        }
    }
}
