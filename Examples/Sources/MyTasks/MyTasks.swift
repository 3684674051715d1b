import Celery

/// Python calls these as `app.send_task("tasks.add", (2, 3))` and `app.send_task("tasks.sleep", (1.5,))`.
public let add = TypedTask<Int, Int, Int>("tasks.add", parameters: "x", "y")
public let sleep = TypedTask<Double, Double>("tasks.sleep", parameters: "seconds")

/// The tasks this package's worker runs.
public func makeRegistry() -> TaskRegistry {
    let registry = TaskRegistry()
    registry.register(add) { _, x, y in x + y }
    registry.register(sleep) { _, seconds in
        try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
        return seconds
    }
    return registry
}
