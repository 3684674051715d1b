@testable import Celery
import CeleryRedis
import Foundation
import Synchronization
import Testing

@Suite("The client's event loop", .serialized, .timeLimit(.minutes(1)))
struct RedisEventLoopTests {
    @Test("a task preferring the loop runs on its thread, and only there")
    func runsTasksOnItsThread() async throws {
        let loop = RedisEventLoop()
        defer { loop.shutdown() }
        #expect(!loop.isCurrent)
        let onLoop = await withTaskExecutorPreference(loop) {
            var seen: [Bool] = []
            for _ in 0..<3 {
                seen.append(loop.isCurrent)
                await Task.yield()
            }
            return seen
        }
        #expect(onLoop == [true, true, true])
        #expect(!loop.isCurrent)
    }

    @Test("scheduled closures run in deadline order; a cancelled one never runs")
    func timersFireInOrder() async throws {
        let loop = RedisEventLoop()
        defer { loop.shutdown() }
        let fired = Mutex<[Int]>([])
        let done = AsyncStream<Void>.makeStream()
        loop.schedule(after: .milliseconds(60)) {
            fired.withLock { $0.append(3) }
            done.continuation.yield()
        }
        loop.schedule(after: .milliseconds(20)) { fired.withLock { $0.append(1) } }
        let cancelled = loop.schedule(after: .milliseconds(30)) { fired.withLock { $0.append(99) } }
        loop.schedule(after: .milliseconds(40)) { fired.withLock { $0.append(2) } }
        loop.cancel(cancelled)
        // Many long timeouts cancelled early must not linger (the queue compacts itself).
        for _ in 0..<1_000 { loop.cancel(loop.schedule(after: .seconds(60)) { fired.withLock { $0.append(-1) } }) }
        var iterator = done.stream.makeAsyncIterator()
        _ = await iterator.next()
        #expect(fired.withLock { $0 } == [1, 2, 3])
    }

    @Test("timers outlive the loop: after shutdown, pending and new ones still run at their time")
    func timersAfterShutdown() async throws {
        let loop = RedisEventLoop()
        let fired = AsyncStream<String>.makeStream()
        loop.schedule(after: .milliseconds(50)) { fired.continuation.yield("pending") }
        loop.shutdown()
        loop.schedule(after: .milliseconds(10)) { fired.continuation.yield("new") }
        var iterator = fired.stream.makeAsyncIterator()
        let first = await iterator.next()
        let second = await iterator.next()
        #expect([first, second] == ["new", "pending"])
    }

    @Test("a connection on the loop answers callers on and off the loop, each pipeline intact")
    func connectionServesBothKindsOfCaller() async throws {
        let loop = RedisEventLoop()
        defer { loop.shutdown() }
        let endpoint = try RedisEndpoint(url: try TestRedis.url)
        let connection = RedisConnection(endpoint: endpoint, name: "test.loop", eventLoop: loop)
        defer { connection.close() }
        let prefix = TestRedis.uniqueQueue("loop")
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<200 {
                let key = "\(prefix).\(index)"
                let body: @Sendable () async throws -> Bool = {
                    let replies = try await connection.pipeline([
                        RedisCommand("SET", key, "v\(index)"), RedisCommand("GET", key), RedisCommand("DEL", key),
                    ])
                    return replies.count == 3 && replies[1].string == "v\(index)" && replies[2].integer == 1
                }
                // Half from the global pool, half from the loop: all queued and sent together.
                if index.isMultiple(of: 2) {
                    group.addTask(operation: body)
                } else {
                    group.addTask(executorPreference: loop, operation: body)
                }
            }
            var intact = 0
            for try await ok in group where ok { intact += 1 }
            #expect(intact == 200)
        }
    }

    @Test("a subscriber sharing the loop hands messages to a task waiting there")
    func subscriberOnTheLoop() async throws {
        let loop = RedisEventLoop()
        defer { loop.shutdown() }
        let endpoint = try RedisEndpoint(url: try TestRedis.url)
        let received = AsyncStream<String>.makeStream()
        let subscriber = RedisSubscriber(endpoint: endpoint, eventLoop: loop) { _, payload in
            received.continuation.yield(String(decoding: payload, as: UTF8.self))
        }
        defer { subscriber.shutdown() }
        let publisher = RedisConnection(endpoint: endpoint, name: "test.publisher", eventLoop: loop)
        defer { publisher.close() }
        let channel = TestRedis.uniqueQueue("channel")
        let messages = try await withTaskExecutorPreference(loop) {
            try await subscriber.subscribe(channel)
            var iterator = received.stream.makeAsyncIterator()
            var messages: [String] = []
            for index in 0..<3 {
                _ = try await publisher.send(RedisCommand("PUBLISH", channel, "m\(index)"))
                messages.append(await iterator.next() ?? "")
            }
            return messages
        }
        #expect(messages == ["m0", "m1", "m2"])
    }

    @Test("send().get() from the client's executor: each of twenty round trips returns its own result")
    func clientRoundTripOnItsExecutor() async throws {
        let queue = TestRedis.uniqueQueue("executor")
        try await withWorker(queue: queue, register: { registry in
            registry.register("t.double") { request in .integer(2 * (request.args.first?.integerValue ?? 0)) }
        }) { client in
            let results = try await withTaskExecutorPreference(client.executor) {
                var results: [JSONValue] = []
                for value in 1...20 { results.append(try await client.send("t.double", args: [.integer(Int64(value))]).get(timeout: .seconds(10))) }
                return results
            }
            #expect(results == (1...20).map { .integer(Int64(2 * $0)) })
        }
    }

    @Test("a blocking wait on one connection holds up neither the loop nor another connection on it")
    func blockingWaitDoesNotBlockTheLoop() async throws {
        let loop = RedisEventLoop()
        defer { loop.shutdown() }
        let endpoint = try RedisEndpoint(url: try TestRedis.url)
        let waiting = RedisConnection(endpoint: endpoint, name: "test.waiting", eventLoop: loop)
        let other = RedisConnection(endpoint: endpoint, name: "test.other", eventLoop: loop)
        defer {
            waiting.close()
            other.close()
        }
        let list = TestRedis.uniqueQueue("blocking")
        try await withTaskExecutorPreference(loop) {
            async let popped = waiting.send(RedisCommand("BLPOP", list, 5))
            let clock = ContinuousClock()
            let started = clock.now
            // Twenty round trips on the other connection while the BLPOP waits on the same thread.
            for index in 0..<20 { #expect(try await other.send(RedisCommand("ECHO", "e\(index)")).string == "e\(index)") }
            #expect(clock.now - started < .seconds(2))
            _ = try await other.send(RedisCommand("RPUSH", list, "wake"))
            let reply = try await popped
            #expect(reply.array?.last?.string == "wake")
        }
    }

    @Test("a reply that takes longer than the read timeout fails that call, and the connection recovers")
    func replyTimeout() async throws {
        let loop = RedisEventLoop()
        defer { loop.shutdown() }
        let endpoint = try RedisEndpoint(url: try TestRedis.url)
        let connection = RedisConnection(endpoint: endpoint, name: "test.timeout", readTimeout: .milliseconds(300), eventLoop: loop)
        defer { connection.close() }
        let list = TestRedis.uniqueQueue("timeout")
        await #expect(throws: RedisError.self) {
            _ = try await connection.send(RedisCommand("BLPOP", list, 2))
        }
        #expect(try await connection.send(RedisCommand("PING")).string == "PONG")
    }

    @Test("an idle connection the server closed is replaced on the next call; close() fails calls in flight")
    func serverClosedAndClosed() async throws {
        let loop = RedisEventLoop()
        defer { loop.shutdown() }
        let endpoint = try RedisEndpoint(url: try TestRedis.url)
        let connection = RedisConnection(endpoint: endpoint, name: "test.killed", eventLoop: loop)
        let admin = RedisConnection(endpoint: endpoint, name: "test.admin", eventLoop: loop)
        defer { admin.close() }
        let name = TestRedis.uniqueQueue("victim")
        _ = try await connection.send(RedisCommand("CLIENT", "SETNAME", name))
        let list = try await admin.send(RedisCommand("CLIENT", "LIST")).string ?? ""
        let id = list.split(separator: "\n").first { $0.contains("name=\(name)") }?
            .split(separator: " ").first { $0.hasPrefix("id=") }?.dropFirst(3)
        let victim = try #require(id.map(String.init))
        #expect(try await admin.send(RedisCommand("CLIENT", "KILL", "ID", victim)).integer == 1)
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await connection.send(RedisCommand("PING")).string == "PONG")

        let waiting = TestRedis.uniqueQueue("closed")
        let blocked = Task { try await connection.send(RedisCommand("BLPOP", waiting, 5)) }
        try await Task.sleep(for: .milliseconds(100))
        connection.close()
        await #expect(throws: RedisError.self) { _ = try await blocked.value }
        await #expect(throws: RedisError.self) { _ = try await connection.send(RedisCommand("PING")) }
    }

    @Test("the solo pool runs every task body on one thread, several at once while they await")
    func soloPool() async throws {
        let queue = TestRedis.uniqueQueue("solo")
        let threads = Mutex<Set<UInt>>([])
        try await withWorker(queue: queue, concurrency: 8, pool: .solo, register: { registry in
            registry.register("t.nap") { request in
                threads.withLock { _ = $0.insert(UInt(pthread_self())) }
                try await Task.sleep(for: .milliseconds(100))
                threads.withLock { _ = $0.insert(UInt(pthread_self())) }
                return .integer(request.args.first?.integerValue ?? 0)
            }
            registry.register("t.fail") { _ in throw PythonException("ValueError", arguments: ["solo"]) }
        }) { client in
            let clock = ContinuousClock()
            let started = clock.now
            var results: [AsyncResult] = []
            for value in 0..<16 { results.append(try await client.send("t.nap", args: [.integer(Int64(value))])) }
            var values: [JSONValue] = []
            for result in results { values.append(try await result.get(timeout: .seconds(10))) }
            #expect(values == (0..<16).map { .integer(Int64($0)) })
            // Sixteen 100 ms naps on 8 slots: about 0.2 s when they overlap, 1.6 s in a row.
            #expect(clock.now - started < .seconds(1))
            let failure = try await client.send("t.fail").wait(timeout: .seconds(10))
            #expect(failure.status == .failure && failure.exception?.type == "ValueError")
        }
        #expect(threads.withLock { $0.count } == 1)
    }
}
