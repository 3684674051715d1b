#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler that writes Celery-shaped lines to standard error:
/// `[2026-11-25 13:45:14,689: INFO/MainProcess] Task tasks.add[…] received`.
///
/// For executables: bootstrap it with `LoggingSystem.bootstrap { CeleryLogHandler(label: $0) }`.
/// Libraries never bootstrap logging.
public struct CeleryLogHandler: LogHandler {
    /// Writes plain text lines, or one JSON object per line for log collectors.
    public enum Format: Sendable {
        case celery
        case json
    }

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let format: Format

    /// A handler for `label` at `logLevel`.
    public init(label: String, logLevel: Logger.Level = .info, format: Format = .celery) {
        self.label = label
        self.logLevel = logLevel
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let timestamp = CeleryTime.isoformat(Date())
        var line: String
        switch format {
        case .celery:
            // 2026-11-25T13:45:14.689157+00:00 → 2026-11-25 13:45:14,689
            let base = timestamp.prefix(19).replacing("T", with: " ")
            let fraction = timestamp.dropFirst(20).prefix(while: { $0.isNumber })
            let millis = (fraction + "000").prefix(3)
            line = "[\(base),\(millis): \(Self.celeryLevel(event.level))/MainProcess] \(event.message)\n"
        case .json:
            var object = JSONObject([
                ("timestamp", .string(timestamp)), ("level", .string(Self.celeryLevel(event.level))),
                ("logger", .string(label)), ("message", .string(event.message.description)),
            ])
            for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
                object[key] = .string(value.description)
            }
            line = JSONValue.object(object).pythonJSONString() + "\n"
        }
        // One write(2) per line: lines from concurrent tasks never interleave.
        line.withUTF8 { buffer in
            _ = write(2, buffer.baseAddress, buffer.count)
        }
    }

    /// Celery's level names.
    static func celeryLevel(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: return "DEBUG"
        case .info, .notice: return "INFO"
        case .warning: return "WARNING"
        case .error: return "ERROR"
        case .critical: return "CRITICAL"
        }
    }

    /// Reads Celery's `--loglevel` names (`DEBUG`, `INFO`, `WARNING`, `ERROR`, `CRITICAL`,
    /// `FATAL`, any case) and swift-log's.
    public static func level(named name: String) -> Logger.Level? {
        switch name.lowercased() {
        case "trace": return .trace
        case "debug": return .debug
        case "info": return .info
        case "notice": return .notice
        case "warning", "warn": return .warning
        case "error": return .error
        case "critical", "fatal": return .critical
        default: return nil
        }
    }
}
