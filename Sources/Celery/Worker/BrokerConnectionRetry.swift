internal import CeleryRedis
import Logging
import Synchronization

/// When a worker stops trying to reach its broker: Celery's `broker_connection_max_retries`
/// for outages, and a small fixed bound for the errors no retry can mend.
///
/// Two kinds of failure, as they need different answers:
/// - **Outages** (connection refused, a server restarting, a timeout): worth waiting out. They
///   are retried up to ``maxRetries`` times in a row (`nil`: for ever), counted as kombu counts
///   them: `maxRetries` retries after the first failed attempt, so `0` gives up at once.
/// - **Configuration errors** (the server refused the URL's credentials or database:
///   ``RedisError/isConfigurationError``): kombu retries these like outages (redis-py's
///   `AuthenticationError` is one of its connection errors), so a Celery worker with a wrong
///   password logs the same refusal for the 46 minutes its 100 retries take. They are permanent
///   until someone changes the URL or the server, so this worker makes
///   ``configurationErrorAttempts`` attempts (fewer if `maxRetries` allows fewer) and then
///   stops with an exit status a supervisor can see. More than one attempt, because a server
///   whose ACL file or `requirepass` is being changed may refuse a login for a moment.
struct BrokerConnectionRetry: Sendable, Hashable {
    /// `broker_connection_max_retries`: retries after a failed attempt before giving up;
    /// `nil` retries for ever.
    var maxRetries: Int?

    /// Attempts made when the server refuses the URL's credentials or database.
    static let configurationErrorAttempts = 3

    /// What to do after a failed attempt.
    enum Decision: Sendable, Hashable {
        /// Try again after the back-off.
        case retry
        /// Stop: the broker cannot be reached with this configuration.
        case giveUp
    }

    /// The failures so far, in a row (reset by ``succeeded()``).
    private(set) var failures = 0
    /// The configuration errors among them, in a row.
    private(set) var configurationFailures = 0

    /// A policy allowing `maxRetries` retries (`nil`: for ever).
    init(maxRetries: Int?) {
        self.maxRetries = maxRetries.map { max(0, $0) }
    }

    /// Counts a failed attempt and decides whether to make another.
    mutating func failed(configurationError: Bool) -> Decision {
        failures += 1
        configurationFailures = configurationError ? configurationFailures + 1 : 0
        if let maxRetries, failures > maxRetries { return .giveUp }
        if configurationFailures >= Self.configurationErrorAttempts { return .giveUp }
        return .retry
    }

    /// Counts a failed attempt with `error`; configuration errors are Redis's refused logins and databases.
    mutating func failed(_ error: any Error) -> Decision {
        failed(configurationError: error.transportError?.isConfigurationError ?? false)
    }

    /// The broker answered: the count starts again.
    mutating func succeeded() {
        failures = 0
        configurationFailures = 0
    }

    /// What a log line says a configuration error means (what is wrong, never the password).
    static func explanation(of error: any Error) -> String? {
        error.transportError?.configurationProblem
    }
}

/// Reaching the broker at start-up and after losing it.
extension CeleryWorker {
    /// The wait before another attempt after the server refused the URL's password or database.
    static let configurationErrorDelay = Duration.seconds(1)

    /// Waits until the broker answers, as Celery's consumer connects before its worker says
    /// `ready.`; `false` when the worker stops first, or gives up (``brokerFailure`` says why).
    func connectToBroker() async -> Bool {
        var retry = BrokerConnectionRetry(maxRetries: workerConfiguration.brokerConnectionMaxRetries)
        var backoff = Backoff()
        while !stopping.isStopped, !Task.isCancelled {
            do {
                try await broker.ping()
                logger.info("Connected to \(configuration.redactedBrokerURL)")
                return true
            } catch {
                guard let delay = brokerAttemptFailed(error, retry: &retry, backoff: &backoff) else { return false }
                await stopping.sleep(for: delay)
            }
        }
        return false
    }

    /// Logs a failed attempt to reach the broker and returns the delay before the next, or
    /// `nil` when the worker gives up: then the reason is kept for `run()` to throw and the
    /// worker stops taking work. An outage is logged at its first failure only (one line per
    /// outage); a refused password or database at each attempt, saying what is wrong.
    func brokerAttemptFailed(_ error: any Error, retry: inout BrokerConnectionRetry, backoff: inout Backoff) -> Duration? {
        let decision = retry.failed(error)
        let explanation = BrokerConnectionRetry.explanation(of: error)
        let problem = explanation.map { " This is a configuration error: \($0)." } ?? ""
        let text = "\(error)"
        let failure = text.hasSuffix(".") ? text : text + "."
        guard decision == .retry else {
            let bound = explanation == nil
                ? "broker_connection_max_retries is \(retry.maxRetries.map(String.init) ?? "None")"
                : "retrying will not help until broker_url or the server changes"
            let message = "cannot connect to \(broker.location) after \(retry.failures) attempt(s): \(failure)\(problem) Giving up (\(bound))."
            logger.critical("consumer: \(message)")
            brokerFailure.withLock { $0 = $0 ?? CeleryError(code: explanation == nil ? .broker : .invalidConfiguration, message: message, underlying: error) }
            stopTakingWork()
            return nil
        }
        // A refused login or database is tried again a second later, not at once: the moment
        // a server takes to finish loading a new ACL file or `requirepass`.
        let delay = explanation == nil ? backoff.next() : max(backoff.next(), Self.configurationErrorDelay)
        if retry.failures == 1 || explanation != nil {
            let count = retry.maxRetries.map { " (attempt \(retry.failures) of \($0 + 1))" } ?? ""
            // Under maxmemory the server answers but refuses the fetch's writes: say so.
            let what = error.transportError?.isOutOfMemory == true
                ? "\(broker.location) refuses writes (maxmemory reached)" : "Cannot connect to \(broker.location)"
            logger.error("consumer: \(what): \(failure)\(problem) Trying again in \(delay)...\(count)")
        }
        return delay
    }
}
