import CeleryJSON
import CeleryProtocol

/// The bounds a remote-control request must keep: the checks of `pool_grow`, `pool_shrink` and
/// `rate_limit`, as pure functions so they can be tested without a worker.
///
/// A refused request is answered with Celery's error reply, `{"error": "<why>"}`, naming the
/// limit it broke; nothing about the worker changes.
enum ControlLimits {
    /// Why a request was refused: the text of the `{"error": ...}` reply.
    struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        /// The reason, naming the limit.
        var message: String
        var description: String { message }
    }

    /// The longest rate limit text accepted (`"1000/s"` needs 6; the text is logged and listed
    /// by `inspect registered rate_limit`).
    static let rateLimitTextLimit = 64

    /// The slowest rate limit accepted, in tasks per second: one a day. A slower rate keeps a
    /// slot, and the message it holds, waiting for days; and past about 10¹⁰ years between two
    /// tasks the interval no longer fits in a `Duration`, which turned the limit into none.
    static let slowestRate = 1.0 / 86_400

    /// The concurrency after `pool_grow n` (`grow`) or `pool_shrink n`, or why it is refused:
    /// `n` must be a whole number, 0 or more (missing: 1, as in Celery); growing may not pass
    /// ``WorkerConfiguration/maximumConcurrency``, and shrinking keeps at least one slot.
    static func resizedConcurrency(_ current: Int, by n: JSONValue?, grow: Bool) -> Result<Int, Refusal> {
        let command = grow ? "pool_grow" : "pool_shrink"
        let limit = WorkerConfiguration.maximumConcurrency
        // The number as given (for the reply) and as a step that cannot overflow.
        let shown: String
        let step: Int
        switch n {
        case nil, .null?:
            (shown, step) = ("1", 1)
        case .integer(let value)?:
            guard value >= 0 else { return .failure(Refusal(message: "\(command) \(value) refused: n must be 0 or more")) }
            (shown, step) = (String(value), Int(exactly: value) ?? Int.max)
        case .bigInteger(let digits)?:
            let text = digits.count > 40 ? "\(digits.prefix(20))...(\(digits.count) digits)" : digits
            guard !digits.hasPrefix("-") else { return .failure(Refusal(message: "\(command) \(text) refused: n must be 0 or more")) }
            (shown, step) = (text, Int.max)
        case let other?:
            return .failure(Refusal(message: "\(command) refused: n must be a whole number, not \(PythonRepr.repr(other, limit: 40))"))
        }
        if grow {
            guard step <= limit - current else {
                return .failure(Refusal(message:
                    "\(command) \(shown) refused: the pool has \(current) slots and may grow to at most \(limit) (the maximum concurrency, WorkerConfiguration.maximumConcurrency)"))
            }
            return .success(current + step)
        }
        guard step < current else {
            return .failure(Refusal(message: "\(command) \(shown) refused: the pool has \(current) slots and keeps at least one"))
        }
        return .success(current - step)
    }

    /// The rate limit `rate_limit` sets: `nil` to lift it (Celery tests the value's truth, so
    /// `null`, `0` and `""` lift it, and `"0"`, a rate of zero, is no limit either), or why the
    /// value is refused: unreadable, longer than ``rateLimitTextLimit``, not finite, or slower
    /// than ``slowestRate``. The refusal keeps Celery's wording, `Invalid rate limit string: ...`.
    static func rateLimit(_ value: JSONValue) -> Result<RateLimit?, Refusal> {
        guard value.isPythonTruthy else { return .success(nil) }
        let text = value.stringValue ?? PythonRepr.repr(value, limit: rateLimitTextLimit + 1)
        func refused(_ reason: String) -> Result<RateLimit?, Refusal> {
            .failure(Refusal(message: "Invalid rate limit string: ValueError(\(PythonRepr.stringRepr(reason)))"))
        }
        guard text.utf8.count <= rateLimitTextLimit else {
            return refused("a rate limit of \(text.utf8.count) characters (at most \(rateLimitTextLimit))")
        }
        guard let limit = RateLimit(text) else {
            // A rate of zero is no limit, as Celery's token bucket treats it.
            if (Double(text.split(separator: "/").first ?? "") ?? -1) == 0 { return .success(nil) }
            return refused(text)
        }
        guard limit.rate.isFinite else { return refused("\(text): not a finite rate") }
        guard limit.rate >= slowestRate else { return refused("\(text) is slower than one task a day") }
        return .success(limit)
    }
}
