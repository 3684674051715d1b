import Celery
import Logging

/// Declared once: Python calls it as `add.delay(2, 3)` or `add.delay(x=2, y=3)`.
let add = TypedTask<Int, Int, Int>("tasks.add", parameters: "x", "y")

let registry = TaskRegistry()
registry.register(add) { _, x, y in x + y }
registry.register("mycelery.slow_task") { request in       // untyped: JSON in, JSON out
    let name = try request.bind(["name"])["name"]!           // by position or keyword, as Python binds
    try await Task.sleep(for: .milliseconds(200))
    return .string("Task completed for \(name.stringValue ?? "?")!")
}
registry.register("tasks.fail") { request in
    throw PythonException.valueError("\(request.args.first?.stringValue ?? "bad")")   // Python sees ValueError
}

// broker_url, result_backend, task_queues, task_acks_late, ...: CELERY_<NAME> variables (or a
// celeryconfig.py, with CeleryConfiguration.load(file:)).
let (configuration, settings) = try CeleryConfiguration.load(file: nil)
var workerConfiguration = WorkerConfiguration(queues: ["celery"], concurrency: 8)
try settings.apply(to: &workerConfiguration)
let worker = try CeleryWorker(
    configuration: configuration, workerConfiguration: workerConfiguration, registry: registry,
    logger: Logger(label: "worker"))
// First SIGTERM/SIGINT: warm shutdown (running tasks finish); the second: cold. SIGHUP: Celery's
// warm restart (the same command again, in the same process); SIGPIPE is ignored.
try await worker.runService()
