#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
internal import CeleryRedis

/// Where the broker and result backend are, and the Celery settings client and worker share.
///
/// Names follow Celery's settings (`broker_url`, `result_backend`, `result_expires`,
/// `task_default_queue`, `broker_transport_options.visibility_timeout`).
public struct CeleryConfiguration: Sendable {
    /// `broker_url`: `redis://[user:password@]host:port/db` or `unix:///path`.
    public var brokerURL: String
    /// `result_backend`: the same forms; results are stored with Celery's Redis backend layout.
    public var resultBackendURL: String
    /// `task_default_queue`.
    public var defaultQueue: String
    /// `result_expires`: how long results live; `nil` keeps them forever.
    public var resultExpires: Duration?
    /// `result_failure_expires`: how long FAILURE results are kept; `nil` as ``resultExpires``,
    /// zero for ever.
    public var resultFailureExpires: Duration? = nil
    /// `result_chord_expires`: how long a chord's counters and saved header are kept; `nil` as
    /// ``resultExpires``, zero for ever.
    public var resultChordExpires: Duration? = nil
    /// `broker_transport_options["visibility_timeout"]`: how long a delivered message may stay
    /// unacknowledged before any worker puts it back in its queue.
    public var visibilityTimeout: Duration
    /// Limits for decoding messages, and the accepted content types (`accept_content`).
    public var decoding: MessageDecodingOptions
    /// `task_track_started`: store STARTED (with the worker's pid and name) when a task starts.
    public var trackStarted: Bool = false
    /// `result_extended`: store the task's name, args, kwargs, worker, retries and queue
    /// with its result.
    public var resultExtended: Bool = false
    /// `task_routes`: the queue for tasks sent without one, by name or glob, first match wins.
    public var taskRoutes: [TaskRoute] = []
    /// `task_compression`: the compression of the task messages this client (or a worker
    /// publishing callbacks and canvases) sends, as kombu's content type (`application/x-gzip`,
    /// ...); `nil` sends them uncompressed. Compressed messages are read whatever this says.
    public var taskCompression: String?
    /// `result_compression` (Celery 5.7): the compression of the results a worker stores, as a
    /// content type; `nil` stores plain JSON. Compressed results are read whatever this says.
    public var resultCompression: String?
    /// `task_protocol`: the message protocol sent, 2 (Celery's default) or 1 (`as_task_v1`).
    /// Both are read whatever this says.
    public var taskProtocol: Int = 2

    /// The queue `task_routes` gives the task `name`, if any.
    public func routedQueue(forTask name: String) -> String? {
        taskRoutes.first { $0.matches(name) }?.queue
    }

    /// A configuration with Celery's defaults for everything but the URLs.
    public init(
        brokerURL: String = "redis://localhost:6379/0", resultBackendURL: String? = nil,
        defaultQueue: String = "celery", resultExpires: Duration? = .seconds(86_400),
        visibilityTimeout: Duration = .seconds(3600), decoding: MessageDecodingOptions = MessageDecodingOptions()
    ) {
        self.brokerURL = brokerURL
        self.resultBackendURL = resultBackendURL ?? brokerURL
        self.defaultQueue = defaultQueue
        self.resultExpires = resultExpires
        self.visibilityTimeout = visibilityTimeout
        self.decoding = decoding
    }

    /// Celery's defaults, then the settings of a config file (if given), then `CELERY_<NAME>`
    /// environment variables (see ``CelerySettings``).
    ///
    /// - Returns: the configuration, and the settings read (for ``CelerySettings/apply(to:)-(WorkerConfiguration)``
    ///   and ``CelerySettings/unknownNames``).
    /// - Throws: ``CeleryError`` (`invalidConfiguration`) for an unreadable file or a bad value.
    public static func load(file: String?, environment: [String: String]? = nil) throws -> (CeleryConfiguration, CelerySettings) {
        var settings = try file.map(CelerySettings.load(file:)) ?? CelerySettings()
        settings = settings.merging(CelerySettings.fromEnvironment(environment))
        var configuration = CeleryConfiguration()
        try settings.apply(to: &configuration)
        // Worker settings are checked here too, so a bad value is reported by every program.
        var worker = WorkerConfiguration()
        try settings.apply(to: &worker)
        if settings.values["result_backend"] == nil { configuration.resultBackendURL = configuration.brokerURL }
        return (configuration, settings)
    }

    /// ``load(file:environment:)``, then URLs given on a command line: a broker given without a
    /// backend also serves as the backend unless the file or `CELERY_RESULT_BACKEND` names one
    /// (as `celery -b URL` does). The one resolver of every executable.
    public static func load(
        file: String?, broker: String?, backend: String?, environment: [String: String]? = nil
    ) throws -> (CeleryConfiguration, CelerySettings) {
        var (configuration, settings) = try load(file: file, environment: environment)
        if let broker {
            configuration.brokerURL = broker
            if backend == nil, settings.values["result_backend"] == nil { configuration.resultBackendURL = broker }
        }
        if let backend { configuration.resultBackendURL = backend }
        return (configuration, settings)
    }

    /// Celery's defaults, with the URLs from `CELERY_BROKER_URL` and `CELERY_RESULT_BACKEND`
    /// (the backend falls back to the broker URL, the broker to `redis://localhost:6379/0`),
    /// and the other settings from their `CELERY_<NAME>` variables (``CelerySettings``), e.g.
    /// `CELERY_RESULT_EXPIRES` in seconds (`0` or `None`: never), `CELERY_TASK_DEFAULT_QUEUE`.
    public static func fromEnvironment(_ environment: [String: String]? = nil) -> CeleryConfiguration {
        let environment = environment ?? ProcessInfo.processInfo.environment
        let broker = environment["CELERY_BROKER_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "redis://localhost:6379/0"
        let backend = environment["CELERY_RESULT_BACKEND"].flatMap { $0.isEmpty ? nil : $0 } ?? broker
        var configuration = CeleryConfiguration(brokerURL: broker, resultBackendURL: backend)
        // The other CELERY_<NAME> settings (task_default_queue, task_routes, ...); a variable
        // holding a bad value is skipped here, and reported by ``load(file:environment:)``.
        let settings = CelerySettings.fromEnvironment(environment)
        for (name, value) in settings.values where name != "broker_url" && name != "result_backend" {
            var candidate = configuration
            if (try? CelerySettings([name: value]).apply(to: &candidate)) != nil { configuration = candidate }
        }
        return configuration
    }

    /// Celery's defaults and environment, overridden by URLs given on a command line: a
    /// broker given without a backend also serves as the backend unless
    /// `CELERY_RESULT_BACKEND` names another.
    public static func resolve(broker: String?, backend: String?, environment: [String: String]? = nil) -> CeleryConfiguration {
        let environment = environment ?? ProcessInfo.processInfo.environment
        var configuration = fromEnvironment(environment)
        if let broker {
            configuration.brokerURL = broker
            if environment["CELERY_RESULT_BACKEND"].map({ $0.isEmpty }) ?? true { configuration.resultBackendURL = broker }
        }
        if let backend { configuration.resultBackendURL = backend }
        return configuration
    }

    /// The broker URL with any password replaced by `***`.
    public var redactedBrokerURL: String { Self.redacted(brokerURL) }
    /// The result backend URL with any password replaced by `***`.
    public var redactedResultBackendURL: String { Self.redacted(resultBackendURL) }

    static func redacted(_ url: String) -> String {
        (try? RedisEndpoint(url: url))?.redactedURL ?? RedisEndpoint.redact(url)
    }
}
