import Celery
import CeleryTesting
import Foundation
import Synchronization
import Testing

/// The worker's Celery semantics on the in-memory broker and result store: no server, each
/// test in milliseconds. The wire itself is covered by the Redis and Python interop tests.
@Suite("Worker on the in-memory transport", .timeLimit(.minutes(1)))
struct InMemoryWorkerTests {
    static func registry() -> TaskRegistry {
        let registry = TaskRegistry()
        registry.register("t.add") { request in
            let arguments = try request.bind(["x", "y"])
            return .integer(arguments["x"]!.integerValue! + arguments["y"]!.integerValue!)
        }
        registry.register("t.fail") { _ in
            throw PythonException.valueError("bad input")
        }
        return registry
    }

    @Test("a task sent by a client runs and its result comes back")
    func roundTrip() async throws {
        let worker = try CeleryWorker.inMemory(registry: Self.registry())
        let sum = try await worker.withRunning { client in
            try await client.send("t.add", args: [2, 3]).get(timeout: .seconds(5))
        }
        #expect(sum == 5)
    }

    @Test("a failing task stores FAILURE with its Python exception, and get() throws it")
    func failure() async throws {
        let worker = try CeleryWorker.inMemory(registry: Self.registry())
        let (outcome, state) = try await worker.withRunning { client in
            let result = try await client.send("t.fail")
            let outcome = await Task { try await result.get(timeout: .seconds(5)) }.result
            return (outcome, try await result.state())
        }
        #expect(state == .failure)
        let error = try #require(throws: TaskFailedError.self) { try outcome.get() }
        #expect(error.exception.type == "ValueError")
    }

    @Test("every message is acknowledged once done, with early and late acks alike")
    func acknowledgements() async throws {
        for acksLate in [false, true] {
            let transport = InMemoryTransport()
            var configuration = WorkerConfiguration(concurrency: 2, hostname: "celery@memory", pollTimeout: .milliseconds(20))
            configuration.acksLate = acksLate
            let worker = try CeleryWorker.inMemory(registry: Self.registry(), workerConfiguration: configuration, transport: transport)
            let values = try await worker.withRunning { client in
                var results: [AsyncResult] = []
                for index in 0..<50 { results.append(try await client.send("t.add", args: [.integer(Int64(index)), 1])) }
                var values: [JSONValue] = []
                for result in results { values.append(try await result.get(timeout: .seconds(5))) }
                return values
            }
            #expect(values == (1...50).map { .integer(Int64($0)) })
            #expect(transport.broker.unackedCount == 0, "acks_late=\(acksLate)")
            #expect(transport.broker.count(queue: "celery") == 0)
        }
    }

    @Test("a retried task is sent again and its final result stored")
    func retry() async throws {
        let registry = Self.registry()
        let attempts = Atomic<Int>(0)
        registry.register("t.flaky") { request in
            if attempts.add(1, ordering: .relaxed).newValue < 3 { throw request.retry(countdown: .milliseconds(10)) }
            return .integer(Int64(request.retries))
        }
        let worker = try CeleryWorker.inMemory(registry: registry)
        let retries = try await worker.withRunning { client in
            try await client.send("t.flaky").get(timeout: .seconds(5))
        }
        #expect(retries == 2)
        #expect(attempts.load(ordering: .relaxed) == 3)
    }

    @Test("a countdown holds the task until its ETA")
    func countdown() async throws {
        let worker = try CeleryWorker.inMemory(registry: Self.registry())
        let elapsed = try await worker.withRunning { client in
            let start = ContinuousClock.now
            _ = try await client.send("t.add", args: [1, 1], options: TaskOptions(countdown: .milliseconds(300))).get(timeout: .seconds(5))
            return ContinuousClock.now - start
        }
        #expect(elapsed >= .milliseconds(250))
    }

    @Test("a chain passes each result on, and a chord's body gets the header's results in order")
    func canvas() async throws {
        let worker = try CeleryWorker.inMemory(registry: Self.registry())
        worker.registry.register("t.sum") { request in
            .integer(request.args.first?.arrayValue?.reduce(0) { $0 + ($1.integerValue ?? 0) } ?? -1)
        }
        let (chained, chord) = try await worker.withRunning { client in
            let chain = Signature.chain([Signature("t.add", args: [1, 2]), Signature("t.add", args: [10]), Signature("t.add", args: [100])])
            let chained = try await client.apply(chain).get(timeout: .seconds(5))
            let header = (0..<5).map { Signature("t.add", args: [.integer(Int64($0)), .integer(Int64($0))]) }
            let chord = try await client.apply(.chord(header, body: Signature("t.sum"))).get(timeout: .seconds(5))
            return (chained, chord)
        }
        #expect(chained == 113)
        #expect(chord == 20)
    }

    @Test("remote control reaches the worker: ping answers with its node name")
    func remoteControl() async throws {
        let worker = try CeleryWorker.inMemory(registry: Self.registry())
        let replies = try await worker.withRunning { client in
            // The worker subscribes to the pidbox once it is ready; ask until it answers.
            for _ in 0..<50 {
                let replies = try await client.control.ping(timeout: .milliseconds(100))
                if !replies.isEmpty { return replies }
            }
            return [:]
        }
        #expect(replies["celery@memory"] == ["ok": "pong"])
    }

    @Test("a message routed by an exchange no queue is bound to fails with code unroutable, its cause kept")
    func unroutable() async throws {
        let client = CeleryClient.inMemory(transport: InMemoryTransport())
        defer { client.close() }
        var options = TaskOptions()
        options.exchange = "nowhere"
        options.routingKey = "x"
        let error = await #expect(throws: CeleryError.self) { try await client.send("t.add", args: [1, 2], options: options) }
        #expect(error?.code == .unroutable)
        #expect(error?.underlying != nil)
    }

    @Test("task_acks_on_timeout off: a task past its hard limit is returned to its queue and runs again")
    func acksOnTimeout() async throws {
        let registry = Self.registry()
        let runs = Atomic<Int>(0)
        registry.register("t.slow-once") { _ in
            if runs.add(1, ordering: .relaxed).newValue == 1 { try await Task.sleep(for: .seconds(5)) }
            return "done"
        }
        var configuration = WorkerConfiguration(concurrency: 2, hostname: "celery@memory", pollTimeout: .milliseconds(20))
        configuration.acksLate = true
        configuration.acksOnTimeout = false
        configuration.timeLimit = .milliseconds(200)
        let transport = InMemoryTransport()
        let worker = try CeleryWorker.inMemory(registry: registry, workerConfiguration: configuration, transport: transport)
        let state = try await worker.withRunning { client in
            let result = try await client.send("t.slow-once")
            for _ in 0..<200 where try await result.state() != .success { try await Task.sleep(for: .milliseconds(20)) }
            return try await result.state()
        }
        #expect(state == .success)
        #expect(runs.load(ordering: .relaxed) == 2)
        #expect(transport.broker.unackedCount == 0)
    }

    @Test("worker_disable_prefetch: no message is taken beyond those running")
    func disablePrefetch() async throws {
        let registry = Self.registry()
        registry.register("t.nap") { _ in
            try await Task.sleep(for: .milliseconds(300))
            return nil
        }
        for disabled in [false, true] {
            var configuration = WorkerConfiguration(concurrency: 1, hostname: "celery@memory", pollTimeout: .milliseconds(20))
            configuration.disablePrefetch = disabled
            let transport = InMemoryTransport()
            let worker = try CeleryWorker.inMemory(registry: registry, workerConfiguration: configuration, transport: transport)
            let waiting = try await worker.withRunning { client in
                var results: [AsyncResult] = []
                for _ in 0..<5 { results.append(try await client.send("t.nap")) }
                try await Task.sleep(for: .milliseconds(150))
                let waiting = transport.broker.count(queue: "celery")
                for result in results { _ = try await result.get(timeout: .seconds(10)) }
                return waiting
            }
            // Prefetch: 1 slot × multiplier 4 held beyond the running (early-acknowledged) one, so
            // all 5 taken; disabled: only the running one, as Celery's reserved-requests check.
            #expect(waiting == (disabled ? 4 : 0), "disablePrefetch=\(disabled)")
        }
    }
}
