#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How a worker consumes: queues, concurrency, prefetch, acknowledgement, name.
///
/// The names follow `celery worker`'s flags and settings (`-Q`, `-c`,
/// `worker_prefetch_multiplier`, `task_acks_late`, `-n`).
public struct WorkerConfiguration: Sendable {
    /// Queues to consume (`-Q a,b`).
    public var queues: [String]
    /// Tasks run at once (`-c`).
    public var concurrency: Int
    /// `worker_prefetch_multiplier`: the worker holds at most concurrency × this many
    /// unacknowledged messages.
    public var prefetchMultiplier: Int
    /// `task_acks_late` for tasks that do not set it themselves.
    public var acksLate: Bool
    /// `task_acks_on_failure` (else `task_acks_on_failure_or_timeout`, default `true`): with
    /// acks_late, a failed task's message is acknowledged; when `false` it is rejected without
    /// requeue (dead-lettered where the broker has dead letters; removed on Redis), as Celery.
    public var acksOnFailure: Bool = true
    /// `task_acks_on_timeout` (else `task_acks_on_failure_or_timeout`, default `true`): with
    /// acks_late, the message of a task past its hard time limit is acknowledged; when `false`
    /// it is returned to its queue to run again, as Celery's `on_timeout` does.
    public var acksOnTimeout: Bool = true
    /// `worker_disable_prefetch` (Celery 5.6): hold no message beyond those running, so the
    /// worker fetches only when a slot is free (the prefetch limit becomes the concurrency).
    public var disablePrefetch: Bool = false
    /// `worker_soft_shutdown_timeout` (`--soft-shutdown-timeout`): how long a warm shutdown
    /// waits for running tasks before it turns cold; `nil` (Celery's 0) as long as they run.
    /// ``CeleryWorker/runService(softShutdownTimeout:hangup:)`` takes it.
    public var softShutdownTimeout: Duration? = nil

    /// The most unacknowledged messages the worker holds at once: concurrency × prefetch
    /// multiplier, or the concurrency with ``disablePrefetch``.
    public var prefetchLimit: Int { disablePrefetch ? concurrency : concurrency * prefetchMultiplier }
    /// The node name (`-n`), e.g. `celery@host`.
    public var hostname: String
    /// How long one blocking wait lasts before every consumed list is looked at again: a
    /// message arriving only in a priority sub-list or a second queue of an idle worker is
    /// seen within this time (kombu's BRPOP uses 1 second). At least 10 ms; Redis is sent
    /// it in seconds.
    public var pollTimeout: Duration
    /// `--time-limit`/`task_time_limit`: the hard limit for tasks whose message and definition
    /// set none; `nil` or zero sets none. Control replies (`conf`, `stats`) show it in seconds.
    public var timeLimit: Duration? = nil
    /// `--soft-time-limit`/`task_soft_time_limit`: the soft limit, likewise.
    public var softTimeLimit: Duration? = nil
    /// `--statedb`: a file where revoked task ids are kept across restarts.
    public var stateDatabasePath: String? = nil
    /// `-E`/`worker_send_task_events`: send task events (received, started, succeeded, ...).
    public var sendTaskEvents: Bool = false
    /// Send worker-online, worker-heartbeat (every 2 s) and worker-offline (off with
    /// `--without-heartbeat`).
    public var sendHeartbeats: Bool = true
    /// `-P`/`worker_pool`: where task bodies run.
    public var pool: WorkerPool = .threads
    /// How often to put back messages that any worker left unacknowledged longer than the
    /// visibility timeout. kombu does it at start-up and then on every 10th of its 10-second
    /// calls, so every 100 s; so does this worker by default.
    public var visibilityRestoreInterval: Duration = .seconds(100)
    /// `broker_connection_max_retries`: how many times in a row the worker retries a broker it
    /// cannot reach (refused, down, timing out) before it stops with an error, counted as kombu
    /// counts them (`0`: no retry); `nil` retries for ever. Celery's default is 100 retries
    /// spaced up to 30 s apart (about 46 minutes); this worker retries within 5 s, so 100
    /// would give up after about 6 minutes, and by default it keeps waiting out an outage as
    /// it always has. A refused password or database is not an outage: the worker makes three
    /// attempts, a second apart, then exits with the reason, whatever this says.
    public var brokerConnectionMaxRetries: Int? = nil

    /// The most tasks a worker runs at once, for `-c`, `worker_concurrency` and `pool_grow`.
    ///
    /// Each slot is a task waiting on the delivery buffer (about 1.5 KiB: 10,000 slots cost
    /// 15 MB), and the consumer holds up to concurrency × prefetch multiplier messages, so the
    /// bound keeps a mistyped `pool_grow 1000000000` from taking the machine's memory (it
    /// grew the worker from 19 MB to 5.6 GB in 20 s, and starting the slots kept it from
    /// answering `ping`). 10,000 is above any useful parallelism for one process on one Redis
    /// connection (the release build drains about 16,000 tasks/s in all), and a fixed number,
    /// rather than one derived from the core count, lets one broadcast get the same answer
    /// from every machine.
    public static let maximumConcurrency = 10_000

    /// Celery's defaults: queue `celery`, one slot per core, multiplier 4, early ack,
    /// node name `celery@<host>`, a 500 ms ``pollTimeout`` (raised to 10 ms when shorter).
    public init(
        queues: [String] = ["celery"], concurrency: Int? = nil,
        prefetchMultiplier: Int = 4, acksLate: Bool = false, hostname: String? = nil,
        pollTimeout: Duration = .milliseconds(500)
    ) {
        self.queues = queues
        self.concurrency = max(1, concurrency ?? ProcessInfo.processInfo.activeProcessorCount)
        self.prefetchMultiplier = max(1, prefetchMultiplier)
        self.acksLate = acksLate
        self.hostname = hostname ?? "celery@\(ProcessInfo.processInfo.hostName)"
        self.pollTimeout = max(.milliseconds(10), pollTimeout)
    }

    /// Celery's `-P` names: `prefork` and `threads` are ``WorkerPool/threads``; `solo`,
    /// `gevent` and `eventlet` (one thread, cooperative) are ``WorkerPool/solo``.
    public static func pool(named name: String) -> WorkerPool? {
        switch name.lowercased() {
        case "prefork", "threads", "processes": .threads
        case "solo", "gevent", "eventlet": .solo
        default: nil
        }
    }

    /// Expands Celery's node-name placeholders: `%h` (host name), `%n` (its first label),
    /// `%d` (its domain), `%%`.
    public static func expandHostname(_ pattern: String, host: String? = nil) -> String {
        let host = host ?? ProcessInfo.processInfo.hostName
        let name = host.split(separator: ".").first.map(String.init) ?? host
        let domain = host.split(separator: ".").dropFirst().joined(separator: ".")
        return pattern.replacing("%%", with: "\u{0}").replacing("%h", with: host).replacing("%n", with: name)
            .replacing("%d", with: domain).replacing("\u{0}", with: "%")
    }
}

/// Where a worker runs its tasks' bodies (`celery worker -P`).
public enum WorkerPool: String, Sendable {
    /// Swift's global concurrent executor, one thread per core, as Celery's prefork pool uses
    /// every core: CPU-bound tasks run in parallel. The worker's own per-task work (decoding,
    /// results, acknowledgements) runs there too; Redis I/O runs on the worker's event loop.
    case threads
    /// The worker's event loop, one thread, as Celery's solo pool runs tasks in the consumer
    /// itself; up to `concurrency` tasks are in progress at once while they await, as with
    /// Celery's gevent and eventlet pools. Nothing changes thread between a message arriving
    /// and its result leaving, which gives the lowest latency and, for light or I/O-bound
    /// tasks, the highest rate; a task that computes for long holds up every other task and
    /// the worker's Redis I/O meanwhile.
    case solo
}
