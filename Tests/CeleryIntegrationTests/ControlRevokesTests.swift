@testable import Celery
import Testing

@Suite("Revokes: Celery's limit on ids kept, counted; the bounded control backlog")
struct ControlRevokesTests {
    @Test("past Celery's REVOKES_MAX the oldest revoked ids are forgotten, and counted")
    func revokedLimit() {
        let state = WorkerState(queues: ["celery"], concurrency: 1, eventsEnabled: false)
        let limit = WorkerState.revokedLimit
        #expect(state.revoke((0..<limit).map { "id-\($0)" }, terminate: false).forgotten == 0)
        // Already revoked ids are not counted twice.
        #expect(state.revoke(["id-0", "id-1"], terminate: false).forgotten == 0)
        #expect(state.revoke((limit..<(limit + 1000)).map { "id-\($0)" }, terminate: false).forgotten == 1000)
        #expect(!state.isRevoked("id-999") && state.isRevoked("id-1000") && state.isRevoked("id-\(limit + 999)"))
        #expect(state.revokedIDs.count == limit)
    }

    @Test("the control backlog drops, and counts, requests arriving past its size")
    func backlog() {
        let backlog = ControlBacklog()
        #expect(backlog.admit(ControlBacklog.limit - 10))
        #expect(!backlog.admit(11) && !backlog.admit(100))
        #expect(backlog.admit(10))
        #expect(backlog.takeDropped() == 2 && backlog.takeDropped() == 0)
        backlog.release(ControlBacklog.limit)
        #expect(backlog.admit(1000))
    }
}
