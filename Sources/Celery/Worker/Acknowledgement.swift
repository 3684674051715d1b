#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization
import Metrics
internal import CeleryRedis

/// Acknowledging, storing results through outages, and returning held messages on shutdown.
extension CeleryWorker {
    /// Gives the delivery's prefetch room back and acks it (kombu's ack and reject-without-
    /// requeue are the same commands), or with `requeue` puts it back at the end of its queue.
    /// A failure is logged; the message then stays in `unacked` and comes back after the
    /// visibility timeout, as with Celery.
    ///
    /// The room is given back as the ack is issued, not when Redis has answered: the message
    /// is done with, and an ack waiting in a batch must not keep the consumer from fetching
    /// (that wait bounded the drain rate: +20–30 % with the default prefetch). kombu frees
    /// the credit once its ack has returned, so `unacked` may hold, beyond the prefetch
    /// bound, the acks still on their way: about one per slot when tasks take any time.
    ///
    /// With `releaseCredit` false the prefetch credit stays taken (`worker_disable_prefetch`:
    /// an early-acknowledged task still counts until it is done, as Celery's reserved requests).
    func finish(_ delivery: Delivery, requeue: Bool = false, releaseCredit: Bool = true) async {
        if releaseCredit { buffer.release() }
        guard let tag = delivery.deliveryTag else { return }
        do {
            if requeue {
                try await broker.restore(deliveryTag: tag, leftmost: true)
            } else {
                try await broker.ack(deliveryTag: tag)
            }
            ackOutage.succeeded()
        } catch {
            ackOutage.failed("Cannot acknowledge \(delivery.tagDescription)", error, metadata: [LoggingKeys.deliveryTag: "\(delivery.tagDescription)"])
        }
    }

    /// Stores a result. A result is state a caller waits for, so while the worker runs it is
    /// kept and retried, with back-off capped at a second, as long as Redis refuses it for a
    /// reason that passes: the connection is down, or Redis reached `maxmemory` under
    /// `noeviction` (logged with Redis's own `OOM command not allowed ...` text, once per
    /// outage). Once the worker is stopping it gets Celery's backend retry budget (about 20
    /// tries over 15 s) and then gives up: the task id is noted in ``lostOutcomes`` so that an
    /// acks_late message is returned to its queue instead of acknowledged.
    ///
    /// - Returns: whether the document was stored.
    @discardableResult
    func store(_ document: TaskResultDocument, logger: Logger) async -> Bool {
        var backoff = Backoff(base: .milliseconds(100), cap: .seconds(1))
        var triesWhileStopping = 0
        while true {
            do {
                try await backend.store(document)
                storeOutage.succeeded()
                return true
            } catch let error as any TransportError where error.isConnectionError || error.isOutOfMemory {
                if stopping.isStopped { triesWhileStopping += 1 }
                guard triesWhileStopping <= 20 else {
                    logger.error(
                        "Cannot store the result of \(document.taskID) (\(document.status)) before the worker stopped: \(error)")
                    lostOutcomes.withLock { _ = $0.insert(document.taskID) }
                    return false
                }
                storeOutage.failed("Cannot store the result of \(document.taskID) (\(document.status)); retrying", error)
                try? await Task.sleep(for: backoff.next())
            } catch {
                logger.error("Cannot store the result of \(document.taskID) (\(document.status)): \(error)")
                return false
            }
        }
    }

    /// On shutdown, puts every held message no slot started (prefetched ones and those
    /// waiting for their ETA) back at the consuming end of its queue, as kombu does.
    func returnHeldMessages() async {
        let held = buffer.drainUnstarted() + schedule.drain()
        guard !held.isEmpty else { return }
        logger.info("Restoring \(held.count) unacknowledged message(s)")
        for delivery in held {
            guard let tag = delivery.deliveryTag else { continue }
            do {
                try await broker.restore(deliveryTag: tag, leftmost: false)
            } catch {
                logger.error("Cannot restore \(delivery.tagDescription); it stays in unacked for the visibility restore: \(error)")
            }
        }
    }
}
