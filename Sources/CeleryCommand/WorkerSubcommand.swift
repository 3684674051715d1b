import ArgumentParser
import Celery
import Logging
import Metrics
import Prometheus

/// `worker`: the flags of `celery worker` that a Swift worker honours (and a few it accepts for
/// compatibility), over the settings of `--config` and `CELERY_<NAME>` variables.
struct WorkerSubcommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Start a worker (flags as in `celery worker`).")

    @Option(name: [.short, .long], help: "Broker URL (default: $CELERY_BROKER_URL, then redis://localhost:6379/0).")
    var broker: String?

    @Option(name: [.long, .customLong("result-backend")], help: "Result backend URL (default: $CELERY_RESULT_BACKEND, then the broker URL).")
    var backend: String?

    @Option(name: [.customShort("Q"), .long], help: "Comma-separated queues to consume (default: task_queues, then celery).")
    var queues: String?

    @Option(name: [.short, .long], help: "Tasks run at once.")
    var concurrency: Int?

    @Option(name: [.customShort("P"), .long], help: "Where task bodies run: prefork or threads (every core, the default), solo, gevent or eventlet (the worker's one event-loop thread: lowest latency, for light or I/O-bound tasks).")
    var pool: String?

    @Option(name: [.customShort("n"), .long], help: "Node name; %h, %n and %d expand as in Celery.")
    var hostname: String = "swift@%h"

    @Option(name: [.short, .long], help: "DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    var loglevel: String = "INFO"

    @Option(name: .long, help: "Messages held per slot (worker_prefetch_multiplier, default 4).")
    var prefetchMultiplier: Int?

    @Flag(name: .long, help: "Acknowledge after running (task_acks_late).")
    var acksLate = false

    @Flag(name: .long, help: "Store STARTED when a task starts (task_track_started).")
    var trackStarted = false

    @Flag(name: .long, help: "Store name, args, kwargs, worker, retries and queue with results (result_extended).")
    var resultExtended = false

    @Option(name: .long, help: "Hard time limit in seconds for tasks that set none.")
    var timeLimit: Double?

    @Option(name: .long, help: "Soft time limit in seconds for tasks that set none.")
    var softTimeLimit: Double?

    @Option(name: .long, help: "Seconds a message may stay unacknowledged before it is restored (broker_transport_options visibility_timeout, default 3600).")
    var visibilityTimeout: Int?

    @Option(name: .long, help: "Seconds between visibility restores (kombu: 100).")
    var restoreInterval: Double = 100

    @Option(name: .long, help: "Seconds a warm shutdown may wait for running tasks before turning cold (as Celery 5.5+).")
    var softShutdownTimeout: Double?

    @Option(name: .long, help: "What SIGHUP does: celery (restart when output is not a terminal, else warm shutdown; the default), restart or shutdown.")
    var onHangup: String = "celery"

    @Flag(name: [.customShort("E"), .customLong("task-events")], help: "Send task events (worker_send_task_events).")
    var taskEvents = false

    @Flag(name: .long, help: "Send no worker-online/heartbeat/offline events.")
    var withoutHeartbeat = false

    @Flag(name: .long, help: "Accepted for compatibility with `celery worker`; the Swift worker does no gossip.")
    var withoutGossip = false

    @Flag(name: .long, help: "Accepted for compatibility with `celery worker`; the Swift worker does no mingle.")
    var withoutMingle = false

    @Option(name: .long, help: "File keeping revoked task ids across restarts (as celery worker --statedb).")
    var statedb: String?

    @Flag(name: .long, help: "Log one JSON object per line.")
    var jsonLogs = false

    @Option(name: .long, help: "A config file of Celery settings: a celeryconfig.py of plain assignments, or JSON. CELERY_<NAME> variables and these flags override it.")
    var config: String?

    @Option(name: .long, help: "Serve Prometheus metrics at http://127.0.0.1:PORT/metrics (0: any free port).")
    var metricsPort: Int?

    func validate() throws {
        guard CeleryLogHandler.level(named: loglevel) != nil else {
            throw ValidationError("unknown log level '\(loglevel)'")
        }
        if let pool, WorkerConfiguration.pool(named: pool) == nil {
            throw ValidationError("--pool \(pool): expected prefork, threads, solo, gevent or eventlet")
        }
        guard hangupBehavior != nil else {
            throw ValidationError("--on-hangup \(onHangup): expected celery, restart or shutdown")
        }
        guard restoreInterval.isFinite, restoreInterval > 0 else {
            throw ValidationError("--restore-interval \(restoreInterval): expected a positive number of seconds")
        }
        if let softShutdownTimeout, !(softShutdownTimeout.isFinite && softShutdownTimeout >= 0) {
            throw ValidationError("--soft-shutdown-timeout \(softShutdownTimeout): expected a number of seconds")
        }
    }

    private var hangupBehavior: HangupBehavior? {
        switch onHangup.lowercased() {
        case "celery": return .celery
        case "restart": return .restart
        case "shutdown": return .shutdown
        default: return nil
        }
    }

    func run() async throws {
        CeleryWorker.tuneMemoryAllocator()
        let level = CeleryLogHandler.level(named: loglevel) ?? .info
        let format: CeleryLogHandler.Format = jsonLogs ? .json : .celery
        LoggingSystem.bootstrap { CeleryLogHandler(label: $0, logLevel: level, format: format) }
        let logger = Logger(label: "celery.worker")
        var metricsEndpoint: MetricsEndpoint?
        if let metricsPort {
            let prometheus = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: prometheus))
            metricsEndpoint = try MetricsEndpoint(port: metricsPort, registry: prometheus, logger: logger)
        }
        defer { _ = metricsEndpoint }

        var (configuration, settings) = try CeleryConfiguration.load(file: config, broker: broker, backend: backend)
        if !settings.unknownNames.isEmpty {
            logger.warning("Settings swift-celery does not use: \(settings.unknownNames.joined(separator: ", "))")
        }
        if trackStarted { configuration.trackStarted = true }
        if resultExtended { configuration.resultExtended = true }
        if let visibilityTimeout { configuration.visibilityTimeout = .seconds(visibilityTimeout) }
        let workerConfiguration = try makeWorkerConfiguration(settings: settings)
        let worker = try CeleryWorker(
            configuration: configuration, workerConfiguration: workerConfiguration,
            registry: CeleryWorkerCommand.registry(), logger: logger)
        try await worker.runService(
            softShutdownTimeout: softShutdownTimeout.flatMap(Duration.fromSeconds) ?? workerConfiguration.softShutdownTimeout,
            hangup: hangupBehavior ?? .celery)
    }

    /// The worker's settings: Celery's defaults, then the settings read, then these flags.
    private func makeWorkerConfiguration(settings: CelerySettings) throws -> WorkerConfiguration {
        var workerConfiguration = WorkerConfiguration(hostname: WorkerConfiguration.expandHostname(hostname))
        try settings.apply(to: &workerConfiguration)
        if let queues {
            workerConfiguration.queues = queues.split(separator: ",").map {
                String($0.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
            }
        }
        if let concurrency { workerConfiguration.concurrency = max(1, concurrency) }
        if let kind = pool.flatMap(WorkerConfiguration.pool(named:)) { workerConfiguration.pool = kind }
        if let prefetchMultiplier { workerConfiguration.prefetchMultiplier = max(1, prefetchMultiplier) }
        if acksLate { workerConfiguration.acksLate = true }
        workerConfiguration.stateDatabasePath = statedb
        if taskEvents { workerConfiguration.sendTaskEvents = true }
        workerConfiguration.sendHeartbeats = !withoutHeartbeat
        // Seconds on the command line, as `celery worker` takes them; durations in the library.
        if let timeLimit { workerConfiguration.timeLimit = .fromSeconds(timeLimit) }
        if let softTimeLimit { workerConfiguration.softTimeLimit = .fromSeconds(softTimeLimit) }
        workerConfiguration.visibilityRestoreInterval = Duration.fromSeconds(restoreInterval) ?? .seconds(100)
        return workerConfiguration
    }
}
