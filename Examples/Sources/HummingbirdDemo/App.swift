import Celery
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The task, declared once: the endpoint publishes it with type-checked arguments and the
/// worker below runs it. Python knows it as `mycelery.slow_task` (interop/fastapi_app).
let slowTask = TypedTask<String, String>("mycelery.slow_task", parameters: "name")

/// What `POST /run-task/{name}` answers, as the FastAPI example.
struct TaskCreated: ResponseEncodable {
    var task_id: String
}

/// What `GET /status/{task_id}` answers, as the FastAPI example, plus the worker's name.
struct TaskStatus: ResponseEncodable {
    var task_id: String
    var status: String
    var result: JSONValue?
    var worker: String?
}

/// Builds the app: HTTP routes publishing with `client`, answering from the result backend.
func buildRouter(client: CeleryClient) -> Router<BasicRequestContext> {
    let router = Router()
    let runTask: @Sendable (Request, BasicRequestContext) async throws -> TaskCreated = { _, context in
        let name = try context.parameters.require("name")
        let result = try await client.delay(slowTask, name)
        return TaskCreated(task_id: result.id)
    }
    router.get("/run-task/:name", use: runTask)
    router.post("/run-task/:name", use: runTask)
    router.get("/status/:task_id") { _, context -> TaskStatus in
        let id = try context.parameters.require("task_id")
        guard let document = try await client.asyncResult(id).document() else {
            return TaskStatus(task_id: id, status: "PENDING", result: nil, worker: nil)
        }
        return TaskStatus(
            task_id: id, status: document.status.rawValue, result: document.status.isReady ? document.result : nil,
            worker: document.extended?["worker"]?.stringValue)
    }
    return router
}

@main
struct HummingbirdDemo {
    static func main() async throws {
        let environment = ProcessInfo.processInfo.environment
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let logger = Logger(label: "hummingbird-demo")
        // broker_url, result_backend, ... from CELERY_* variables, as a Celery app reads them.
        var (configuration, _) = try CeleryConfiguration.load(file: environment["CELERY_CONFIG"])
        configuration.resultExtended = true
        let queue = environment["DEMO_QUEUE"] ?? "celery"
        configuration.defaultQueue = queue

        let client = try CeleryClient(configuration: configuration, logger: logger)
        let registry = TaskRegistry()
        registry.register(slowTask) { _, name in
            try await Task.sleep(for: .milliseconds(200))
            return "Task completed for \(name)!"
        }
        let worker = try CeleryWorker(
            configuration: configuration,
            workerConfiguration: WorkerConfiguration(queues: [queue], concurrency: 4, hostname: "hummingbird@demo"),
            registry: registry, logger: logger)
        let port = Int(environment["PORT"] ?? "8080") ?? 8080
        let app = Application(
            router: buildRouter(client: client),
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            logger: logger)
        // The client outlives the app and the worker: services stop in reverse order.
        let group = ServiceGroup(
            services: [client, worker, app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
