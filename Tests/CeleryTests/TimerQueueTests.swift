@testable import CeleryRedis
import Synchronization
import Testing

@Suite("The event loop's timer queue")
struct TimerQueueTests {
    @Test("closures come out by deadline, then insertion; cancelled ones never; many cancellations compact")
    func order() {
        var queue = TimerQueue()
        let ran = Mutex<[Int]>([])
        let start = ContinuousClock.now
        var ids: [UInt64] = []
        for (index, offset) in [5, 1, 3, 1, 4].enumerated() {
            ids.append(queue.insert(start.advanced(by: .milliseconds(offset))) { ran.withLock { $0.append(index) } })
        }
        queue.remove(ids[2])
        #expect(queue.nextDeadline == start.advanced(by: .milliseconds(1)))
        #expect(queue.popDue(at: start) == nil)
        while let body = queue.popDue(at: start.advanced(by: .seconds(1))) { body() }
        #expect(ran.withLock { $0 } == [1, 3, 4, 0])
        #expect(queue.nextDeadline == nil)

        for index in 0..<200 { ids.append(queue.insert(start.advanced(by: .seconds(index))) {}) }
        for id in ids.suffix(190) { queue.remove(id) }
        #expect(queue.removeAll().count == 10)
    }
}
