extension Duration {
    /// The longest duration read from a message: ten years. Longer ones are clamped, so a
    /// hostile `1e300` cannot overflow a conversion.
    public static let longestFromMessage = Duration.seconds(315_360_000)

    /// `seconds` as a duration, for numbers that come from messages, settings, flags and task
    /// arguments: `nil` for NaN and infinities, zero for zero and negative values, at most
    /// ``longestFromMessage``, otherwise rounded to the nearest nanosecond but at least one
    /// (so `1.001` is 1.001 s, not 1.000999999 s, and a positive limit too short to measure
    /// stays a limit).
    public static func fromSeconds(_ seconds: Double) -> Duration? {
        guard seconds.isFinite else { return nil }
        guard seconds > 0 else { return .zero }
        guard seconds < 315_360_000 else { return longestFromMessage }
        return .nanoseconds(max(1, Int64((seconds * 1e9).rounded())))
    }

    /// A time limit given in seconds by a message header (`timelimit`), a signature's options,
    /// a setting or the `time_limit` control command: `nil` when none is given; zero for zero,
    /// negative and non-finite numbers, which the worker reads as no limit but which still
    /// override the task's and the worker's limits.
    static func timeLimit(seconds: Double?) -> Duration? {
        seconds.map { fromSeconds($0) ?? .zero }
    }

    /// The duration in seconds, as `TimeInterval` and as Celery writes seconds on the wire.
    ///
    /// A whole number of nanoseconds below about 104 days is divided once, so the result is
    /// the number closest to the exact value: a duration made by ``fromSeconds(_:)`` from a
    /// number with at most nine decimals gives that number back, and a header or control
    /// reply carries the same bytes as before the conversion.
    var timeInterval: Double {
        let (seconds, attoseconds) = components
        if attoseconds % 1_000_000_000 == 0, seconds.magnitude < 9_000_000 {
            return Double(seconds * 1_000_000_000 + attoseconds / 1_000_000_000) / 1e9
        }
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
