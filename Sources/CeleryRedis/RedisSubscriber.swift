import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A Redis pub/sub connection: subscribe to channels and receive their messages.
///
/// A ``RedisEventLoop``'s thread (the client's, or one of its own) waits on the socket with
/// poll(2) between its jobs, so subscriptions requested from any task are sent at once, and
/// messages are handed to `onMessage` as soon as they arrive; a task waiting on that loop is
/// resumed without waking another thread. After a connection loss it reconnects and subscribes
/// again to every channel it had, telling `onResubscribed` about each one once Redis confirmed
/// it (messages published in between are lost: its owner looks again). While it cannot
/// connect, subscriptions waiting for their confirmation fail with the connection's error, so
/// a caller decides how long to retry instead of waiting forever.
///
/// `@unchecked Sendable`: the hiredis context is only used on the loop's thread; everything
/// shared with callers sits behind `state`'s mutex.
public final class RedisSubscriber: RedisEventSource, @unchecked Sendable {
    /// A message published on a subscribed channel.
    public typealias MessageHandler = @Sendable (_ channel: String, _ payload: [UInt8]) -> Void

    private struct State {
        /// Every channel wanted, confirmed or not.
        var channels: Set<String> = []
        /// Channels Redis confirmed on the current connection.
        var confirmed: Set<String> = []
        /// Channels subscribed again after a reconnect, not yet confirmed.
        var resubscribing: Set<String> = []
        var outgoing: [RedisCommand] = []
        var confirmations: [String: [CheckedContinuation<Void, any Error>]] = [:]
        var closed = false
    }

    /// The server this subscriber listens on.
    public let endpoint: RedisEndpoint
    private let onMessage: MessageHandler
    private let onResubscribed: (@Sendable (_ channel: String) -> Void)?
    private let state = Mutex(State())
    /// The thread this subscriber reads on (its timers suit its callers' timeouts).
    public let eventLoop: RedisEventLoop
    /// Whether `eventLoop` was made for this subscriber alone (shut down with it).
    private let ownsEventLoop: Bool

    /// The connection and its reconnection back-off: only touched on the loop's thread.
    private var context: RedisContext?
    private var backoff = Duration.milliseconds(50)
    private var retryAt: ContinuousClock.Instant?
    private var connectedBefore = false

    /// Starts listening on `eventLoop` (or on a loop of its own); it connects on the first
    /// subscription.
    ///
    /// - Parameters:
    ///   - eventLoop: the thread to wait and read on; `nil` starts one for this subscriber.
    ///   - onResubscribed: called with each channel confirmed again after a reconnect.
    ///   - onMessage: called on the loop's thread with each message.
    public init(
        endpoint: RedisEndpoint, eventLoop: RedisEventLoop? = nil,
        onResubscribed: (@Sendable (_ channel: String) -> Void)? = nil, onMessage: @escaping MessageHandler
    ) {
        self.endpoint = endpoint
        self.onResubscribed = onResubscribed
        self.onMessage = onMessage
        self.eventLoop = eventLoop ?? RedisEventLoop()
        self.ownsEventLoop = eventLoop == nil
        self.eventLoop.add(self)
    }

    /// Subscribes to every channel matching `pattern` (PSUBSCRIBE), as kombu's fanout
    /// consumers do; returns once Redis confirmed it. Messages arrive with their channel name.
    public func psubscribe(_ pattern: String) async throws {
        try await subscribe(Self.patternPrefix + pattern)
    }

    /// Marks a pattern subscription in the channel set (no real channel starts with NUL).
    private static let patternPrefix = "\u{0}pattern:"

    /// Subscribes to `channel` and returns once Redis confirmed it, so a message published
    /// afterwards cannot be missed.
    ///
    /// - Throws: ``RedisError`` when the subscriber cannot connect (the channel stays wanted and
    ///   is subscribed once the server answers again), or `closed` after ``shutdown()``.
    public func subscribe(_ channel: String) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let accepted = state.withLock { state -> Bool in
                guard !state.closed else { return false }
                if state.confirmed.contains(channel) {
                    // Confirmed on the current connection: nothing to wait for.
                    continuation.resume()
                    return true
                }
                state.confirmations[channel, default: []].append(continuation)
                if state.channels.insert(channel).inserted {
                    state.outgoing.append(Self.subscribeCommand(for: channel))
                }
                return true
            }
            if accepted {
                wake()
            } else {
                continuation.resume(throwing: RedisError(code: .closed, message: "subscriber to \(endpoint) was closed"))
            }
        }
    }

    /// Stops listening to `channel`.
    public func unsubscribe(_ channel: String) {
        state.withLock { state in
            state.confirmed.remove(channel)
            state.resubscribing.remove(channel)
            if state.channels.remove(channel) != nil {
                state.outgoing.append(RedisCommand("UNSUBSCRIBE", channel))
            }
        }
        wake()
    }

    /// Closes the connection and stops the thread; pending subscriptions fail.
    public func shutdown() {
        let pending = state.withLock { state in
            state.closed = true
            defer { state.confirmations = [:] }
            return state.confirmations.values.flatMap { $0 }
        }
        for continuation in pending {
            continuation.resume(throwing: RedisError(code: .closed, message: "subscriber to \(endpoint) was closed"))
        }
        wake()
        if ownsEventLoop { eventLoop.shutdown() }
    }

    private static func subscribeCommand(for channel: String) -> RedisCommand {
        channel.hasPrefix(patternPrefix)
            ? RedisCommand("PSUBSCRIBE", String(channel.dropFirst(patternPrefix.count)))
            : RedisCommand("SUBSCRIBE", channel)
    }

    private func wake() {
        eventLoop.poke()
    }

    /// On the loop's thread: connects (again) when due, sends what is pending, reads what
    /// arrived, hands out what it read.
    func service(readable: Bool) -> RedisEventWait {
        if state.withLock({ $0.closed }) {
            context = nil
            return RedisEventWait(isFinished: true)
        }
        if context == nil, let retryAt, ContinuousClock.now < retryAt {
            return RedisEventWait(timeout: ContinuousClock.now.duration(to: retryAt))
        }
        do {
            if context == nil {
                // No connection until something is wanted (the first subscription).
                guard state.withLock({ !$0.channels.isEmpty }) else { return RedisEventWait() }
                let fresh = try RedisContext(endpoint: endpoint, connectTimeout: .seconds(5), readTimeout: nil)
                // Subscribe again to everything after a reconnect.
                let reconnected = connectedBefore
                state.withLock { state in
                    state.outgoing = state.channels.sorted().map(Self.subscribeCommand(for:))
                    state.confirmed = []
                    state.resubscribing = reconnected ? state.channels : []
                }
                context = fresh
                connectedBefore = true
                backoff = .milliseconds(50)
                retryAt = nil
            }
            guard let connection = context else { return RedisEventWait() }
            let outgoing = state.withLock { state in
                defer { state.outgoing = [] }
                return state.outgoing
            }
            if !outgoing.isEmpty {
                try connection.append(outgoing)
                try connection.flush()
            }
            while let reply = try connection.bufferedReply() { handle(reply) }
            if readable {
                try connection.readAvailable()
                while let reply = try connection.bufferedReply() { handle(reply) }
            }
            return RedisEventWait(descriptor: connection.fileDescriptor)
        } catch {
            dropConnection(after: error)
            return RedisEventWait(timeout: ContinuousClock.now.duration(to: retryAt ?? .now))
        }
    }

    /// The loop ends with its owner (a client closing): a last look at what is pending.
    func loopStopped() {
        _ = service(readable: false)
    }

    /// Forgets the connection after `error`: whoever waits for a confirmation hears now that
    /// none is coming soon, and the next connection attempt waits for the back-off.
    private func dropConnection(after error: any Error) {
        context = nil
        let waiting = state.withLock { state in
            state.confirmed = []
            defer { state.confirmations = [:] }
            return state.confirmations.values.flatMap { $0 }
        }
        for continuation in waiting { continuation.resume(throwing: error) }
        retryAt = ContinuousClock.now.advanced(by: backoff)
        backoff = min(backoff * 2, .seconds(2))
    }

    private func handle(_ reply: RedisReply) {
        guard let parts = reply.array, parts.count >= 3, let kind = parts[0].string, let channel = parts[1].string else {
            return
        }
        switch kind {
        case "message":
            onMessage(channel, parts[2].bytes ?? [])
        case "pmessage":
            if parts.count >= 4, let realChannel = parts[2].string { onMessage(realChannel, parts[3].bytes ?? []) }
        case "subscribe", "psubscribe":
            let key = kind == "psubscribe" ? Self.patternPrefix + channel : channel
            let (waiting, restored) = state.withLock { state in
                defer { state.confirmations[key] = nil }
                if state.channels.contains(key) { state.confirmed.insert(key) }
                return (state.confirmations[key] ?? [], state.resubscribing.remove(key) != nil)
            }
            for continuation in waiting { continuation.resume() }
            if restored { onResubscribed?(key) }
        default:
            break
        }
    }
}
