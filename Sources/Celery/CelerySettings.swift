#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Celery settings by their Python names (`broker_url`, `task_acks_late`, ...), the way a
/// Celery project configures itself: from a config file (a `celeryconfig.py` of plain
/// `name = value` assignments, or a JSON object), from `CELERY_<NAME>` environment variables,
/// and from code; then applied to ``CeleryConfiguration`` and ``WorkerConfiguration``.
///
/// ```python
/// # celeryconfig.py — read as it is by both Python's Celery and swift-celery
/// broker_url = 'redis://localhost:6379/0'
/// task_acks_late = True
/// worker_prefetch_multiplier = 1
/// broker_transport_options = {'visibility_timeout': 600}
/// task_routes = {'reports.*': {'queue': 'slow'}}
/// ```
///
/// Settings swift-celery does not know are kept and listed by ``unknownNames`` (Celery
/// ignores them too; a typo is worth a warning). Pickle is refused: `task_serializer`,
/// `result_serializer` and `accept_content` may only name JSON.
public struct CelerySettings: Sendable {
    /// The settings, by name.
    public var values: [String: JSONValue]

    /// The settings swift-celery applies.
    public static let known: Set<String> = [
        "broker_url", "result_backend", "result_expires", "task_default_queue", "task_track_started", "result_extended",
        "broker_transport_options", "task_routes", "accept_content", "task_serializer", "result_serializer",
        "worker_prefetch_multiplier", "worker_concurrency", "task_acks_late", "task_time_limit", "task_soft_time_limit",
        "worker_send_task_events", "task_queues", "worker_pool", "worker_max_message_size",
        "broker_connection_max_retries", "task_compression", "result_compression", "task_protocol",
        "worker_max_decompressed_size", "task_acks_on_failure_or_timeout", "task_acks_on_failure", "task_acks_on_timeout",
        "worker_disable_prefetch", "result_failure_expires", "result_chord_expires",
        "worker_soft_shutdown_timeout",
    ]

    /// Settings with these values.
    public init(_ values: [String: JSONValue] = [:]) {
        self.values = values
    }

    /// The names given that swift-celery does not apply, sorted.
    public var unknownNames: [String] {
        values.keys.filter { !Self.known.contains($0) }.sorted()
    }

    /// These settings with `other`'s on top.
    public func merging(_ other: CelerySettings) -> CelerySettings {
        CelerySettings(values.merging(other.values) { _, new in new })
    }

    /// Reads a config file: a JSON object (`.json`), or Python assignments `name = literal`
    /// (strings, numbers, `True`/`False`/`None`, lists, tuples and dicts, over several lines
    /// inside brackets); `import` lines and comments are skipped.
    ///
    /// - Throws: ``CeleryError`` (`invalidConfiguration`) naming the file and line.
    public static func load(file path: String) throws -> CelerySettings {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CeleryError(code: .invalidConfiguration, message: "cannot read the config file \(path): \(error)")
        }
        if path.hasSuffix(".json") {
            guard case .object(let object)? = try? JSONValue(parsing: text) else {
                throw CeleryError(code: .invalidConfiguration, message: "\(path): not a JSON object")
            }
            return CelerySettings(Dictionary(object.map { ($0.key, $0.value) }, uniquingKeysWith: { _, new in new }))
        }
        do {
            return CelerySettings(try PythonLiteralParser.assignments(in: text))
        } catch {
            throw CeleryError(code: .invalidConfiguration, message: "\(path):\(error.line): \(error.message)")
        }
    }

    /// `CELERY_<NAME>` variables for the known settings (`CELERY_TASK_ACKS_LATE=true`,
    /// `CELERY_BROKER_TRANSPORT_OPTIONS={"visibility_timeout": 600}`): each value read as a
    /// Python or JSON literal, else kept as a string; `true`/`false` in any case are booleans.
    public static func fromEnvironment(_ environment: [String: String]? = nil) -> CelerySettings {
        let environment = environment ?? ProcessInfo.processInfo.environment
        var values: [String: JSONValue] = [:]
        for name in known {
            guard let text = environment["CELERY_" + name.uppercased()], !text.isEmpty else { continue }
            switch text.lowercased() {
            case "true", "yes", "on": values[name] = .bool(true)
            case "false", "no", "off": values[name] = .bool(false)
            default: values[name] = (try? PythonLiteralParser.literal(text)) ?? .string(text)
            }
        }
        return CelerySettings(values)
    }

    /// Sets the client and backend settings on `configuration`.
    ///
    /// - Throws: ``CeleryError`` (`invalidConfiguration`) naming the setting and what it holds.
    public func apply(to configuration: inout CeleryConfiguration) throws {
        if let url = try string("broker_url") { configuration.brokerURL = url }
        if let url = try string("result_backend") { configuration.resultBackendURL = url }
        if let expires = values["result_expires"] {
            if expires.isNull {
                configuration.resultExpires = nil
            } else {
                guard let seconds = expires.doubleValue, seconds >= 0 else { throw mismatch("result_expires", "a number of seconds or None") }
                configuration.resultExpires = seconds == 0 ? nil : .fromSeconds(seconds)
            }
        }
        for (name, path) in [("result_failure_expires", \CeleryConfiguration.resultFailureExpires), ("result_chord_expires", \.resultChordExpires)] {
            guard let value = values[name], !value.isNull else { continue }
            guard let seconds = value.doubleValue, seconds >= 0 else { throw mismatch(name, "a number of seconds or None") }
            configuration[keyPath: path] = seconds == 0 ? .zero : .fromSeconds(seconds)
        }
        if let queue = try string("task_default_queue") { configuration.defaultQueue = queue }
        if let flag = try bool("task_track_started") { configuration.trackStarted = flag }
        if let flag = try bool("result_extended") { configuration.resultExtended = flag }
        if let options = values["broker_transport_options"] {
            guard case .object(let object) = options else { throw mismatch("broker_transport_options", "a dict") }
            if let timeout = object["visibility_timeout"] {
                guard let seconds = timeout.doubleValue, seconds > 0 else {
                    throw mismatch("broker_transport_options['visibility_timeout']", "a positive number of seconds")
                }
                configuration.visibilityTimeout = .fromSeconds(seconds) ?? configuration.visibilityTimeout
            }
        }
        if let routes = values["task_routes"] { configuration.taskRoutes = try Self.routes(routes) }
        for name in ["task_serializer", "result_serializer"] {
            if let serializer = try string(name), serializer != "json" {
                throw CeleryError(code: .invalidConfiguration, message: "\(name) = '\(serializer)': swift-celery speaks JSON only (pickle is refused)")
            }
        }
        if let accept = values["accept_content"] {
            guard case .array(let items) = accept else { throw mismatch("accept_content", "a list") }
            var types: Set<String> = []
            for item in items.compactMap(\.stringValue) {
                switch item {
                case "json", "application/json": types.insert("application/json")
                default:
                    throw CeleryError(code: .invalidConfiguration, message: "accept_content names '\(item)': only JSON is accepted (pickle is refused)")
                }
            }
            configuration.decoding.acceptedContentTypes = types
        }
        // swift-celery's own: the largest queue entry the worker runs (bytes, default 512 MiB).
        if let limit = values["worker_max_message_size"] {
            guard let bytes = limit.integerValue, bytes > 0, bytes <= Int64(Int.max) else {
                throw mismatch("worker_max_message_size", "a positive number of bytes")
            }
            configuration.decoding.maximumMessageSize = Int(bytes)
        }
        // swift-celery's own: the largest body a compressed one may expand to (bytes; default
        // worker_max_message_size), so a decompression bomb is refused, not expanded.
        if let limit = values["worker_max_decompressed_size"], !limit.isNull {
            guard let bytes = limit.integerValue, bytes > 0, bytes <= Int64(Int.max) else {
                throw mismatch("worker_max_decompressed_size", "a positive number of bytes")
            }
            configuration.decoding.maximumDecompressedSize = Int(bytes)
        }
        for name in ["task_compression", "result_compression"] {
            guard let compression = try string(name), !compression.isEmpty else { continue }
            guard let contentType = ResultPayload.compressionContentType(named: compression) else {
                throw CeleryError(
                    code: .invalidConfiguration,
                    message: "\(name) = '\(compression)': unknown compression (supported: gzip/zlib, bzip2, lzma/xz, zstd, brotli)")
            }
            if name == "task_compression" { configuration.taskCompression = contentType } else { configuration.resultCompression = contentType }
        }
        if let version = try integer("task_protocol") {
            guard version == 1 || version == 2 else { throw mismatch("task_protocol", "1 or 2") }
            configuration.taskProtocol = version
        }
    }

    /// Sets the worker settings on `worker`.
    ///
    /// - Throws: ``CeleryError`` (`invalidConfiguration`) naming the setting and what it holds.
    public func apply(to worker: inout WorkerConfiguration) throws {
        if let multiplier = try integer("worker_prefetch_multiplier") { worker.prefetchMultiplier = max(1, multiplier) }
        // Celery 5.7 reads 'auto' (and a number in a string) as well as an integer.
        if case .string(let raw)? = values["worker_concurrency"] {
            let text = raw.filter { !$0.isWhitespace }
            if text.lowercased() == "auto" {
                worker.concurrency = ProcessInfo.processInfo.activeProcessorCount
            } else if let count = Int(text), count >= 0 {
                worker.concurrency = max(1, min(count, WorkerConfiguration.maximumConcurrency))
            } else {
                throw mismatch("worker_concurrency", "an integer or 'auto'")
            }
        } else if let concurrency = try integer("worker_concurrency") {
            guard concurrency <= WorkerConfiguration.maximumConcurrency else {
                throw mismatch("worker_concurrency", "at most \(WorkerConfiguration.maximumConcurrency) (WorkerConfiguration.maximumConcurrency)")
            }
            worker.concurrency = max(1, concurrency)
        }
        if let flag = try bool("task_acks_late") { worker.acksLate = flag }
        // Celery 5.7: task_acks_on_failure/_on_timeout, each falling back to the older
        // task_acks_on_failure_or_timeout, then to true.
        let either = try bool("task_acks_on_failure_or_timeout")
        if let flag = try bool("task_acks_on_failure") ?? either { worker.acksOnFailure = flag }
        if let flag = try bool("task_acks_on_timeout") ?? either { worker.acksOnTimeout = flag }
        if let flag = try bool("worker_disable_prefetch") { worker.disablePrefetch = flag }
        if let value = values["worker_soft_shutdown_timeout"], !value.isNull {
            guard let seconds = value.doubleValue, seconds >= 0 else { throw mismatch("worker_soft_shutdown_timeout", "a number of seconds") }
            worker.softShutdownTimeout = seconds == 0 ? nil : .fromSeconds(seconds)
        }
        if let limit = values["task_time_limit"], !limit.isNull {
            guard let seconds = limit.doubleValue else { throw mismatch("task_time_limit", "a number of seconds") }
            worker.timeLimit = .timeLimit(seconds: seconds)
        }
        if let limit = values["task_soft_time_limit"], !limit.isNull {
            guard let seconds = limit.doubleValue else { throw mismatch("task_soft_time_limit", "a number of seconds") }
            worker.softTimeLimit = .timeLimit(seconds: seconds)
        }
        if let flag = try bool("worker_send_task_events") { worker.sendTaskEvents = flag }
        if let retries = values["broker_connection_max_retries"] {
            if retries.isNull {
                worker.brokerConnectionMaxRetries = nil
            } else {
                guard let number = retries.integerValue.flatMap({ Int(exactly: $0) }), number >= 0 else {
                    throw mismatch("broker_connection_max_retries", "a number of retries (0 or more) or None")
                }
                worker.brokerConnectionMaxRetries = number
            }
        }
        if let name = values["worker_pool"], !name.isNull {
            guard let pool = name.stringValue.flatMap(WorkerConfiguration.pool(named:)) else {
                throw mismatch("worker_pool", "prefork, threads, solo, gevent or eventlet")
            }
            worker.pool = pool
        }
        if let queues = values["task_queues"] {
            guard case .array(let items) = queues else { throw mismatch("task_queues", "a list of queue names") }
            let names = items.compactMap(\.stringValue)
            guard names.count == items.count, !names.isEmpty else { throw mismatch("task_queues", "a list of queue names") }
            worker.queues = names
        }
    }

    private func string(_ name: String) throws -> String? {
        guard let value = values[name], !value.isNull else { return nil }
        guard let text = value.stringValue else { throw mismatch(name, "a string") }
        return text
    }

    private func bool(_ name: String) throws -> Bool? {
        guard let value = values[name], !value.isNull else { return nil }
        guard let flag = value.boolValue else { throw mismatch(name, "True or False") }
        return flag
    }

    private func integer(_ name: String) throws -> Int? {
        guard let value = values[name], !value.isNull else { return nil }
        guard let number = value.integerValue.flatMap({ Int(exactly: $0) }) else { throw mismatch(name, "an integer") }
        return number
    }

    private func mismatch(_ name: String, _ expected: String) -> CeleryError {
        CeleryError(
            code: .invalidConfiguration,
            message: "setting \(name) must be \(expected), not \(PythonRepr.repr(values[name] ?? .null, limit: 80))")
    }

    /// `task_routes`: `{'name or glob': {'queue': 'q'}}` or `{'name': 'q'}`, or a list of such dicts.
    static func routes(_ value: JSONValue) throws -> [TaskRoute] {
        let maps: [JSONObject]
        switch value {
        case .object(let object): maps = [object]
        case .array(let items):
            maps = try items.map {
                guard case .object(let object) = $0 else { throw CeleryError(code: .invalidConfiguration, message: "task_routes: each entry must be a dict") }
                return object
            }
        default: throw CeleryError(code: .invalidConfiguration, message: "task_routes must be a dict or a list of dicts")
        }
        return try maps.flatMap { map in
            try map.map { pattern, target in
                let queue = target.stringValue ?? target["queue"]?.stringValue
                guard let queue else {
                    throw CeleryError(code: .invalidConfiguration, message: "task_routes['\(pattern)'] must name a queue ({'queue': '...'})")
                }
                return TaskRoute(pattern: pattern, queue: queue)
            }
        }
    }
}
