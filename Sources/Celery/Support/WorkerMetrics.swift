import Synchronization
public import Metrics

/// The worker's metrics, through swift-metrics (the program chooses the backend, e.g.
/// swift-prometheus), each created once. Task names are the only dimension, and only
/// registered names are used, so a flood of unknown task names cannot grow the label set.
///
/// | metric | kind | dimensions |
/// | --- | --- | --- |
/// | `celery_tasks_received_total` | counter | `task` |
/// | `celery_tasks_succeeded_total`, `celery_tasks_failed_total`, `celery_tasks_retried_total` | counter | `task` |
/// | `celery_tasks_rejected_total` (malformed or unregistered messages) | counter | |
/// | `celery_task_runtime_seconds` | timer | `task` |
/// | `celery_task_wait_seconds` (fetched from Redis to started) | timer | `task` |
/// | `celery_worker_prefetched` (messages held, not yet running) | gauge | |
/// | `celery_worker_active` (tasks running) | gauge | |
/// | `celery_broker_reconnects_total` | counter | |
public final class WorkerMetrics: Sendable {
    /// Per-task metrics, made on first use of each registered name.
    struct TaskMetrics: Sendable {
        let received: Counter
        let succeeded: Counter
        let failed: Counter
        let retried: Counter
        let runtime: Timer
        let wait: Timer
    }

    private let perTask: Mutex<[String: TaskMetrics]> = Mutex([:])
    let rejected = Counter(label: "celery_tasks_rejected_total")
    let prefetched = Gauge(label: "celery_worker_prefetched")
    let active = Meter(label: "celery_worker_active")
    let reconnects = Counter(label: "celery_broker_reconnects_total")

    /// Metrics with the process's bootstrapped swift-metrics backend.
    public init() {}

    /// Records the time from `start` to `end`.
    static func record(_ timer: Timer, from start: ContinuousClock.Instant, to end: ContinuousClock.Instant) {
        let (seconds, attoseconds) = (end - start).components
        timer.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// The metrics of a registered task.
    func task(_ name: String) -> TaskMetrics {
        perTask.withLock { cache in
            if let metrics = cache[name] { return metrics }
            let dimensions = [("task", name)]
            let metrics = TaskMetrics(
                received: Counter(label: "celery_tasks_received_total", dimensions: dimensions),
                succeeded: Counter(label: "celery_tasks_succeeded_total", dimensions: dimensions),
                failed: Counter(label: "celery_tasks_failed_total", dimensions: dimensions),
                retried: Counter(label: "celery_tasks_retried_total", dimensions: dimensions),
                runtime: Timer(label: "celery_task_runtime_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds),
                wait: Timer(label: "celery_task_wait_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds))
            cache[name] = metrics
            return metrics
        }
    }
}
