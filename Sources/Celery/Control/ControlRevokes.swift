#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CeleryJSON
import CeleryProtocol
import Logging
import Synchronization

/// `revoke` and `terminate` for the remote control, and the bound on the requests waiting to
/// be handled.
extension CeleryWorker {
    /// The requests that only read the worker: skipped when they expired before their turn
    /// (nobody collects the reply). Every other request changes the worker and is applied.
    static let queries: Set<String> = [
        "ping", "registered", "stats", "active", "reserved", "scheduled", "revoked", "query_task",
        "active_queues", "report", "conf", "clock",
    ]

    /// The ids a `Tasks flagged as revoked` line names; a larger revoke names these and a count.
    static let revokeLogLimit = 100

    /// Marks ids revoked: a queued task will be discarded when it comes up, and one that has
    /// not started anywhere is stored REVOKED now; with `terminate`, a running one is cancelled.
    ///
    /// The states are read with one `MGET` and the REVOKED documents written with one script
    /// call per thousand ids, so a flood of revokes (200,000 in a few seconds) is applied in
    /// seconds instead of two round trips per id, and `ping` is answered meanwhile.
    func revoke(ids: [String], terminate: Bool) async -> JSONValue {
        let running = Set(state.active.keys)
        let revocation = state.revoke(ids, terminate: terminate)
        let idle = ids.filter { !running.contains($0) }
        var failures = 0
        var lastError: (any Error)?
        for start in stride(from: 0, to: idle.count, by: 1000) {
            let chunk = Array(idle[start..<min(start + 1000, idle.count)])
            do {
                // Celery leaves a task with a result, or started by another worker, as it is.
                let states = try await backend.states(taskIDs: chunk)
                let revoked = ExceptionInfo(type: "TaskRevokedError", module: "celery.exceptions", arguments: ["revoked"])
                let now = CeleryTime.isoformat(Date())
                let documents = zip(chunk, states).compactMap { id, current -> TaskResultDocument? in
                    guard [.pending, .received, .retry, .rejected].contains(current ?? .pending) else { return nil }
                    return TaskResultDocument(taskID: id, status: .revoked, result: revoked.jsonValue, children: .null, dateDone: now)
                }
                try await backend.storeAll(documents)
            } catch {
                failures += chunk.count
                lastError = error
            }
        }
        if let lastError {
            logger.warning("Failed to mark \(failures) revoked task(s) as revoked in the result backend: \(lastError)")
        }
        let shown = ids.prefix(Self.revokeLogLimit).joined(separator: ", ")
        logger.info("Tasks flagged as revoked: \(shown)\(ids.count > Self.revokeLogLimit ? " (and \(ids.count - Self.revokeLogLimit) more)" : "")")
        logForgotten(revocation.forgotten)
        saveState()
        if terminate {
            let terminated = revocation.terminated
            return ["ok": .string(terminated.isEmpty ? "terminate: tasks unknown" : "terminate: \(terminated.joined(separator: ", "))")]
        }
        return ["ok": .string("tasks {\(ids.map(PythonRepr.stringRepr).joined(separator: ", "))} flagged as revoked")]
    }

    /// Says how many revoked ids were just forgotten to stay within the limit, if any.
    func logForgotten(_ count: Int) {
        guard count > 0 else { return }
        logger.warning(
            "Revoked ids: forgot the \(count) oldest revoked ids (at most \(WorkerState.revokedLimit) are kept, as Celery's REVOKES_MAX); those tasks run if they reach this worker")
    }
}

/// The remote-control requests received and not yet handled, bounded by their total size: a
/// flood of requests (or a few huge ones) waits in memory up to ``limit`` bytes; past it, each
/// arriving request is dropped and counted, so the count can be logged.
final class ControlBacklog: Sendable {
    /// The most bytes of requests waiting at once. A revoke of 1,000 ids is about 45 KB, so
    /// this holds over a thousand such batches (a 200,000-id flood) before any is dropped.
    static let limit = 64 << 20

    private let waiting = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)

    /// Counts a request of `size` bytes in; `false` (and counted as dropped) when it does not fit.
    func admit(_ size: Int) -> Bool {
        if waiting.wrappingAdd(size, ordering: .relaxed).newValue > Self.limit {
            waiting.wrappingSubtract(size, ordering: .relaxed)
            dropped.wrappingAdd(1, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Counts a handled request of `size` bytes out.
    func release(_ size: Int) {
        waiting.wrappingSubtract(size, ordering: .relaxed)
    }

    /// The requests dropped since the last call.
    func takeDropped() -> Int {
        dropped.exchange(0, ordering: .relaxed)
    }
}
