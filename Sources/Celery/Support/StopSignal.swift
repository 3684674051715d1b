import Synchronization

/// The worker's "stop taking work" as something a loop can wait on: a housekeeping loop sleeps
/// until its next round or until the worker stops, whichever comes first, instead of waking
/// every 100 ms to look at a flag.
final class StopSignal: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let signal = WakeSignal()

    /// Whether ``stop()`` was called.
    var isStopped: Bool { stopped.load(ordering: .acquiring) }

    /// Wakes every sleeper now and every later one at once.
    func stop() {
        stopped.store(true, ordering: .releasing)
        signal.signal()
    }

    /// Sleeps for `duration`, or less when the signal stops or the task is cancelled.
    ///
    /// - Returns: `true` when the worker is stopping (the loop should end).
    @discardableResult
    func sleep(for duration: Duration) async -> Bool {
        let generation = signal.generation
        if !isStopped { await signal.wait(after: generation, timeout: duration) }
        return isStopped || Task.isCancelled
    }
}
