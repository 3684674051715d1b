#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import CeleryJSON
import CeleryProtocol
import Logging
import Synchronization

/// Celery's events (`celery events`, Flower): JSON messages published on the `celeryev`
/// fanout exchange (`PUBLISH /<db>.celeryev/<type with - as .>`), fields in Celery's order:
/// `hostname`, `utcoffset`, `pid`, `clock`, the event's own fields, `timestamp`, `type`.
///
/// Worker events (online, heartbeat, offline) are always sent; task events only while task
/// events are enabled (`-E`, or `enable_events` at run time).
struct EventDispatcher: Sendable {
    static let softwareIdentity = "swift-celery"
    static let softwareVersion = "0.1.0"
    /// Heartbeat interval, as Celery's default.
    static let heartbeatFrequency = 2.0

    let broker: any BrokerTransport
    let state: WorkerState
    let hostname: String
    let logger: Logger
    let pid = Int64(ProcessInfo.processInfo.processIdentifier)

    /// Sends a task event if task events are enabled; `fields` is only built when they are.
    func taskEvent(_ type: String, _ fields: @autoclosure () -> [(String, JSONValue)]) async {
        guard state.eventsEnabled else { return }
        await send(type, fields())
    }

    /// Sends `worker-online`, `worker-heartbeat` or `worker-offline` with the worker's load.
    func workerEvent(_ type: String, active: Int, processed: Int) async {
        await send(type, [
            ("freq", .double(Self.heartbeatFrequency)), ("active", .integer(Int64(active))),
            ("processed", .integer(Int64(processed))), ("loadavg", .array(Self.loadAverage().map(JSONValue.double))),
            ("sw_ident", .string(Self.softwareIdentity)), ("sw_ver", .string(Self.softwareVersion)), ("sw_sys", "Linux"),
        ])
    }

    private func send(_ type: String, _ fields: [(String, JSONValue)]) async {
        var members: [(String, JSONValue)] = [
            ("hostname", .string(hostname)), ("utcoffset", .double(Self.utcOffsetHoursWest())), ("pid", .integer(pid)),
            ("clock", .integer(Int64(state.tick()))),
        ]
        members += fields
        members += [("timestamp", .double(Date().timeIntervalSince1970)), ("type", .string(type))]
        let routingKey = type.replacing("-", with: ".")
        let envelope = KombuEnvelope.encode(
            body: .object(JSONObject(members)), headers: ["hostname": .string(hostname)], exchange: "celeryev",
            routingKey: routingKey)
        do {
            try await broker.publishFanout(envelope, exchange: "celeryev", routingKey: routingKey)
        } catch {
            logger.debug("Cannot send event \(type): \(error)")
        }
    }

    /// The 1, 5 and 15 minute load averages.
    static func loadAverage() -> [Double] {
        var loads = [Double](repeating: 0, count: 3)
        _ = getloadavg(&loads, 3)
        return loads.map { ($0 * 100).rounded() / 100 }
    }

    /// Celery's `utcoffset()`: hours west of UTC, as a float.
    static func utcOffsetHoursWest() -> Double {
        Double(-TimeZone.current.secondsFromGMT()) / 3600
    }
}
