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

    @Test("a limit that is there but off overrides the task's and the worker's: zero, not nil")
    func timeLimitFromTheWire() {
        #expect(Duration.timeLimit(seconds: nil) == nil)
        #expect(Duration.timeLimit(seconds: .nan) == .zero && Duration.timeLimit(seconds: -1) == .zero)
        #expect(Duration.timeLimit(seconds: .infinity) == .zero)
        #expect(Duration.timeLimit(seconds: 2.5) == .milliseconds(2500))
        #expect(Duration.zero.enforcedLimit == nil && Duration.seconds(-1).enforcedLimit == nil)
        #expect(Duration.seconds(1).enforcedLimit == .seconds(1))
    }

    @Test("time limits go out in seconds: whole ones as integers, others as floats, as Python sends them")
    func timeLimitHeader() throws {
        let client = try CeleryClient(configuration: CeleryConfiguration(brokerURL: "redis://127.0.0.1:1/0"))
        let limited = client.makeMessage(
            "tasks.add", options: TaskOptions(timeLimit: .seconds(5), softTimeLimit: .milliseconds(1500)))
        #expect(limited.headers.object["timelimit"] == .array([.integer(5), .double(1.5)]))
        #expect(limited.headers.object["timelimit"]?.pythonJSONBytes() == Array("[5, 1.5]".utf8))
        #expect(limited.headers.timeLimit.hard == 5 && limited.headers.timeLimit.soft == 1.5)
        let unlimited = client.makeMessage("tasks.add")
        #expect(unlimited.headers.object["timelimit"] == .array([.null, .null]))
    }

    @Test("a signature's time_limit and soft_time_limit are republished byte for byte")
    func signatureOptions() throws {
        let options = TaskOptions(signatureOptions: ["time_limit": 0.3, "soft_time_limit": 30])
        #expect(options.timeLimit == .milliseconds(300) && options.softTimeLimit == .seconds(30))
        let client = try CeleryClient(configuration: CeleryConfiguration(brokerURL: "redis://127.0.0.1:1/0"))
        let message = client.makeMessage("tasks.add", options: options)
        #expect(message.headers.object["timelimit"]?.pythonJSONBytes() == Array("[0.3, 30]".utf8))
        #expect(TaskOptions(signatureOptions: ["time_limit": nil]).timeLimit == nil)
    }

    @Test("retry backoff: the factor doubles per retry up to the maximum; jitter draws whole seconds")
    func backoff() {
        let fixed = TaskDefinitionOptions(retryBackoff: .seconds(1), retryBackoffMax: .seconds(5), retryJitter: false)
        #expect(fixed.backoffCountdown(retries: 0) == .seconds(1))
        #expect(fixed.backoffCountdown(retries: 2) == .seconds(4))
        #expect(fixed.backoffCountdown(retries: 3) == .seconds(5))
        #expect(fixed.backoffCountdown(retries: 5_000) == .seconds(5))
        let fractional = TaskDefinitionOptions(retryBackoff: .milliseconds(100), retryJitter: false)
        #expect(fractional.backoffCountdown(retries: 0) == .milliseconds(100))
        #expect(fractional.backoffCountdown(retries: 1) == .milliseconds(200))
        #expect(TaskDefinitionOptions().backoffCountdown(retries: 3) == .zero)
        let jittered = TaskDefinitionOptions(retryBackoff: .seconds(2))
        for _ in 0..<20 {
            let countdown = jittered.backoffCountdown(retries: 2)
            #expect(countdown >= .zero && countdown <= .seconds(8) && countdown.components.attoseconds == 0)
        }
    }

    @Test("the poll timeout is a duration of at least 10 ms")
    func pollTimeout() {
        #expect(WorkerConfiguration().pollTimeout == .milliseconds(500))
        #expect(WorkerConfiguration(pollTimeout: .zero).pollTimeout == .milliseconds(10))
        #expect(WorkerConfiguration(pollTimeout: .seconds(1)).pollTimeout.timeInterval == 1)
    }
}
