#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization
import Metrics
internal import CeleryRedis

/// The worker's periodic work beside the tasks: the state database, heartbeats and the
/// visibility restore.
extension CeleryWorker {
    /// Writes the revoked ids to `--statedb`, if one is configured.
    func saveState() {
        guard let path = workerConfiguration.stateDatabasePath else { return }
        do {
            try state.save(to: path)
        } catch {
            logger.error("Cannot write the state database \(path): \(error)")
        }
    }

    /// `worker-online`, then `worker-heartbeat` every 2 s, as Celery's heartbeat step.
    func heartbeatLoop() async {
        var type = "worker-online"
        while !stopping.load(ordering: .relaxed) {
            await events.workerEvent(type, active: state.active.count, processed: state.totals.values.reduce(0, +))
            type = "worker-heartbeat"
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .milliseconds(Int(EventDispatcher.heartbeatFrequency * 1000)))
            while clock.now < deadline, !stopping.load(ordering: .relaxed) {
                try? await Task.sleep(for: min(.milliseconds(100), clock.now.duration(to: deadline)))
            }
        }
    }

    /// At start-up and then every `visibilityRestoreInterval`, puts back messages any worker
    /// left unacknowledged longer than the visibility timeout (kombu's `restore_visible`).
    func visibilityRestoreLoop() async {
        while !stopping.load(ordering: .relaxed) {
            do {
                let restored = try await broker.restoreVisible(visibilityTimeout: configuration.visibilityTimeout)
                if restored > 0 { logger.info("Restored \(restored) message(s) unacknowledged past the visibility timeout") }
            } catch {
                logger.debug("Visibility restore skipped: \(error)")
            }
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: workerConfiguration.visibilityRestoreInterval)
            while clock.now < deadline, !stopping.load(ordering: .relaxed) {
                try? await Task.sleep(for: min(.milliseconds(250), clock.now.duration(to: deadline)))
            }
        }
    }
}
