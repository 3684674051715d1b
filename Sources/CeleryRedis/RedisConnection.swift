import Dispatch
import Synchronization

/// One Redis connection used from async code without ever blocking Swift's cooperative pool.
///
/// Calls that arrive while earlier ones are under way are collected and sent together as one
/// pipeline ("group commit"), so many tasks sharing a connection cost one round trip per batch
/// rather than one each; each caller's commands stay contiguous, so a `MULTI ... EXEC` block
/// is never split. The connection is opened on first use and re-opened on the next call after
/// a connection error, so a broker outage costs the failing calls, not the object. Blocking
/// commands (BRPOP) belong on a connection of their own.
///
/// Where the I/O happens:
/// - Without an event loop, every hiredis call runs on the connection's own serial
///   `DispatchQueue`, one blocking round trip per batch.
/// - Given a ``RedisEventLoop``, the connection is one of the loop's sources: the loop writes
///   what is pending once the jobs it took together have run, and reads the replies as they
///   arrive, so several batches can be on their way at once and the thread never sits waiting
///   for a reply. A task running on the loop (a client's calls, a worker's slots) hands its
///   commands over and is resumed there with no thread wake-up in either direction.
///
/// `@unchecked Sendable`: the hiredis context and the in-flight bookkeeping are only touched on
/// `queue` or on the event loop's thread, which serializes every access; what callers share
/// sits behind `pending`'s mutex.
public final class RedisConnection: RedisEventSource, @unchecked Sendable {
    /// The server this connection talks to.
    public let endpoint: RedisEndpoint
    private let queue: DispatchQueue
    /// When set, the thread all I/O runs on instead of `queue`.
    private let eventLoop: RedisEventLoop?
    private let connectTimeout: Duration
    private let readTimeout: Duration
    /// Only read or written on `queue` (or on the event loop's thread, when there is one).
    private var context: RedisContext?

    private struct PendingRequest {
        var commands: [RedisCommand]
        /// Called once with the commands' replies or the error, on the connection's thread.
        var deliver: @Sendable (Result<[RedisReply], any Error>) -> Void
    }

    private struct PendingState {
        var requests: [PendingRequest] = []
        /// Without an event loop: a drain is under way on `queue`.
        var isDraining = false
        /// Closed: new calls fail at once.
        var isClosed = false
    }

    private let pending = Mutex(PendingState())

    /// With an event loop: requests written and waiting for replies, oldest first (from
    /// `inFlightHead` on), the replies of the oldest so far, and when the oldest times out.
    /// Only touched on the loop's thread.
    private var inFlight: [PendingRequest] = []
    private var inFlightHead = 0
    private var headReplies: [RedisReply] = []
    private var replyDeadline: ContinuousClock.Instant?

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
        eventLoop?.add(self)
    }

    /// Sends one command and returns its reply (error replies are returned, not thrown).
    public func send(_ command: RedisCommand) async throws -> RedisReply {
        try await pipeline([command])[0]
    }

    /// Sends all commands in one write (together with other callers' pending commands) and
    /// returns their replies in order.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RedisReply] {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[RedisReply], any Error>) in
            submit(PendingRequest(commands: commands) { continuation.resume(with: $0) })
        }
    }

    /// Queues `request` to go out with the next batch (first in it with `first`, for a
    /// follow-up), or fails it when the connection is closed.
    private func submit(_ request: PendingRequest, first: Bool = false) {
        let (accepted, startDraining) = pending.withLock { state -> (Bool, Bool) in
            guard !state.isClosed else { return (false, false) }
            if first { state.requests.insert(request, at: 0) } else { state.requests.append(request) }
            guard eventLoop == nil, !state.isDraining else { return (true, false) }
            state.isDraining = true
            return (true, true)
        }
        guard accepted else {
            request.deliver(.failure(closedError))
            return
        }
        if let eventLoop {
            eventLoop.poke()
        } else if startDraining {
            queue.async { self.drainPending() }
        }
    }

    /// Sends `command`, then at once, on the connection's own thread, the commands `followUp`
    /// makes of its reply (nothing when it returns `nil`): a second round trip that depends on
    /// the first without handing the reply to the caller and back in between, which on a
    /// loaded machine costs two thread wake-ups. The consumer's blocking wait uses it to fetch
    /// the moment it is woken. Error replies are returned, not thrown.
    ///
    /// On an event loop the follow-up goes out first in the next write, from the loop's thread
    /// as the reply is read.
    public func send(
        _ command: RedisCommand, then followUp: @escaping @Sendable (RedisReply) -> [RedisCommand]?
    ) async throws -> (reply: RedisReply, followUp: [RedisReply]?) {
        if eventLoop != nil {
            return try await withCheckedThrowingContinuation { continuation in
                submit(PendingRequest(commands: [command]) { result in
                    switch result {
                    case .failure(let error):
                        continuation.resume(throwing: error)
                    case .success(let replies):
                        guard let next = followUp(replies[0]), !next.isEmpty else {
                            continuation.resume(returning: (replies[0], nil))
                            return
                        }
                        self.submit(PendingRequest(commands: next) { continuation.resume(with: $0.map { (replies[0], $0) }) }, first: true)
                    }
                })
            }
        }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(reply: RedisReply, followUp: [RedisReply]?), any Error>) in
            queue.async {
                continuation.resume(with: Result { () throws(RedisError) -> (reply: RedisReply, followUp: [RedisReply]?) in
                    try self.withContext { (context) throws(RedisError) in
                        let reply = try context.roundTrip([command])[0]
                        guard let next = followUp(reply), !next.isEmpty else { return (reply, nil) }
                        return (reply, try context.roundTrip(next))
                    }
                }.mapError { $0 as any Error })
            }
        }
    }

    /// Closes the socket; later calls fail with ``RedisError/Code/closed``, and calls still
    /// waiting for a reply fail the same way.
    public func close() {
        pending.withLock { $0.isClosed = true }
        if let eventLoop {
            eventLoop.poke()
        } else {
            queue.async { self.context = nil }
        }
    }

    private var closedError: RedisError {
        RedisError(code: .closed, message: "connection to \(endpoint) was closed")
    }

    // MARK: Without an event loop: blocking round trips on `queue`

    /// Runs on `queue`: sends everything pending as one pipeline, repeatedly, until nothing is left.
    private func drainPending() {
        while true {
            let batch = pending.withLock { state -> [PendingRequest] in
                if state.requests.isEmpty { state.isDraining = false }
                defer { state.requests = [] }
                return state.requests
            }
            if batch.isEmpty { return }
            let commands = batch.count == 1 ? batch[0].commands : batch.flatMap(\.commands)
            var replies: ArraySlice<RedisReply>
            do {
                replies = try withContext { (context) throws(RedisError) in try context.roundTrip(commands) }[...]
            } catch {
                for request in batch { request.deliver(.failure(error)) }
                continue
            }
            for request in batch {
                request.deliver(.success(Array(replies.prefix(request.commands.count))))
                replies = replies.dropFirst(request.commands.count)
            }
        }
    }

    /// Runs `body` on the open context (opening one if needed); a connection found dead
    /// since its last use is replaced and `body` tried once more, as redis-py does.
    private func withContext<Value>(_ body: (RedisContext) throws(RedisError) -> Value) throws(RedisError) -> Value {
        guard !pending.withLock({ $0.isClosed }) else { throw closedError }
        if let existing = context {
            do {
                return try body(existing)
            } catch where error.isConnectionError && error.code != .timeout {
                // The server went away since this connection was last used (a restart, an idle
                // timeout): try once more on a fresh connection.
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

    // MARK: On an event loop: written when the jobs have run, read as replies arrive

    /// On the loop's thread: reads what arrived and hands out complete replies, fails what
    /// waited too long, then writes what is pending.
    func service(readable: Bool) -> RedisEventWait {
        if pending.withLock({ $0.isClosed }) {
            shutDown()
            return RedisEventWait(isFinished: true)
        }
        if let connection = context {
            do {
                if readable { try connection.readAvailable() }
                try handOutReplies(from: connection)
            } catch {
                dropConnection(after: error)
            }
        }
        if inFlightHead < inFlight.count, let replyDeadline, ContinuousClock.now >= replyDeadline {
            dropConnection(after: RedisError(code: .timeout, message: "\(endpoint): no reply within \(readTimeout)"))
        }
        let batch = pending.withLock { state -> [PendingRequest] in
            defer { state.requests = [] }
            return state.requests
        }
        if !batch.isEmpty { write(batch) }
        return RedisEventWait(
            descriptor: context?.fileDescriptor,
            timeout: inFlightHead < inFlight.count ? replyDeadline.map { ContinuousClock.now.duration(to: $0) } : nil)
    }

    func loopStopped() {
        pending.withLock { $0.isClosed = true }
        shutDown()
    }

    /// Writes `batch` as one pipeline behind whatever is in flight. A connection found dead
    /// while nothing was in flight on it (closed by the server since) is replaced and the
    /// write tried once more.
    private func write(_ batch: [PendingRequest]) {
        let commands = batch.count == 1 ? batch[0].commands : batch.flatMap(\.commands)
        var mayRetry = context != nil
        while true {
            do {
                let connection: RedisContext
                if let existing = context {
                    connection = existing
                } else {
                    connection = try RedisContext(endpoint: endpoint, connectTimeout: connectTimeout, readTimeout: readTimeout)
                    context = connection
                }
                try connection.append(commands)
                try connection.flush()
                break
            } catch {
                let idle = inFlightHead == inFlight.count
                dropConnection(after: error)
                guard mayRetry, idle, error.isConnectionError, error.code != .timeout else {
                    for request in batch { request.deliver(.failure(error)) }
                    return
                }
                mayRetry = false
            }
        }
        if inFlightHead == inFlight.count { replyDeadline = ContinuousClock.now.advanced(by: readTimeout) }
        inFlight.append(contentsOf: batch)
    }

    /// Resumes each in-flight request whose replies are all buffered.
    private func handOutReplies(from connection: RedisContext) throws(RedisError) {
        while inFlightHead < inFlight.count, let reply = try connection.bufferedReply() {
            headReplies.append(reply)
            guard headReplies.count == inFlight[inFlightHead].commands.count else { continue }
            let done = inFlight[inFlightHead]
            let replies = headReplies
            headReplies = []
            inFlightHead += 1
            if inFlightHead == inFlight.count {
                inFlight.removeAll(keepingCapacity: true)
                inFlightHead = 0
            } else if inFlightHead >= 64 && inFlightHead * 2 >= inFlight.count {
                inFlight.removeFirst(inFlightHead)
                inFlightHead = 0
            }
            replyDeadline = ContinuousClock.now.advanced(by: readTimeout)
            done.deliver(.success(replies))
        }
    }

    /// Forgets the connection: every request in flight on it fails with `error`.
    private func dropConnection(after error: RedisError) {
        context = nil
        let failed = inFlight[inFlightHead...]
        inFlight = []
        inFlightHead = 0
        headReplies = []
        replyDeadline = nil
        for request in failed { request.deliver(.failure(error)) }
    }

    /// Closed: fails what is in flight and what is pending.
    private func shutDown() {
        dropConnection(after: closedError)
        let waiting = pending.withLock { state -> [PendingRequest] in
            defer { state.requests = [] }
            return state.requests
        }
        for request in waiting { request.deliver(.failure(closedError)) }
    }
}
