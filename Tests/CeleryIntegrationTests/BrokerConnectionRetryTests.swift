@testable import Celery
import CeleryRedis
import Testing

@Suite("Reaching the broker: outages retried as broker_connection_max_retries says, refusals bounded")
struct BrokerConnectionRetryTests {
    @Test("outages retry for ever by default, and maxRetries times when set (0: no retry), as kombu counts")
    func outages() {
        var forever = BrokerConnectionRetry(maxRetries: nil)
        #expect((0..<1000).allSatisfy { _ in forever.failed(configurationError: false) == .retry })
        var two = BrokerConnectionRetry(maxRetries: 2)
        #expect(two.failed(configurationError: false) == .retry)
        #expect(two.failed(configurationError: false) == .retry)
        #expect(two.failed(configurationError: false) == .giveUp)
        var none = BrokerConnectionRetry(maxRetries: 0)
        #expect(none.failed(configurationError: false) == .giveUp)
        var reset = BrokerConnectionRetry(maxRetries: 1)
        #expect(reset.failed(configurationError: false) == .retry)
        reset.succeeded()
        #expect(reset.failed(configurationError: false) == .retry)
    }

    @Test("a refused password or database gives up after a few attempts, even when outages retry for ever")
    func configurationErrors() {
        var retry = BrokerConnectionRetry(maxRetries: nil)
        let attempts = BrokerConnectionRetry.configurationErrorAttempts
        for _ in 1..<attempts { #expect(retry.failed(configurationError: true) == .retry) }
        #expect(retry.failed(configurationError: true) == .giveUp)
        // An outage in between starts the count of refusals again.
        var mixed = BrokerConnectionRetry(maxRetries: nil)
        #expect(mixed.failed(configurationError: true) == .retry)
        #expect(mixed.failed(configurationError: false) == .retry)
        #expect(mixed.failed(configurationError: true) == .retry)
        var strict = BrokerConnectionRetry(maxRetries: 0)
        #expect(strict.failed(configurationError: true) == .giveUp)
    }

    @Test("Redis's refusals are configuration errors, not connection errors to retry")
    func redisErrorKinds() {
        #expect(RedisError.code(forErrorReply: "NOAUTH Authentication required.") == .authenticationFailed)
        #expect(RedisError.code(forErrorReply: "WRONGPASS invalid username-password pair or user is disabled.") == .authenticationFailed)
        #expect(RedisError.code(forErrorReply: "ERR invalid password") == .authenticationFailed)
        #expect(RedisError.code(forErrorReply: "ERR wrong number of arguments") == .serverError)
        let refused = RedisError(code: .invalidDatabase, message: "SELECT 99 refused")
        #expect(refused.isConfigurationError && !refused.isConnectionError)
        #expect(BrokerConnectionRetry.explanation(of: refused)?.contains("database") == true)
        let down = RedisError(code: .connectionFailed, message: "Connection refused")
        #expect(!down.isConfigurationError && down.isConnectionError && BrokerConnectionRetry.explanation(of: down) == nil)
    }

    @Test("broker_connection_max_retries is read and checked (None: for ever)")
    func settings() throws {
        var worker = WorkerConfiguration()
        #expect(worker.brokerConnectionMaxRetries == nil)
        try CelerySettings(["broker_connection_max_retries": 5]).apply(to: &worker)
        #expect(worker.brokerConnectionMaxRetries == 5)
        try CelerySettings(["broker_connection_max_retries": .null]).apply(to: &worker)
        #expect(worker.brokerConnectionMaxRetries == nil)
        let environment = CelerySettings.fromEnvironment(["CELERY_BROKER_CONNECTION_MAX_RETRIES": "0"])
        try environment.apply(to: &worker)
        #expect(worker.brokerConnectionMaxRetries == 0)
        #expect(throws: CeleryError.self) { try CelerySettings(["broker_connection_max_retries": -1]).apply(to: &worker) }
        #expect(throws: CeleryError.self) { try CelerySettings(["broker_connection_max_retries": "many"]).apply(to: &worker) }
    }
}
