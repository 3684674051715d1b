import Dispatch
import Synchronization

/// One Redis connection used from async code without ever blocking Swift's cooperative pool.
///
/// Every hiredis call runs on the connection's own serial `DispatchQueue`; callers suspend
/// until it answers. Calls that arrive while a round trip is under way are collected and sent
/// together as one pipeline when it ends ("group commit"), so many tasks sharing a connection
/// cost one round trip per batch rather than one each; each caller's commands stay contiguous,
/// so a `MULTI ... EXEC` block is never split. The connection is opened on first use and
/// re-opened on the next call after a connection error, so a broker outage costs the failing
/// calls, not the object. Blocking commands (BRPOP) belong on a connection of their own.
///
/// Given a ``RedisEventLoop``, the connection does its I/O on the loop's thread instead, and a
/// task already running there (a client's calls do) sends its commands on the spot, with no
/// thread hand-over in either direction.
///
/// `@unchecked Sendable`: the hiredis context is only touched on `queue` (or the event loop's
/// thread), which serializes every access; the context pointer itself is guarded the same way.
public final class RedisConnection: @unchecked Sendable {
    /// The server this connection talks to.
    public let endpoint: RedisEndpoint
    private let queue: DispatchQueue
    /// When set, the thread all I/O runs on instead of `queue`.
    private let eventLoop: RedisEventLoop?
    private let connectTimeout: Duration
    private let readTimeout: Duration
    /// Only read or written on `queue` (or on the event loop's thread, when there is one).
    private var context: RedisContext?
    private let isClosed = Atomic<Bool>(false)

    /// Creates a connection; nothing is sent until the first command.
    ///
    /// - Parameters:
    ///   - endpoint: the server.
    ///   - name: shown in thread names and errors (`"broker.consume"`, ...).
    ///   - connectTimeout: how long to wait for the connection.
    ///   - readTimeout: how long a reply may take; blocking commands must time out sooner.
    ///   - eventLoop: the thread to do the I/O on; `nil` for a serial dispatch queue of its own.
    public init(
        endpoint: RedisEndpoint, name: String, connectTimeout: Duration = .seconds(5), readTimeout: Duration = .seconds(30),
        eventLoop: RedisEventLoop? = nil
    ) {
        self.endpoint = endpoint
        self.queue = DispatchQueue(label: "swift-celery.redis.\(name)")
        self.eventLoop = eventLoop
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
    }

    /// Sends one command and returns its reply (error replies are returned, not thrown).
    public func send(_ command: RedisCommand) async throws -> RedisReply {
        try await pipeline([command])[0]
    }

    /// Sends all commands in one write (together with other callers' pending commands) and
    /// returns their replies in order.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RedisReply] {
        if let eventLoop, eventLoop.isCurrent { return try pipelineOnTheSpot(commands) }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[RedisReply], any Error>) in
            let startDraining = pending.withLock { state -> Bool in
                state.requests.append(PendingRequest(commands: commands, continuation: continuation))
                guard !state.isDraining else { return false }
                state.isDraining = true
                return true
            }
            if startDraining { onConnectionThread { self.drainPending() } }
        }
    }

    /// On the event loop's thread: sends `commands` now, with whatever other callers left
    /// pending (so theirs are not overtaken), and returns their replies.
    private func pipelineOnTheSpot(_ commands: [RedisCommand]) throws(RedisError) -> [RedisReply] {
        let waiting = pending.withLock { state in
            defer { state.requests = [] }
            return state.requests
        }
        return Array(try send(waiting, then: commands))
    }

    /// Sends the requests' commands and then `extra` in one pipeline, resumes each request with
    /// its own replies (or the error), and returns the replies to `extra`.
    private func send(_ requests: [PendingRequest], then extra: [RedisCommand] = []) throws(RedisError) -> ArraySlice<RedisReply> {
        let commands = requests.count == 1 && extra.isEmpty ? requests[0].commands : requests.flatMap(\.commands) + extra
        var replies: ArraySlice<RedisReply>
        do {
            replies = try onQueue { (context) throws(RedisError) in try context.roundTrip(commands) }[...]
        } catch {
            for request in requests { request.continuation.resume(throwing: error) }
            throw error
        }
        for request in requests {
            request.continuation.resume(returning: Array(replies.prefix(request.commands.count)))
            replies = replies.dropFirst(request.commands.count)
        }
        return replies
    }

    /// Runs `body` where this connection's I/O happens: the event loop's thread, or `queue`.
    private func onConnectionThread(_ body: @escaping @Sendable () -> Void) {
        if let eventLoop { eventLoop.execute(body) } else { queue.async(execute: body) }
    }

    private struct PendingRequest {
        var commands: [RedisCommand]
        var continuation: CheckedContinuation<[RedisReply], any Error>
    }

    private struct PendingState {
        var requests: [PendingRequest] = []
        var isDraining = false
    }

    private let pending = Mutex(PendingState())

    /// Runs on `queue` (or the loop's thread): sends everything pending as one pipeline, repeatedly, until nothing is left.
    private func drainPending() {
        while true {
            let batch = pending.withLock { state -> [PendingRequest] in
                if state.requests.isEmpty { state.isDraining = false }
                defer { state.requests = [] }
                return state.requests
            }
            if batch.isEmpty { return }
            // Every request is resumed either way; nothing is left to do with the error here.
            _ = try? send(batch)
        }
    }

    /// Sends `command`, then at once, on the connection's own thread, the commands `followUp`
    /// makes of its reply (nothing when it returns `nil`): a second round trip that depends on
    /// the first without handing the reply to the caller and back in between, which on a
    /// loaded machine costs two thread wake-ups. The consumer's blocking wait uses it to fetch
    /// the moment it is woken. Error replies are returned, not thrown.
    public func send(
        _ command: RedisCommand, then followUp: @escaping @Sendable (RedisReply) -> [RedisCommand]?
    ) async throws -> (reply: RedisReply, followUp: [RedisReply]?) {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(reply: RedisReply, followUp: [RedisReply]?), any Error>) in
            onConnectionThread {
                continuation.resume(with: Result { () throws(RedisError) -> (reply: RedisReply, followUp: [RedisReply]?) in
                    try self.onQueue { (context) throws(RedisError) in
                        let reply = try context.roundTrip([command])[0]
                        guard let next = followUp(reply), !next.isEmpty else { return (reply, nil) }
                        return (reply, try context.roundTrip(next))
                    }
                }.mapError { $0 as any Error })
            }
        }
    }

    private func onQueue<Value>(_ body: (RedisContext) throws(RedisError) -> Value) throws(RedisError) -> Value {
        guard !isClosed.load(ordering: .relaxed) else {
            throw RedisError(code: .closed, message: "connection to \(endpoint) was closed")
        }
        if let existing = context {
            do {
                return try body(existing)
            } catch where error.isConnectionError && error.code != .timeout {
                // The server went away since this connection was last used (a restart, an idle
                // timeout): try once more on a fresh connection, as redis-py does.
                context = nil
            }
        }
        let fresh = try RedisContext(endpoint: endpoint, connectTimeout: connectTimeout, readTimeout: readTimeout)
        context = fresh
        do {
            return try body(fresh)
        } catch {
            if error.isConnectionError { context = nil }
            throw error
        }
    }

    /// Closes the socket; later calls fail with ``RedisError/Code/closed``.
    public func close() {
        isClosed.store(true, ordering: .relaxed)
        onConnectionThread { self.context = nil }
    }
}
