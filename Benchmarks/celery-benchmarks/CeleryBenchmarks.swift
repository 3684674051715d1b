import CMallocCounter
import Celery
import CeleryRedis
import Dispatch
import Foundation

/// `celery-benchmarks`: micro-benchmarks of the protocol layer and the client.
///
///     swift run -c release celery-benchmarks [REDIS_URL [roundtrip]]
///
/// Without a URL only the protocol benchmarks run. With one, the client's publish rates run
/// too, and the round trip when a worker consumes queue `celery` there (bench/run starts one).
/// `roundtrip` after the URL runs only the round trips (to profile them).
@main
struct CeleryBenchmarks {
    static func main() async throws {
        if CommandLine.arguments.count > 2, CommandLine.arguments[2] == "roundtrip" {
            print("| benchmark | iterations | p50 / p99 |")
            print("|---|---|---|")
            try await roundTripBenchmarks(url: CommandLine.arguments[1])
            return
        }
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/messages")
        print("| benchmark | iterations | median ns/op | ops/s | allocations/op |")
        print("|---|---|---|---|---|")
        for name in ["delay_simple.json", "typed_args.json", "large_1mb.json"] {
            let raw = Array(try Data(contentsOf: fixtures.appendingPathComponent(name)))
            let iterations = raw.count > 100_000 ? 50 : 20_000
            report("decode \(name) (\(raw.count) B)", iterations: iterations) { _ = try! TaskMessage(envelope: raw) }
            let message = try TaskMessage(envelope: raw)
            report("encode \(name)", iterations: iterations) { _ = message.envelopeBytes() }
        }
        // The body of bench.echo("x" * 102400): jansson reads its 100 KB string a byte at a
        // time, so CeleryJSON lifts such strings out of the text first (StringLifter).
        let echoBody = Array(#"[["\#(String(repeating: "x", count: 102_400))"], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]"#.utf8)
        report("decode 100 KB echo body (\(echoBody.count) B)", iterations: 2_000) { _ = try! JSONValue(parsing: echoBody) }
        let result = TaskResultDocument(taskID: UUID().uuidString, status: .success, result: 5, dateDone: CeleryTime.isoformat(Date()))
        report("encode result document", iterations: 50_000) { _ = result.jsonBytes() }

        // The floor under a round trip on this machine: what one thread waking another costs,
        // and one Redis command through RedisConnection (a hop to its I/O thread and back).
        print("| thread wake-up, semaphore ping-pong, one way (µs) p50 / p99 | \(wakeUpSamples.count) | \(percentiles(wakeUpSamples)) | | |")
        guard CommandLine.arguments.count > 1 else { return }
        let ping = RedisConnection(endpoint: try RedisEndpoint(url: CommandLine.arguments[1]), name: "bench.ping")
        var pings: [Double] = []
        for index in 0..<5_100 {
            let start = ContinuousClock.now
            _ = try await ping.send(RedisCommand("PING"))
            if index >= 100 { pings.append((ContinuousClock.now - start).seconds * 1e6) }
        }
        ping.close()
        print("| Redis PING through RedisConnection (µs) p50 / p99 | \(pings.count) | \(percentiles(pings)) | | |")
        let client = try CeleryClient(configuration: CeleryConfiguration(brokerURL: CommandLine.arguments[1], defaultQueue: "bench.micro"))
        defer { client.close() }
        let count = 20_000
        var clock = ContinuousClock.now
        for _ in 0..<count { try await client.send("bench.noop", options: TaskOptions(ignoreResult: true)) }
        let single = Double(count) / (ContinuousClock.now - clock).seconds
        print("| publish one at a time (LPUSH each) | \(count) | \(Int(1e9 / single)) | \(Int(single)) | |")
        clock = ContinuousClock.now
        try await withTaskExecutorPreference(client.executor) {
            for _ in 0..<count { try await client.send("bench.noop", options: TaskOptions(ignoreResult: true)) }
        }
        let singleOnLoop = Double(count) / (ContinuousClock.now - clock).seconds
        print("| publish one at a time, on the client's executor | \(count) | \(Int(1e9 / singleOnLoop)) | \(Int(singleOnLoop)) | |")
        clock = ContinuousClock.now
        for _ in 0..<(count / 500) {
            try await client.sendBatch(Array(repeating: TaskCall("bench.noop", options: TaskOptions(ignoreResult: true)), count: 500))
        }
        let batched = Double(count) / (ContinuousClock.now - clock).seconds
        print("| publish batched (500 per pipeline) | \(count) | \(Int(1e9 / batched)) | \(Int(batched)) | |")
        try await roundTripBenchmarks(url: CommandLine.arguments[1])
    }

    /// Round trips through a worker on queue `celery`, if one answers.
    static func roundTripBenchmarks(url: String) async throws {
        let rtClient = try CeleryClient(configuration: CeleryConfiguration(brokerURL: url))
        defer { rtClient.close() }
        guard (try? await rtClient.send("bench.add", args: [1, 2]).get(timeout: .seconds(3))) == 3 else {
            print("(no worker answers on queue celery: round trip skipped)")
            return
        }
        // From the global pool, as any caller; then from the client's own thread, where each
        // Redis call is made on the spot.
        if ProcessInfo.processInfo.environment["ROUNDTRIP_EXECUTOR_ONLY"] == nil {
            let (samples, sendSamples) = try await roundTrips(rtClient)
            print("| round trip delay().get() p50 / p99 ms | \(samples.count) | \(percentiles(samples, digits: 3)) | | |")
            print("| of which delay() (the publish) p50 / p99 ms | \(sendSamples.count) | \(percentiles(sendSamples, digits: 3)) | | |")
        }
        let (onLoop, onLoopSend) = try await withTaskExecutorPreference(rtClient.executor) { try await roundTrips(rtClient) }
        print("| round trip on the client's executor p50 / p99 ms | \(onLoop.count) | \(percentiles(onLoop, digits: 3)) | | |")
        print("| of which delay() (the publish) p50 / p99 ms | \(onLoopSend.count) | \(percentiles(onLoopSend, digits: 3)) | | |")
    }

    /// 1,000 sequential `send("bench.add").get()` (after 20 warm-up calls): the round trip
    /// times and the publish's share, in ms.
    static func roundTrips(_ client: CeleryClient) async throws -> (roundTrips: [Double], publishes: [Double]) {
        var samples: [Double] = []
        var sendSamples: [Double] = []
        for index in 0..<1_020 {
            let start = ContinuousClock.now
            let result = try await client.send("bench.add", args: [.integer(Int64(index)), 1])
            let sent = ContinuousClock.now
            _ = try await result.get(timeout: .seconds(5))
            if index >= 20 {
                samples.append((ContinuousClock.now - start).seconds * 1000)
                sendSamples.append((sent - start).seconds * 1000)
            }
        }
        return (samples, sendSamples)
    }

    /// One-way wake-up latencies in µs: two threads hand a token back and forth through
    /// semaphores; each hand-over is one futex wake of a sleeping thread.
    static var wakeUpSamples: [Double] {
        let ping = DispatchSemaphore(value: 0), pong = DispatchSemaphore(value: 0)
        let rounds = 20_000
        let thread = Thread { for _ in 0..<rounds { ping.wait(); pong.signal() } }
        thread.start()
        var samples: [Double] = []
        samples.reserveCapacity(rounds)
        for _ in 0..<rounds {
            let start = ContinuousClock.now
            ping.signal()
            pong.wait()
            samples.append((ContinuousClock.now - start).seconds * 1e6 / 2)
        }
        return samples
    }

    /// "p50 / p99" of `samples`, with `digits` decimals.
    static func percentiles(_ samples: [Double], digits: Int = 2) -> String {
        let sorted = samples.sorted()
        let format = "%.\(digits)f / %.\(digits)f"
        return String(format: format, sorted[sorted.count / 2], sorted[sorted.count * 99 / 100])
    }

    /// Times `body` in 5 rounds of `iterations` calls and prints the median time per call and
    /// the heap allocations per call (counted by CMallocCounter over the last round).
    static func report(_ name: String, iterations: Int, _ body: () -> Void) {
        var timings: [Double] = []
        var allocations = 0.0
        for _ in 0..<5 {
            let before = cmalloc_counter_allocations()
            let start = ContinuousClock.now
            for _ in 0..<iterations { body() }
            timings.append((ContinuousClock.now - start).seconds * 1e9 / Double(iterations))
            allocations = Double(cmalloc_counter_allocations() - before) / Double(iterations)
        }
        timings.sort()
        let median = timings[2]
        print("| \(name) | \(iterations) ×5 | \(Int(median)) | \(Int(1e9 / median)) | \(String(format: "%.1f", allocations)) |")
    }
}

extension Duration {
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
