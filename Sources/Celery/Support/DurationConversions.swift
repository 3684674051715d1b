extension Duration {
    /// The longest duration read from a message: ten years. Longer ones are clamped, so a
    /// hostile `1e300` cannot overflow a conversion.
    public static let longestFromMessage = Duration.seconds(315_360_000)

    /// `seconds` as a duration, for numbers that come from messages and task arguments:
    /// `nil` for NaN and infinities, zero for negative values, at most ``longestFromMessage``.
    public static func fromSeconds(_ seconds: Double) -> Duration? {
        guard seconds.isFinite else { return nil }
        guard seconds > 0 else { return .zero }
        guard seconds < 315_360_000 else { return longestFromMessage }
        return .nanoseconds(Int64(seconds * 1e9))
    }
}
