#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Celery

/// `typed.*`: tasks declared with ``TypedTask``, for interop/tests/test_typed_tasks.py.
enum TypedTasks {
    /// `add(x: int, y: int, z: int | None = None) -> int`
    static let add = TypedTask<Int, Int, Int?, Int>("typed.add", parameters: "x", "y", "z")

    /// A record with the kombu-typed values: `datetime`, `UUID`, `Decimal`, `bytes`.
    struct Record: Codable, Sendable {
        var when: Date
        var id: UUID
        var amount: Decimal
        var blob: Data
        var tags: [String]
        var note: String?
    }

    /// `shift(record, days: int) -> record` with `when` moved by `days` and `amount` doubled.
    static let shift = TypedTask<Record, Int, Record>("typed.shift", parameters: "record", "days", defaults: ["days": 1])

    /// `describe(when: datetime, id: UUID, amount: Decimal, blob: bytes) -> dict`
    static let describe = TypedTask<Date, UUID, Decimal, Data, [String: String]>(
        "typed.describe", parameters: "when", "id", "amount", "blob")

    static func register(in registry: TaskRegistry) {
        registry.register(add) { _, x, y, z in x + y + (z ?? 0) }
        registry.register(shift) { _, record, days in
            var shifted = record
            shifted.when = record.when.addingTimeInterval(Double(days) * 86_400)
            shifted.amount = record.amount * 2
            shifted.tags = record.tags + ["shifted"]
            return shifted
        }
        registry.register(describe) { _, when, id, amount, blob in
            [
                "epoch": String(Int(when.timeIntervalSince1970)), "uuid": id.uuidString.lowercased(),
                "amount": amount.description, "blob": String(decoding: blob, as: UTF8.self),
            ]
        }
    }
}
