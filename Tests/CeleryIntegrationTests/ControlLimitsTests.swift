@testable import Celery
import CeleryJSON
import Testing

@Suite("Remote-control bounds: pool size and rate limits")
struct ControlLimitsTests {
    private func refusal(_ result: Result<Int, ControlLimits.Refusal>) -> String? {
        if case .failure(let refusal) = result { return refusal.message }
        return nil
    }

    @Test("pool_grow within the maximum concurrency grows; beyond it, or overflowing, it is refused naming the limit")
    func poolGrow() throws {
        #expect(try ControlLimits.resizedConcurrency(4, by: nil, grow: true).get() == 5)
        #expect(try ControlLimits.resizedConcurrency(4, by: .integer(4), grow: true).get() == 8)
        #expect(try ControlLimits.resizedConcurrency(4, by: .integer(0), grow: true).get() == 4)
        let limit = WorkerConfiguration.maximumConcurrency
        #expect(try ControlLimits.resizedConcurrency(4, by: .integer(Int64(limit - 4)), grow: true).get() == limit)
        for n: JSONValue in [.integer(Int64(limit - 3)), .integer(1_000_000_000), .integer(.max), .bigInteger("1000000000000000000000000000000")] {
            let message = try #require(refusal(ControlLimits.resizedConcurrency(4, by: n, grow: true)))
            #expect(message.contains("at most \(limit)"), "\(message)")
        }
        #expect(refusal(ControlLimits.resizedConcurrency(4, by: .integer(-5), grow: true))?.contains("0 or more") == true)
        #expect(refusal(ControlLimits.resizedConcurrency(4, by: .bigInteger("-100000000000000000000"), grow: true)) != nil)
        #expect(refusal(ControlLimits.resizedConcurrency(4, by: .string("many"), grow: true))?.contains("whole number") == true)
        #expect(refusal(ControlLimits.resizedConcurrency(4, by: .double(2.5), grow: true)) != nil)
        let huge = JSONValue.bigInteger(String(repeating: "9", count: 100_000))
        #expect((refusal(ControlLimits.resizedConcurrency(4, by: huge, grow: true))?.utf8.count ?? .max) < 300)
    }

    @Test("pool_shrink keeps at least one slot and never overflows")
    func poolShrink() throws {
        #expect(try ControlLimits.resizedConcurrency(4, by: .integer(3), grow: false).get() == 1)
        #expect(try ControlLimits.resizedConcurrency(4, by: nil, grow: false).get() == 3)
        #expect(refusal(ControlLimits.resizedConcurrency(4, by: .integer(4), grow: false))?.contains("at least one") == true)
        #expect(refusal(ControlLimits.resizedConcurrency(4, by: .integer(1_000_000_000), grow: false)) != nil)
        #expect(refusal(ControlLimits.resizedConcurrency(4, by: .integer(.min), grow: false))?.contains("0 or more") == true)
    }

    @Test("rate_limit: Celery's forms set or lift a limit; unreadable, huge, non-finite or glacial ones are refused")
    func rateLimits() throws {
        #expect(try ControlLimits.rateLimit("10/s").get()?.rate == 10)
        #expect(try ControlLimits.rateLimit("60/m").get()?.rate == 1)
        #expect(try ControlLimits.rateLimit(.integer(5)).get()?.rate == 5)
        #expect(try ControlLimits.rateLimit("1/h").get() != nil)
        for lifted: JSONValue in [.null, .integer(0), "", "0", "0/m"] {
            #expect(try ControlLimits.rateLimit(lifted).get() == nil, "\(lifted)")
        }
        for refused: JSONValue in ["abc", "1e-300/s", "1e400/s", "nan", "0.5/d", .string("1/" + String(repeating: "h", count: 1_000_000))] {
            guard case .failure(let refusal) = ControlLimits.rateLimit(refused) else {
                Issue.record("\(String(describing: refused).prefix(40)) accepted")
                continue
            }
            #expect(refusal.message.hasPrefix("Invalid rate limit string: ValueError("))
            #expect(refusal.message.utf8.count < 200)
        }
    }

    @Test("-c and worker_concurrency above the maximum concurrency are refused")
    func concurrencySetting() throws {
        var worker = WorkerConfiguration()
        try CelerySettings(["worker_concurrency": .integer(Int64(WorkerConfiguration.maximumConcurrency))]).apply(to: &worker)
        #expect(worker.concurrency == WorkerConfiguration.maximumConcurrency)
        #expect(throws: CeleryError.self) {
            try CelerySettings(["worker_concurrency": .integer(Int64(WorkerConfiguration.maximumConcurrency + 1))]).apply(to: &worker)
        }
    }
}
