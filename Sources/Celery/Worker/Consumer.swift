#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization
import Metrics
internal import CeleryRedis

/// The consumer: fetching into the prefetch buffer, queue rotation, and back-off while the
/// broker cannot be reached.
extension CeleryWorker {
    /// Fetches while there is room, in batches when the queues have messages and with a
    /// blocking pop when they are empty; backs off while the broker is unreachable.
    func consumeLoop() async {
        var queues = state.queues
        // The order the queues are served in: rotated by one after each fetch.
        var order = queues
        var backoff = Backoff()
        var retry = BrokerConnectionRetry(maxRetries: workerConfiguration.brokerConnectionMaxRetries)
        var declared: Set<String> = []
        // The last fetch found the queues emptied (fewer messages than room): a look without
        // waiting would find nothing new and cost a round trip per task when tasks come one
        // at a time, so wait at once (each wait ends with a look at every list).
        var drained = false
        while true {
            let room = await buffer.waitForRoom()
            guard room > 0 else { return }
            if state.queues != queues {
                queues = state.queues
                order = queues
            }
            guard !queues.isEmpty else {
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            do {
                // Bind each queue as a Celery worker's consumer declares it, so clients routing
                // by exchange and peers restoring by exchange find it.
                for queue in queues where !declared.contains(queue) {
                    try await broker.declare(queue: queue)
                    declared.insert(queue)
                }
                var deliveries = drained ? [] : try await broker.fetch(queues: order, limit: room)
                if deliveries.isEmpty, !buffer.isShutDown {
                    deliveries = try await broker.waitAndFetch(
                        queues: order, limit: room, timeout: workerConfiguration.pollTimeout)
                }
                drained = deliveries.count < room
                if backoff.failures > 0 {
                    logger.info("consumer: Connection to broker restored: \(broker.location)")
                    metrics.reconnects.increment()
                }
                backoff.reset()
                retry.succeeded()
                guard !deliveries.isEmpty else { continue }
                // A queue cancelled (cancel_consumer) while the fetch was under way: put its messages back.
                let current = state.queues
                if deliveries.contains(where: { !current.contains($0.queue) }) {
                    for delivery in deliveries where !current.contains(delivery.queue) {
                        if let tag = delivery.deliveryTag { try? await broker.restore(deliveryTag: tag, leftmost: false) }
                    }
                    deliveries.removeAll { !current.contains($0.queue) }
                }
                buffer.append(deliveries)
                metrics.prefetched.record(buffer.pendingCount)
                // Rotate the queues so several are served fairly (within each priority step on Redis).
                if order.count > 1 { order.append(order.removeFirst()) }
            } catch {
                drained = false
                guard let delay = brokerAttemptFailed(error, retry: &retry, backoff: &backoff) else { return }
                try? await Task.sleep(for: delay)
            }
        }
    }
}

/// Capped exponential backoff with jitter for reconnect attempts.
struct Backoff {
    private(set) var failures = 0
    var base: Duration
    var cap: Duration

    init(base: Duration = .milliseconds(100), cap: Duration = .seconds(5)) {
        self.base = base
        self.cap = cap
    }

    mutating func next() -> Duration {
        failures += 1
        let exponent = min(failures - 1, 16)
        let ceiling = min(base * (1 << exponent), cap)
        return ceiling * Double.random(in: 0.5...1.0)
    }

    mutating func reset() { failures = 0 }
}
