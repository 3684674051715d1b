import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A Redis pub/sub connection: subscribe to channels and receive their messages.
///
/// A dedicated thread waits on the socket with poll(2) next to a wake-up pipe, so
/// subscriptions requested from any task are sent at once, and messages are handed to
/// `onMessage` as soon as they arrive. After a connection loss it reconnects and subscribes
/// again to every channel it had, telling `onResubscribed` about each one once Redis confirmed
/// it (messages published in between are lost: its owner looks again). While it cannot
/// connect, subscriptions waiting for their confirmation fail with the connection's error, so
/// a caller decides how long to retry instead of waiting forever.
///
/// `@unchecked Sendable`: the hiredis context is only used on the reader thread; everything
/// shared with callers sits behind `state`'s mutex.
public final class RedisSubscriber: @unchecked Sendable {
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
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let thread = DispatchQueue(label: "swift-celery.redis.subscriber")

    /// Starts the subscriber's thread; it connects on the first subscription.
    ///
    /// - Parameters:
    ///   - onResubscribed: called with each channel confirmed again after a reconnect.
    ///   - onMessage: called on the subscriber's thread with each message.
    public init(
        endpoint: RedisEndpoint, onResubscribed: (@Sendable (_ channel: String) -> Void)? = nil,
        onMessage: @escaping MessageHandler
    ) {
        self.endpoint = endpoint
        self.onResubscribed = onResubscribed
        self.onMessage = onMessage
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        wakeRead = fds[0]
        wakeWrite = fds[1]
        _ = fcntl(wakeRead, F_SETFL, fcntl(wakeRead, F_GETFL) | O_NONBLOCK)
        _ = fcntl(wakeWrite, F_SETFL, fcntl(wakeWrite, F_GETFL) | O_NONBLOCK)
        thread.async { self.runLoop() }
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
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
    }

    private static func subscribeCommand(for channel: String) -> RedisCommand {
        channel.hasPrefix(patternPrefix)
            ? RedisCommand("PSUBSCRIBE", String(channel.dropFirst(patternPrefix.count)))
            : RedisCommand("SUBSCRIBE", channel)
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private func runLoop() {
        var context: RedisContext?
        var backoff = Duration.milliseconds(50)
        var connectedBefore = false
        while !state.withLock({ $0.closed }) {
            do {
                if context == nil {
                    let fresh = try RedisContext(endpoint: endpoint, connectTimeout: .seconds(5), readTimeout: nil)
                    // Subscribe again to everything after a reconnect.
                    state.withLock { state in
                        state.outgoing = state.channels.sorted().map(Self.subscribeCommand(for:))
                        state.confirmed = []
                        state.resubscribing = connectedBefore ? state.channels : []
                    }
                    context = fresh
                    connectedBefore = true
                    backoff = .milliseconds(50)
                }
                guard let connection = context else { continue }
                let outgoing = state.withLock { state in
                    defer { state.outgoing = [] }
                    return state.outgoing
                }
                if !outgoing.isEmpty {
                    try connection.append(outgoing)
                    try connection.flush()
                }
                while let reply = try connection.bufferedReply() { handle(reply) }
                var descriptors = [
                    pollfd(fd: connection.fileDescriptor, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
                ]
                _ = poll(&descriptors, 2, 1000)
                if descriptors[1].revents != 0 {
                    var sink = [UInt8](repeating: 0, count: 64)
                    while read(wakeRead, &sink, 64) > 0 {}
                }
                if descriptors[0].revents != 0 {
                    try connection.readAvailable()
                    while let reply = try connection.bufferedReply() { handle(reply) }
                }
            } catch {
                context = nil
                // Whoever waits for a confirmation hears now that none is coming soon.
                let waiting = state.withLock { state in
                    state.confirmed = []
                    defer { state.confirmations = [:] }
                    return state.confirmations.values.flatMap { $0 }
                }
                for continuation in waiting { continuation.resume(throwing: error) }
                let (seconds, attoseconds) = backoff.components
                usleep(UInt32(seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
                backoff = min(backoff * 2, .seconds(2))
            }
        }
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
