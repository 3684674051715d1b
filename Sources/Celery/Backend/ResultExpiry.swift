/// How long Celery's Redis backend keeps what it stores: results (`result_expires`), failures
/// (`result_failure_expires`, else the results'), and a chord's counters and saved header
/// (`result_chord_expires`, else the results'). `nil` or zero: kept for ever.
struct ResultExpiry: Sendable, Equatable {
    var results: Duration?
    var failures: Duration?
    var chords: Duration?

    /// Every kind kept for `expires`.
    init(_ expires: Duration?) {
        results = expires
        failures = expires
        chords = expires
    }

    /// The lifetimes a configuration sets, each falling back to `result_expires` as Celery's do.
    init(configuration: CeleryConfiguration) {
        results = configuration.resultExpires
        failures = configuration.resultFailureExpires ?? configuration.resultExpires
        chords = configuration.resultChordExpires ?? configuration.resultExpires
    }

    /// Whole seconds for Redis's `EX`; 0 for "for ever".
    static func seconds(_ duration: Duration?) -> Int {
        max(0, Int(duration?.components.seconds ?? 0))
    }

    /// Celery's `_chord_result_expires`: a chord's saved group is never kept for less than its
    /// results (0 when either is kept for ever).
    var chordResultSeconds: Int {
        let chord = Self.seconds(chords), result = Self.seconds(results)
        return chord == 0 || result == 0 ? 0 : max(chord, result)
    }
}
