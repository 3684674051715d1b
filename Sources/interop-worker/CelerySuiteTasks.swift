import Synchronization
import Celery
import Logging

/// The tasks of Celery 5.7.0's `t/integration/tasks.py` that the suite run by
/// `interop/celery_suite/run.py` calls, with the same behaviour as their Python definitions.
enum CelerySuiteTasks {
    static let module = "t.integration.tasks"

    static func register(in registry: TaskRegistry) {
        // def add(x, y, z=None): return x + y + z if z else x + y
        registry.register("\(module).add") { request in
            let arguments = try request.bind(["x", "y", "z"], defaults: ["z": .null])
            let sum = try PythonOperators.add(arguments["x"]!, arguments["y"]!)
            let z = arguments["z"]!
            return z.isPythonTruthy ? try PythonOperators.add(sum, z) : sum
        }
        for (name, options) in [
            ("add_not_typed", TaskDefinitionOptions()), ("add_with_result", TaskDefinitionOptions()),
            ("add_ignore_result", TaskDefinitionOptions(ignoreResult: true)),
        ] {
            registry.register("\(module).\(name)", options: options) { request in
                let arguments = try request.bind(["x", "y"])
                return try PythonOperators.add(arguments["x"]!, arguments["y"]!)
            }
        }
        // def mul(x, y): return x * y
        registry.register("\(module).mul") { request in
            let arguments = try request.bind(["x", "y"])
            guard let x = arguments["x"]!.integerValue, let y = arguments["y"]!.integerValue else {
                throw PythonException.typeError("mul() takes integers")
            }
            return .integer(x &* y)
        }
        // def fail(*args): raise ExpectedException("Task expected to fail", *args)
        registry.register("\(module).fail") { request in
            throw PythonException("ExpectedException", module: module, arguments: ["Task expected to fail"] + request.args)
        }
        // def raise_error(*args): raise ValueError("deliberate error")
        registry.register("\(module).raise_error") { _ in
            throw PythonException.valueError("deliberate error")
        }
        // def print_unicode(log_message='håå®ƒ valmuefrø', print_message='hiöäüß')
        registry.register("\(module).print_unicode") { request in
            let arguments = try request.bind(
                ["log_message", "print_message"], defaults: ["log_message": "håå®ƒ valmuefrø", "print_message": "hiöäüß"])
            request.logger.warning("\(arguments["log_message"]!.stringValue ?? "")")
            print(arguments["print_message"]!.stringValue ?? "")
            return .null
        }
        // def sleeping(i, **_): sleep(i)
        registry.register("\(module).sleeping") { request in
            let seconds = try request.bind(["i"] + request.kwargs.keys.filter { $0 != "i" })["i"]!
            try await Task.sleep(for: try InteropTasks.seconds(seconds))
            return .null
        }
        // def ids(self, i): return self.request.root_id, self.request.parent_id, i
        registry.register("\(module).ids") { request in
            let i = try request.bind(["i"])["i"]!
            return .array([request.rootID.map(JSONValue.string) ?? .null, request.parentID.map(JSONValue.string) ?? .null, i])
        }
    }
}


/// The single-task tests of `test_tasks.py` beyond the basic ones: retries, rejects,
/// request context, time limits.
extension CelerySuiteTasks {
    static func expected(_ arguments: [JSONValue]) -> PythonException {
        PythonException("ExpectedException", module: module, arguments: arguments)
    }

    /// `retry(return_value=None)` keeps `self.attempt` on the task object across retries.
    private static let attempts = Mutex(0)

    static func registerSingleTaskSuite(in registry: TaskRegistry) {
        let bound = TaskDefinitionOptions(defaultRetryDelay: .seconds(1))
        registry.register("\(module).retry", options: bound) { request in
            let returnValue = try request.bind(["return_value"], defaults: ["return_value": nil])["return_value"]!
            if returnValue.isPythonTruthy {
                let done = attempts.withLock { attempt -> Bool in
                    if attempt >= 3 {
                        attempt = 0
                        return true
                    }
                    attempt += 1
                    return false
                }
                if done { return returnValue }
            }
            throw request.retry(countdown: .seconds(5), exception: expected([]))
        }
        // def retry_unpickleable(self, foo, bar, *, retry_kwargs)
        registry.register("\(module).retry_unpickleable", options: bound) { request in
            let arguments = try request.bind(["foo", "bar", "retry_kwargs"])
            let options = arguments["retry_kwargs"]!
            throw request.retry(
                countdown: options["countdown"]?.doubleValue.flatMap { Duration.fromSeconds($0) },
                exception: PythonException("UnpickleableException", module: module, arguments: [arguments["foo"]!]),
                maxRetries: options["max_retries"]?.integerValue.map { Int($0) })
        }
        registry.register("\(module).fail_unpickleable") { request in
            let arguments = try request.bind(["foo", "bar"])
            throw PythonException("UnpickleableException", module: module, arguments: [arguments["foo"]!])
        }
        // retry(args=(foo + 1, bar + 1)) keeps the inherited `label` keyword (Celery #6494).
        registry.register("\(module).retry_with_args_after_kwargs", options: TaskDefinitionOptions(maxRetries: 1)) { request in
            let arguments = try request.bind(["foo", "bar", "label"], defaults: ["label": nil])
            if request.retries == 0 {
                let foo = arguments["foo"]!.integerValue ?? 0
                let bar = arguments["bar"]!.integerValue ?? 0
                var kwargs = request.kwargs
                kwargs["foo"] = nil
                kwargs["bar"] = nil
                throw request.retry(countdown: .zero, args: [.integer(foo + 1), .integer(bar + 1)], kwargs: kwargs)
            }
            return [
                "foo": arguments["foo"]!, "bar": arguments["bar"]!, "label": arguments["label"]!,
                "retries": .integer(Int64(request.retries)), "is_eager": false,
            ]
        }
        // retry(kwargs={'foo': foo + 1}) with inherited positional args: foo is replaced in place.
        registry.register("\(module).retry_with_kwargs_after_args", options: TaskDefinitionOptions(maxRetries: 1)) { request in
            let arguments = try request.bind(["foo", "bar"])
            if request.retries == 0 {
                let foo = arguments["foo"]!.integerValue ?? 0
                throw request.retry(countdown: .zero, args: [.integer(foo + 1), arguments["bar"]!], kwargs: JSONObject())
            }
            return [
                "foo": arguments["foo"]!, "bar": arguments["bar"]!, "retries": .integer(Int64(request.retries)),
                "is_eager": false,
            ]
        }
        // def retry_once(self, *args, expires=None, max_retries=1, countdown=0.1)  (expires=120.0, max_retries=1)
        registry.register("\(module).retry_once", options: TaskDefinitionOptions(maxRetries: 1)) { request in
            if request.retries > 0 { return .integer(Int64(request.retries)) }
            let countdown = request.kwargs["countdown"]?.doubleValue ?? 0.1
            let expires = request.kwargs["expires"]?.doubleValue
            throw request.retry(
                countdown: .fromSeconds(countdown),
                maxRetries: Int(request.kwargs["max_retries"]?.integerValue ?? 1),
                expiresIn: expires.flatMap { Duration.fromSeconds($0) })
        }
        for (name, ignore) in [("retry_once_ignore_result", true), ("retry_once_with_result", false)] {
            registry.register("\(module).\(name)", options: TaskDefinitionOptions(ignoreResult: ignore)) { request in
                if request.retries == 0 { throw request.retry(countdown: .zero) }
                return .integer(Int64(request.retries))
            }
        }
        registry.register("\(module).retry_once_priority", options: TaskDefinitionOptions(maxRetries: 1)) { request in
            if request.retries > 0 { return .integer(Int64(request.properties.priority)) }
            throw request.retry(countdown: .fromSeconds(request.kwargs["countdown"]?.doubleValue ?? 0.1))
        }
        registry.register("\(module).retry_once_headers", options: TaskDefinitionOptions(maxRetries: 1)) { request in
            if request.retries > 0 { return .object(request.headers.object) }
            throw request.retry(countdown: .fromSeconds(request.kwargs["countdown"]?.doubleValue ?? 0.1))
        }
        registry.register("\(module).return_priority") { request in
            .string("Priority: \(request.properties.priority)")
        }
        registry.register("\(module).return_request_eta") { request in
            request.eta.map(JSONValue.string) ?? nil
        }
        registry.register("\(module).return_properties") { request in
            .object(request.properties.object)
        }
        registry.register("\(module).return_request_time_limits") { request in
            ["time_limit": request.timeLimit.map(Self.number) ?? nil, "soft_time_limit": request.softTimeLimit.map(Self.number) ?? nil]
        }
        registry.register(
            "\(module).task_with_declared_time_limits", options: TaskDefinitionOptions(timeLimit: .seconds(60), softTimeLimit: .seconds(45))
        ) { request in
            ["time_limit": request.timeLimit.map(Self.number) ?? nil, "soft_time_limit": request.softTimeLimit.map(Self.number) ?? nil]
        }
        registry.register("\(module).reject_then_succeed", options: TaskDefinitionOptions(acksLate: true)) { request in
            if !request.properties.redelivered { throw TaskReject(requeue: true) }
            return "second-pass"
        }
        registry.register("\(module).reject_without_requeue") { _ in
            throw TaskReject(reason: "rejected", requeue: false)
        }
        // @shared_task(pydantic=True) def add_pydantic(data: AddParameterModel) -> AddResultModel
        // The model arrives as its dict; the result goes back as the dumped model.
        for name in ["add_pydantic", "add_pydantic_string_annotations"] {
            registry.register("\(module).\(name)") { request in
                let data = try request.bind(["data"])["data"]!
                guard let x = data["x"], let y = data["y"] else {
                    throw PythonException("ValidationError", module: "pydantic_core._pydantic_core", arguments: ["x and y are required"])
                }
                return ["result": try PythonOperators.add(x, y)]
            }
        }
        // class ClassBasedAutoRetryTask: autoretry_for=(ValueError,), max_retries=1, retry_backoff=True
        registry.register(
            "auto_retry_class_task",
            options: TaskDefinitionOptions(maxRetries: 1, autoretryFor: ["ValueError"], retryBackoff: .seconds(1))
        ) { request in
            if request.retries > 0 { return .integer(Int64(request.retries)) }
            throw PythonException("ValueError")
        }
    }

    /// A duration in seconds as Python would have it: `30`, not `30.0`, for whole seconds;
    /// a limit sent as `0.3` comes back as `0.3` (whole nanoseconds are divided once).
    static func number(_ duration: Duration) -> JSONValue {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return .integer(seconds) }
        if attoseconds % 1_000_000_000 == 0, seconds.magnitude < 9_000_000 {
            return .double(Double(seconds * 1_000_000_000 + attoseconds / 1_000_000_000) / 1e9)
        }
        return .double(Double(seconds) + Double(attoseconds) / 1e18)
    }
}
