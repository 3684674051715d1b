#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// What a running worker knows about itself, shared by its slots, its remote-control server
/// and its event dispatcher: running tasks, revoked ids, totals, the logical clock, and the
/// settings `celery control` can change at run time.
final class WorkerState: Sendable {
    /// A task a slot is running.
    struct ActiveTask: Sendable {
        var message: TaskMessage
        var queue: String
        var started: Date
        var acknowledged: Bool
        /// Cancels the task (revoke with terminate).
        var cancel: @Sendable () -> Void
    }

    private struct State {
        var active: [String: ActiveTask] = [:]
        var revokedOrder: [String] = []
        var revoked: Set<String> = []
        var terminated: Set<String> = []
        var totals: [String: Int] = [:]
        var rateLimits: [String: RateLimit] = [:]
        var timeLimits: [String: (hard: Duration?, soft: Duration?)] = [:]
        var queues: [String]
        var concurrency: Int
        var runningSlots = 0
        var eventsEnabled: Bool
    }

    /// Revoked ids kept, as Celery's `LimitedSet` (maxlen 50 000).
    static let revokedLimit = 50_000

    private let state: Mutex<State>
    private let lamport = Atomic<Int>(0)
    private let concurrencyStream: AsyncStream<Int>
    private let concurrencyContinuation: AsyncStream<Int>.Continuation
    /// When the worker started.
    let startedAt = Date()

    init(queues: [String], concurrency: Int, eventsEnabled: Bool) {
        state = Mutex(State(queues: queues, concurrency: concurrency, eventsEnabled: eventsEnabled))
        (concurrencyStream, concurrencyContinuation) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1))
        concurrencyContinuation.yield(concurrency)
    }

    // MARK: Logical clock

    /// Advances the Lamport clock for an outgoing event or reply and returns the new value.
    func tick() -> Int { lamport.wrappingAdd(1, ordering: .relaxed).newValue }

    /// Merges a clock value seen on the wire (`max(local, seen) + 1`).
    func observe(clock: Int) {
        var current = lamport.load(ordering: .relaxed)
        while current <= clock {
            let (exchanged, original) = lamport.compareExchange(expected: current, desired: clock + 1, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// The current clock value.
    var clock: Int { lamport.load(ordering: .relaxed) }

    // MARK: Running tasks

    /// Records a task a slot starts, and counts it (`stats.total` counts accepted tasks, as Celery does).
    func started(_ id: String, _ task: ActiveTask) {
        state.withLock { state in
            state.active[id] = task
            state.totals[task.message.headers.task, default: 0] += 1
        }
    }

    /// Forgets a finished task and tells whether it was terminated by a revoke.
    func finished(_ id: String) -> Bool {
        state.withLock { state in
            state.active[id] = nil
            return state.terminated.remove(id) != nil
        }
    }

    var active: [String: ActiveTask] { state.withLock { $0.active } }
    var totals: [String: Int] { state.withLock { $0.totals } }

    // MARK: Revokes

    /// What ``revoke(_:terminate:)`` did.
    struct Revocation: Sendable, Hashable {
        /// The running tasks it cancelled (with `terminate`).
        var terminated: [String] = []
        /// How many of the oldest revoked ids it forgot to stay within ``revokedLimit``: their
        /// tasks run if they reach this worker.
        var forgotten = 0
    }

    /// Marks ids revoked; with `terminate`, cancels those running. Past ``revokedLimit`` the
    /// oldest ids are forgotten, as Celery's `LimitedSet` forgets them; the count says how many.
    @discardableResult
    func revoke(_ ids: [String], terminate: Bool) -> Revocation {
        let (cancels, forgotten) = state.withLock { state -> ([(String, @Sendable () -> Void)], Int) in
            for id in ids where state.revoked.insert(id).inserted {
                state.revokedOrder.append(id)
            }
            let overflow = max(0, state.revokedOrder.count - Self.revokedLimit)
            if overflow > 0 {
                for id in state.revokedOrder.prefix(overflow) { state.revoked.remove(id) }
                state.revokedOrder.removeFirst(overflow)
            }
            guard terminate else { return ([], overflow) }
            let cancels = ids.compactMap { id -> (String, @Sendable () -> Void)? in
                guard let task = state.active[id] else { return nil }
                state.terminated.insert(id)
                return (id, task.cancel)
            }
            return (cancels, overflow)
        }
        for (_, cancel) in cancels { cancel() }
        return Revocation(terminated: cancels.map(\.0), forgotten: forgotten)
    }

    /// Loads revoked ids saved by ``save(to:)``; a missing file is an empty state.
    ///
    /// - Returns: how many of them were forgotten (beyond ``revokedLimit``).
    @discardableResult
    func load(from path: String) throws -> Int {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)) else { return 0 }
        let saved = try JSONValue(parsing: Array(data))
        return revoke((saved["revoked"]?.arrayValue ?? []).compactMap(\.stringValue), terminate: false).forgotten
    }

    /// Writes the revoked ids to `path` (JSON: `{"revoked": [...], "clock": n}`).
    func save(to path: String) throws {
        let document: JSONValue = ["revoked": .array(revokedIDs.map(JSONValue.string)), "clock": .integer(Int64(clock))]
        try Data(document.pythonJSONBytes()).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    func isRevoked(_ id: String) -> Bool { state.withLock { $0.revoked.contains(id) } }
    var revokedIDs: [String] { state.withLock { $0.revokedOrder } }

    // MARK: Run-time settings

    var queues: [String] { state.withLock { $0.queues } }

    /// Starts consuming `queue`; false when already consumed.
    func addQueue(_ queue: String) -> Bool {
        state.withLock { state in
            guard !state.queues.contains(queue) else { return false }
            state.queues.append(queue)
            return true
        }
    }

    /// Stops consuming `queue`; false when it was not consumed.
    func removeQueue(_ queue: String) -> Bool {
        state.withLock { state in
            guard let index = state.queues.firstIndex(of: queue) else { return false }
            state.queues.remove(at: index)
            return true
        }
    }

    /// Tasks run at once; setting it (pool_grow/pool_shrink) starts or retires slots.
    var concurrency: Int {
        get { state.withLock { $0.concurrency } }
        set {
            let target = max(1, newValue)
            state.withLock { $0.concurrency = target }
            concurrencyContinuation.yield(target)
        }
    }

    /// The concurrency as it changes, starting with its initial value (one consumer).
    var concurrencyChanges: AsyncStream<Int> { concurrencyStream }

    /// Ends ``concurrencyChanges`` at shutdown.
    func finishConcurrencyChanges() { concurrencyContinuation.finish() }

    /// Counts a new slot when fewer than `target` run; false when there are enough.
    func claimSlot(upTo target: Int) -> Bool {
        state.withLock { state in
            guard state.runningSlots < min(target, state.concurrency) else { return false }
            state.runningSlots += 1
            return true
        }
    }

    /// Whether a slot keeps taking work; a slot above the concurrency retires (and is uncounted).
    func slotMayContinue() -> Bool {
        state.withLock { state in
            guard state.runningSlots > state.concurrency else { return true }
            state.runningSlots -= 1
            return false
        }
    }

    var eventsEnabled: Bool {
        get { state.withLock { $0.eventsEnabled } }
        set { state.withLock { $0.eventsEnabled = newValue } }
    }

    func setRateLimit(_ task: String, _ limit: RateLimit?) {
        state.withLock { $0.rateLimits[task] = limit }
    }

    func rateLimit(for task: String) -> RateLimit? { state.withLock { $0.rateLimits[task] } }

    func setTimeLimits(_ task: String, hard: Duration?, soft: Duration?) {
        state.withLock { $0.timeLimits[task] = (hard, soft) }
    }

    func timeLimits(for task: String) -> (hard: Duration?, soft: Duration?)? { state.withLock { $0.timeLimits[task] } }
}

/// A Celery rate limit (`"10/s"`, `"100/m"`, `"5/h"`, or a bare number per second), enforced
/// per worker as Celery's token bucket does.
final class RateLimit: Sendable {
    /// Tokens per second.
    let rate: Double
    /// The text it was set with.
    let text: String
    private let nextFree = Mutex<ContinuousClock.Instant?>(nil)

    /// Parses Celery's forms; `nil` for zero, empty or unreadable limits (no limit).
    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let amount = parts.first.flatMap({ Double($0) }), amount > 0 else { return nil }
        let unit = parts.count == 2 ? parts[1].trimmingPrefix(while: { $0 == " " }) : "s"
        let seconds: Double
        switch unit.first {
        case "s": seconds = 1
        case "m": seconds = 60
        case "h": seconds = 3600
        default: return nil
        }
        rate = amount / seconds
        self.text = text
    }

    /// Waits until the task may start.
    func acquire() async {
        let interval = Duration.fromSeconds(1 / rate) ?? .zero
        let clock = ContinuousClock()
        let start = nextFree.withLock { next -> ContinuousClock.Instant in
            let now = clock.now
            let slot = max(next ?? now, now)
            next = slot.advanced(by: interval)
            return slot
        }
        if start > clock.now { try? await Task.sleep(until: start, clock: clock) }
    }
}
