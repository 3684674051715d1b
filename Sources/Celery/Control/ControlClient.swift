#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif


/// Celery's remote control from Swift, as `app.control` / `celery inspect` / `celery control`:
/// broadcasts a command to every worker (Python or Swift) on the `celery.pidbox` fanout
/// exchange and gathers the replies that come back on this client's reply queue.
///
/// ```swift
/// let replies = try await client.control.ping()                 // ["swift@host": {"ok": "pong"}, ...]
/// try await client.control.revoke("task-id", terminate: true)
/// let stats = try await client.control.inspect("stats")
/// ```
public struct ControlClient: Sendable {
    let broker: any BrokerTransport
    /// This client's oid: the routing key of its reply queue.
    let oid: String

    /// Sends `method` to the workers named in `destination` (all when `nil`) and returns
    /// each replying node's answer, waiting up to `timeout` (or until `limit` replies).
    public func broadcast(
        _ method: String, arguments: JSONObject = JSONObject(), destination: [String]? = nil,
        reply: Bool = true, timeout: Duration = .seconds(1), limit: Int? = nil
    ) async throws -> [String: JSONValue] {
        let ticket = RandomUUID.string()
        if reply {
            try await broker.bindReplyQueue(oid: oid, bound: true)
        }
        var body: [(String, JSONValue)] = [
            ("method", .string(method)), ("arguments", .object(arguments)),
            ("destination", destination.map { .array($0.map(JSONValue.string)) } ?? .null), ("pattern", .null), ("matcher", .null),
        ]
        if reply {
            body += [
                ("ticket", .string(ticket)),
                ("reply_to", .object(["exchange": "reply.celery.pidbox", "routing_key": .string(oid)])),
            ]
        }
        let expires = Date().timeIntervalSince1970 + timeout.timeInterval
        let envelope = KombuEnvelope.encode(
            body: .object(JSONObject(body)), headers: ["clock": 1, "expires": .double(expires)], exchange: "celery.pidbox",
            routingKey: "", deliveryMode: 2)
        try await broker.publishFanout(envelope, exchange: "celery.pidbox", routingKey: "")
        guard reply else { return [:] }

        var replies: [String: JSONValue] = [:]
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        // Polls the reply queue (a blocking wait on a shared, pipelined connection would stall it).
        while clock.now < deadline, limit.map({ replies.count < $0 }) ?? true {
            let popped = try await broker.takeReplies(oid: oid)
            var gotOne = false
            for bytes in popped {
                guard case .object(let message)? = try? JSONValue(parsing: bytes),
                    message["headers"]?["ticket"]?.stringValue == ticket, case .string(let encoded)? = message["body"],
                    let decoded = Base64.decode(Array(encoded.utf8)), case .object(let answer)? = try? JSONValue(parsing: decoded)
                else { continue }
                gotOne = true
                for (node, value) in answer { replies[node] = value }
            }
            if !gotOne { try await Task.sleep(for: .milliseconds(10)) }
        }
        try? await broker.bindReplyQueue(oid: oid, bound: false)
        try? await broker.deleteReplyQueue(oid: oid)
        return replies
    }

    /// `ping`: which workers answer.
    public func ping(timeout: Duration = .seconds(1)) async throws -> [String: JSONValue] {
        try await broadcast("ping", timeout: timeout)
    }

    /// An inspect command (`stats`, `active`, `registered`, `active_queues`, `revoked`, ...).
    public func inspect(_ method: String, arguments: JSONObject = JSONObject(), timeout: Duration = .seconds(1)) async throws
        -> [String: JSONValue]
    {
        try await broadcast(method, arguments: arguments, timeout: timeout)
    }

    /// `revoke`: the task will not run; with `terminate` a running one is cancelled.
    @discardableResult
    public func revoke(_ taskID: String, terminate: Bool = false, timeout: Duration = .seconds(1)) async throws -> [String: JSONValue] {
        try await broadcast(
            "revoke", arguments: ["task_id": .string(taskID), "terminate": .bool(terminate), "signal": "SIGTERM"],
            timeout: timeout)
    }

    /// `rate_limit`: change a task's rate limit (`"10/s"`) on the workers.
    @discardableResult
    public func rateLimit(_ taskName: String, _ limit: String, timeout: Duration = .seconds(1)) async throws -> [String: JSONValue] {
        try await broadcast("rate_limit", arguments: ["task_name": .string(taskName), "rate_limit": .string(limit)], timeout: timeout)
    }

    /// `shutdown`: a warm shutdown of the named workers (all when `nil`); no replies.
    public func shutdown(destination: [String]? = nil) async throws {
        _ = try await broadcast("shutdown", destination: destination, reply: false)
    }
}
