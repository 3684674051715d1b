import Celery
import Foundation

/// `celery-benchmarks`: micro-benchmarks of the protocol layer and the client.
///
///     swift run -c release celery-benchmarks [REDIS_URL]
///
/// Without a URL only the protocol benchmarks run. With one, the client's publish rates run
/// too, and the round trip when a worker consumes queue `celery` there (bench/run starts one).
@main
struct CeleryBenchmarks {
    static func main() async throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/messages")
        print("| benchmark | iterations | median ns/op | ops/s |")
        print("|---|---|---|---|")
        for name in ["delay_simple.json", "typed_args.json", "large_1mb.json"] {
            let raw = Array(try Data(contentsOf: fixtures.appendingPathComponent(name)))
            let iterations = raw.count > 100_000 ? 50 : 20_000
            report("decode \(name) (\(raw.count) B)", iterations: iterations) { _ = try! TaskMessage(envelope: raw) }
            let message = try TaskMessage(envelope: raw)
            report("encode \(name)", iterations: iterations) { _ = message.envelopeBytes() }
        }
        let result = TaskResultDocument(taskID: UUID().uuidString, status: .success, result: 5, dateDone: CeleryTime.isoformat(Date()))
        report("encode result document", iterations: 50_000) { _ = result.jsonBytes() }

        guard CommandLine.arguments.count > 1 else { return }
        let client = try CeleryClient(configuration: CeleryConfiguration(brokerURL: CommandLine.arguments[1], defaultQueue: "bench.micro"))
        defer { client.close() }
        let count = 20_000
        var clock = ContinuousClock.now
        for _ in 0..<count { try await client.send("bench.noop", options: TaskOptions(ignoreResult: true)) }
        let single = Double(count) / (ContinuousClock.now - clock).seconds
        print("| publish one at a time (LPUSH each) | \(count) | \(Int(1e9 / single)) | \(Int(single)) |")
        clock = ContinuousClock.now
        for _ in 0..<(count / 500) {
            try await client.sendBatch(Array(repeating: TaskCall("bench.noop", options: TaskOptions(ignoreResult: true)), count: 500))
        }
        let batched = Double(count) / (ContinuousClock.now - clock).seconds
        print("| publish batched (500 per pipeline) | \(count) | \(Int(1e9 / batched)) | \(Int(batched)) |")

        // Round trip through a worker on queue `celery`, if one answers.
        let rtClient = try CeleryClient(configuration: CeleryConfiguration(brokerURL: CommandLine.arguments[1]))
        defer { rtClient.close() }
        guard (try? await rtClient.send("bench.add", args: [1, 2]).get(timeout: .seconds(3))) == 3 else {
            print("(no worker answers on queue celery: round trip skipped)")
            return
        }
        var samples: [Double] = []
        for index in 0..<1_020 {
            let start = ContinuousClock.now
            _ = try await rtClient.send("bench.add", args: [.integer(Int64(index)), 1]).get(timeout: .seconds(5))
            if index >= 20 { samples.append((ContinuousClock.now - start).seconds * 1000) }
        }
        samples.sort()
        print("| round trip delay().get() p50 / p99 ms | \(samples.count) | \(String(format: "%.3f", samples[samples.count / 2])) / \(String(format: "%.3f", samples[samples.count * 99 / 100])) | |")
    }

    static func report(_ name: String, iterations: Int, _ body: () -> Void) {
        var timings: [Double] = []
        for _ in 0..<5 {
            let start = ContinuousClock.now
            for _ in 0..<iterations { body() }
            timings.append((ContinuousClock.now - start).seconds * 1e9 / Double(iterations))
        }
        timings.sort()
        let median = timings[2]
        print("| \(name) | \(iterations) ×5 | \(Int(median)) | \(Int(1e9 / median)) |")
    }
}

extension Duration {
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
