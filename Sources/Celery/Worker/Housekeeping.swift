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
        repeat {
            await events.workerEvent(type, active: state.active.count, processed: state.totals.values.reduce(0, +))
            type = "worker-heartbeat"
        } while await !stopping.sleep(for: .milliseconds(Int(EventDispatcher.heartbeatFrequency * 1000)))
    }

    /// At start-up and then every `visibilityRestoreInterval`, puts back messages any worker
    /// left unacknowledged longer than the visibility timeout (kombu's `restore_visible`).
    func visibilityRestoreLoop() async {
        repeat {
            do {
                let restored = try await broker.restoreVisible(visibilityTimeout: configuration.visibilityTimeout)
                if restored > 0 { logger.info("Restored \(restored) message(s) unacknowledged past the visibility timeout") }
            } catch {
                logger.debug("Visibility restore skipped: \(error)")
            }
        } while await !stopping.sleep(for: workerConfiguration.visibilityRestoreInterval)
    }
}
