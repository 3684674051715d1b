import Logging
import Synchronization
internal import CeleryRedis

/// Keeps messages held for their ETA out of the visibility restore while this worker is alive.
///
/// Celery holds an ETA message unacknowledged until it is due, so with kombu a message due
/// later than the visibility timeout is restored by some worker's `restore_visible` and run
/// once per restore (Celery's documented caveat: 20 tasks ran 100 times with a 5 s timeout).
/// The Swift worker instead marks the messages it holds for an ETA as delivered now
/// (`ZADD XX unacked_index <now> <tags...>`, one pipelined command per 1,000 tags) every
/// ``refreshInterval(visibilityTimeout:)``, a quarter of the visibility timeout, so their
/// score never gets older than the timeout and no restore takes them.
///
/// If the worker dies (SIGKILL, a cold shutdown, a lost host), the refreshes stop: its ETA
/// messages are restored by any worker one visibility timeout after the last refresh, and
/// the worker that takes them holds them until due. At least once: one that came due and ran
/// just before the crash, unacknowledged, runs again. A warm shutdown returns them to their
/// queue at once, as before. The refresh protects against restores using this worker's
/// visibility timeout or a longer one; a peer configured with a shorter one than a quarter of
/// it can still restore them.
enum EtaVisibility {
    /// How often held ETA messages are refreshed: a quarter of `visibilityTimeout`, between
    /// 250 ms and 60 s.
    static func refreshInterval(visibilityTimeout: Duration) -> Duration {
        min(max(visibilityTimeout / 4, .milliseconds(250)), .seconds(60))
    }

    /// The fields under which `items` are filed in `unacked`: of those that wait for their
    /// ETA (`scheduled`) and of those that came due and wait for a slot (decoded, in the
    /// delivery buffer: `pending` with a message), each once.
    static func heldTags(scheduled: [QueuedDelivery], pending: [QueuedDelivery]) -> [[UInt8]] {
        var seen = Set<[UInt8]>()
        var tags: [[UInt8]] = []
        for item in scheduled + pending.filter({ $0.message != nil }) {
            guard let tag = item.delivery.deliveryTag, seen.insert(tag).inserted else { continue }
            tags.append(tag)
        }
        return tags
    }
}

extension CeleryWorker {
    /// Until the worker stops, refreshes the `unacked_index` score of every message held for
    /// its ETA every ``EtaVisibility/refreshInterval(visibilityTimeout:)``; nothing is sent
    /// while none is held. A failed refresh is logged and tried again at the next interval.
    func etaVisibilityLoop() async {
        let interval = EtaVisibility.refreshInterval(visibilityTimeout: configuration.visibilityTimeout)
        while await !stopping.sleep(for: interval) {
            let tags = EtaVisibility.heldTags(scheduled: schedule.snapshot().map(\.item), pending: buffer.pendingSnapshot())
            guard !tags.isEmpty else { continue }
            do {
                try await broker.refreshVisibility(of: tags)
            } catch {
                logger.warning(
                    "Cannot refresh the visibility of \(tags.count) message(s) held for their ETA; other workers may restore them after the visibility timeout: \(error)")
            }
        }
    }
}
