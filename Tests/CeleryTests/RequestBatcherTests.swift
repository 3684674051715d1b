@testable import Celery
import Foundation
import Synchronization
import Testing

@Suite("Request batching")
struct RequestBatcherTests {
    @Test("each request gets its own output; requests made while a batch runs form the next one")
    func outputsAndBatches() async throws {
        let sizes = Mutex<[Int]>([])
        let batcher = RequestBatcher<Int, Int>(maximumBatch: 50) { requests in
            sizes.withLock { $0.append(requests.count) }
            try await Task.sleep(for: .milliseconds(20))
            return requests.map { $0 * 2 }
        }
        let outputs = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for value in 0..<200 { group.addTask { (value, try await batcher.submit(value)) } }
            return try await group.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
        }
        #expect(outputs.count == 200)
        #expect(outputs.allSatisfy { $0.value == $0.key * 2 })
        let batches = sizes.withLock { $0 }
        #expect(batches.reduce(0, +) == 200)
        #expect(batches.allSatisfy { $0 <= 50 })
        #expect(batches.count < 200)
        // A lone request goes out at once, on its own.
        #expect(try await batcher.submit(21) == 42)
        #expect(sizes.withLock { $0.last } == 1)
    }

    @Test("a failed batch fails every request in it, and the next batch is carried out")
    func failures() async throws {
        struct Refused: Error {}
        let batcher = RequestBatcher<Int, Int> { requests in
            if requests.contains(-1) { throw Refused() }
            return requests
        }
        await #expect(throws: Refused.self) { try await batcher.submit(-1) }
        #expect(try await batcher.submit(7) == 7)
    }
}
