import Celery

/// The tasks `interop-worker` hosts, by the names the Python side calls them.
enum InteropTasks {
    static func register(in registry: TaskRegistry) {
        registerSeedApps(in: registry)
        registerInteropSuite(in: registry)
        registerBenchmark(in: registry)
        CelerySuiteTasks.register(in: registry)
        CelerySuiteTasks.registerSingleTaskSuite(in: registry)
        CelerySuiteTasks.registerCanvasSuite(in: registry)
        TypedTasks.register(in: registry)
        SemanticsTasks.register(in: registry)
        SemanticsTasks.registerProgress(in: registry)
    }

    /// The seed apps' `slow_task` under each framework's module name.
    static func registerSeedApps(in registry: TaskRegistry) {
        for name in ["mycelery.slow_task", "my_app.tasks.slow_task", "elements.tasks.slow_task"] {
            registry.register(name) { request in
                let arguments = try request.bind(["name"])
                try await Task.sleep(for: .milliseconds(200))
                return .string("Task completed for \(try string(arguments["name"]!, "name"))!")
            }
        }
    }

    /// `tasks.*`, mirrored by interop/pyworker/tasks.py.
    static func registerInteropSuite(in registry: TaskRegistry) {
        registry.register("tasks.add") { request in
            let arguments = try request.bind(["x", "y"])
            return try PythonOperators.add(arguments["x"]!, arguments["y"]!)
        }
        registry.register("tasks.fail") { request in
            let arguments = try request.bind(["message"])
            throw PythonException("ValueError", arguments: [arguments["message"]!])
        }
        registry.register("tasks.echo") { request in
            try request.bind(["value"])["value"]!
        }
        registry.register("tasks.tsum") { request in
            let numbers = try request.bind(["numbers"])["numbers"]!
            guard case .array(let items) = numbers else { throw PythonException.typeError("'\(numbers.pythonTypeName)' object is not iterable") }
            return try items.reduce(JSONValue.integer(0)) { try PythonOperators.add($0, $1) }
        }
        registry.register("tasks.tag") { request in
            .array([try request.bind(["i"])["i"]!, "swift"])
        }
        registry.register("tasks.sleep") { request in
            let seconds = try request.bind(["seconds"])["seconds"]!
            try await Task.sleep(for: try InteropTasks.seconds(seconds))
            return seconds
        }
    }

    /// The benchmark harness's tasks (../shared/bench/tasks.py).
    static func registerBenchmark(in registry: TaskRegistry) {
        registry.register("bench.noop") { _ in .null }
        registry.register("bench.add") { request in
            let arguments = try request.bind(["x", "y"])
            return try PythonOperators.add(arguments["x"]!, arguments["y"]!)
        }
        registry.register("bench.echo") { request in
            try request.bind(["payload"])["payload"]!
        }
        registry.register("bench.sleep") { request in
            let seconds = try request.bind(["seconds"])["seconds"]!
            try await Task.sleep(for: try InteropTasks.seconds(seconds))
            return seconds
        }
        // Not in the shared harness: a CPU-bound task for bench/scaling.py. `n` rounds of a
        // 64-bit LCG, returned so the work cannot be optimized away (about 0.25 ms per 10^6 rounds here).
        registry.register("bench.cpu") { request in
            guard let rounds = try request.bind(["n"])["n"]!.integerValue, rounds >= 0 else {
                throw PythonException.typeError("n must be a non-negative int")
            }
            var state: UInt64 = 1
            for _ in 0..<rounds { state = state &* 6364136223846793005 &+ 1442695040888963407 }
            return .integer(Int64(bitPattern: state >> 1))
        }
    }

    /// A number of seconds from a task argument, refused as Python's time.sleep refuses it.
    static func seconds(_ value: JSONValue?) throws -> Duration {
        guard let seconds = value?.doubleValue else {
            throw PythonException.typeError("'\(value?.pythonTypeName ?? "NoneType")' object cannot be interpreted as a number")
        }
        guard seconds.isFinite else { throw PythonException.valueError("Invalid value \(PythonFloat.repr(seconds)) (out of range)") }
        guard seconds >= 0 else { throw PythonException.valueError("sleep length must be non-negative") }
        // Python's time.sleep keeps nanoseconds in 64 bits: about 292 years at most.
        guard seconds < 9.2e9 else {
            throw PythonException("OverflowError", arguments: ["timestamp too large to convert to C _PyTime_t"])
        }
        return .fromSeconds(seconds) ?? .zero
    }

    static func string(_ value: JSONValue, _ name: String) throws -> String {
        guard let text = value.stringValue else {
            throw PythonException.typeError("\(name) must be str, not \(value.typeName)")
        }
        return text
    }
}

/// Python's operators on decoded JSON values, for tasks that mirror Python functions.
enum PythonOperators {
    /// `sum(items)` as Python evaluates it (start 0, `+` pairwise).
    static func sum(_ items: JSONValue) throws -> JSONValue {
        guard case .array(let values) = items else { throw PythonException.typeError("'\(items.pythonTypeName)' object is not iterable") }
        return try values.reduce(JSONValue.integer(0)) { try add($0, $1) }
    }

    /// `x + y` as Python evaluates it for ints, floats, strings and lists.
    static func add(_ x: JSONValue, _ y: JSONValue) throws -> JSONValue {
        switch (x, y) {
        case (.integer(let a), .integer(let b)):
            let (sum, overflow) = a.addingReportingOverflow(b)
            if !overflow { return .integer(sum) }
            return .double(Double(a) + Double(b))
        case (.string(let a), .string(let b)):
            return .string(a + b)
        case (.array(let a), .array(let b)):
            return .array(a + b)
        case (.bool, _), (_, .bool):
            return try add(x.boolAsInteger, y.boolAsInteger)
        default:
            if let a = x.doubleValue, let b = y.doubleValue { return .double(a + b) }
            throw PythonException.typeError(
                "unsupported operand type(s) for +: '\(x.pythonTypeName)' and '\(y.pythonTypeName)'")
        }
    }
}

extension JSONValue {
    var boolAsInteger: JSONValue {
        if case .bool(let flag) = self { return .integer(flag ? 1 : 0) }
        return self
    }
}
