@testable import Celery
import Testing

@Suite("Durations in the API, seconds on the wire")
struct DurationConversionsTests {
    @Test("seconds with up to nine decimals become durations and come back as the same number")
    func roundTrip() throws {
        // Truncating 1.001 * 1e9 gave 1.000999999 s; 1.118 came back as 1.1179999999999999.
        for seconds in [0.3, 1.001, 1.118, 2.3, 0.5, 1800.5, 0.000_000_001, 86_399.999_999_999] {
            let duration = try #require(Duration.fromSeconds(seconds))
            #expect(duration.timeInterval == seconds, "\(seconds)")
        }
        #expect(Duration.fromSeconds(1.001) == .milliseconds(1001))
        #expect(Duration.fromSeconds(-1) == .zero && Duration.fromSeconds(0) == .zero)
        #expect(Duration.fromSeconds(1e-300) == .nanoseconds(1))
        #expect(Duration.fromSeconds(.nan) == nil && Duration.fromSeconds(.infinity) == nil)
        #expect(Duration.fromSeconds(1e300) == Duration.longestFromMessage)
    }
}
