import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// What SIGHUP does to a worker run by ``CeleryWorker/runService(softShutdownTimeout:hangup:)``.
public struct HangupBehavior: Sendable, Hashable, CustomStringConvertible {
    enum Base: Sendable, Hashable { case restart, shutdown, celery }
    let base: Base

    /// A warm restart, as `celery worker` does when its output is not a terminal: running tasks
    /// finish, held messages go back to their queues, then the program runs again with the same
    /// arguments in the same process (exec), so a supervisor sees no exit.
    public static let restart = HangupBehavior(base: .restart)
    /// A warm shutdown: running tasks finish, held messages go back to their queues, and
    /// `runService` returns.
    public static let shutdown = HangupBehavior(base: .shutdown)
    /// Celery's choice: ``restart`` when standard output is not a terminal (a service manager,
    /// a log pipe), else ``shutdown``, so closing a terminal never leaves a worker restarted in
    /// the background. (Python's worker keeps SIGHUP's default there and dies; this one
    /// returns every held message first.) The default.
    public static let celery = HangupBehavior(base: .celery)

    /// Whether a SIGHUP received now restarts the program.
    var restarts: Bool {
        switch base {
        case .restart: return true
        case .shutdown: return false
        case .celery: return !Posix.isTerminal(1)
        }
    }

    public var description: String {
        switch base {
        case .restart: return "restart"
        case .shutdown: return "shutdown"
        case .celery: return "celery"
        }
    }
}

extension CeleryWorker {
    /// Runs the worker until it stops or a signal stops it, with `celery worker`'s signal
    /// semantics. This is the entry point for a worker process:
    ///
    /// - the first SIGTERM or SIGINT is a warm shutdown (stop fetching, let running tasks finish,
    ///   return prefetched messages to their queues); the second is a cold one (cancel now,
    ///   leaving unacknowledged messages for the visibility-timeout restore);
    /// - SIGHUP does what `hangup` says (by default Celery's warm restart when not on a terminal);
    /// - SIGPIPE is ignored process-wide, so a closed log pipe costs log lines, never tasks.
    ///
    /// A plain `ServiceGroup` cannot do the first point: its graceful-shutdown and cancellation
    /// signal lists must be disjoint, and a second graceful-shutdown signal is ignored. The
    /// signals are therefore trapped here and turned into the group's graceful shutdown and
    /// cancellation.
    ///
    /// - Parameters:
    ///   - softShutdownTimeout: how long a warm shutdown may wait for running tasks before it
    ///     turns cold (`nil`: as long as they run).
    ///   - hangup: what SIGHUP does.
    /// - Throws: what the worker throws; with a restart, the error of `exec` if it fails.
    public func runService(softShutdownTimeout: Duration? = nil, hangup: HangupBehavior = .celery) async throws {
        Posix.ignoreBrokenPipe()
        let restart = try await Self.runUntilSignalled(
            self, softShutdownTimeout: softShutdownTimeout, hangup: hangup, logger: logger)
        guard restart else { return }
        logger.debug("Running the worker again with the same arguments (exec)")
        do {
            try Posix.reexecute(arguments: CommandLine.arguments)
        } catch {
            logger.critical("Cannot restart the worker: \(error)")
            throw CeleryError(code: .system, message: "restart after SIGHUP failed: \(error)", underlying: error)
        }
    }

    /// Runs `service` in a group that the trapped signals steer; returns whether a SIGHUP asked
    /// for a restart once the warm shutdown it began has completed.
    static func runUntilSignalled(
        _ service: some Service, softShutdownTimeout: Duration?, hangup: HangupBehavior, logger: Logger
    ) async throws -> Bool {
        // A worker that stops by itself (`celery control shutdown`) ends the group normally.
        var configuration = ServiceGroupConfiguration(
            services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)], logger: logger)
        // After this long, a warm shutdown escalates to cancellation (a cold shutdown).
        configuration.maximumGracefulShutdownDuration = softShutdownTimeout
        let group = ServiceGroup(configuration: configuration)
        let restartRequested = RestartRequest()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                var shuttingDown = false
                for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup) {
                    switch (signal, shuttingDown) {
                    case (.sighup, false):
                        shuttingDown = true
                        if hangup.restarts {
                            restartRequested.flag.store(true, ordering: .relaxed)
                            logger.warning("Restarting celery worker (SIGHUP): warm shutdown, then a new run")
                        } else {
                            logger.warning("worker: Warm shutdown (SIGHUP)")
                        }
                        await group.triggerGracefulShutdown()
                    case (.sighup, true):
                        logger.info("SIGHUP ignored: the worker is already shutting down")
                    case (_, false):
                        shuttingDown = true
                        logger.debug("Received \(signal): warm shutdown")
                        await group.triggerGracefulShutdown()
                    case (_, true):
                        // A second SIGTERM/SIGINT: cold, and no restart.
                        restartRequested.flag.store(false, ordering: .relaxed)
                        logger.warning("worker: Cold shutdown (MainProcess)")
                        throw CancellationError()
                    }
                }
            }
            defer { tasks.cancelAll() }
            try await tasks.next()
        }
        return restartRequested.flag.load(ordering: .relaxed)
    }
}

/// Whether a SIGHUP asked for a restart, shared by the signal task and its caller.
private final class RestartRequest: Sendable {
    let flag = Atomic<Bool>(false)
}
