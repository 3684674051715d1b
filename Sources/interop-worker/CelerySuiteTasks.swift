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
            try await Task.sleep(for: .milliseconds(Int((seconds.doubleValue ?? 0) * 1000)))
            return .null
        }
        // def ids(self, i): return self.request.root_id, self.request.parent_id, i
        registry.register("\(module).ids") { request in
            let i = try request.bind(["i"])["i"]!
            return .array([request.rootID.map(JSONValue.string) ?? .null, request.parentID.map(JSONValue.string) ?? .null, i])
        }
    }
}
