import ArgumentParser
import Celery
import Logging

/// Where the broker and backend are, shared by the subcommands that talk to Redis.
struct ConnectionOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Broker URL (default: $CELERY_BROKER_URL, then redis://localhost:6379/0).")
    var broker: String?

    @Option(name: [.long, .customLong("result-backend")], help: "Result backend URL (default: $CELERY_RESULT_BACKEND, then the broker URL).")
    var backend: String?

    @Option(name: .long, help: "A config file of Celery settings (celeryconfig.py of plain assignments, or JSON); CELERY_<NAME> variables and the flags above override it.")
    var config: String?

    /// Runs `body` with a client for these settings, closed when `body` returns or throws.
    ///
    /// A URL or config file that cannot be used throws here, before `body` runs, and that
    /// error goes to ArgumentParser as it is (not through ``withExitCodes(_:_:)``).
    func withClient<Value>(_ body: (CeleryClient) async throws -> Value) async throws -> Value {
        let (configuration, _) = try CeleryConfiguration.load(file: config, broker: broker, backend: backend)
        let client = try CeleryClient(configuration: configuration, logger: Logger(label: "swift-celery"))
        defer { client.close() }
        return try await body(client)
    }
}
