import Logging
import Synchronization

/// Logs Redis failures of acks and result stores once per outage instead of once per task:
/// the first failure after a success is an error line, later ones are debug lines, and the
/// first success after a failure says the connection is back.
final class OutageLog: Sendable {
    private let failing = Atomic<Bool>(false)
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func failed(_ what: String, _ error: any Error, metadata: Logger.Metadata? = nil) {
        if failing.exchange(true, ordering: .relaxed) {
            logger.debug("\(what): \(error)", metadata: metadata)
        } else {
            logger.error("\(what): \(error); further failures until Redis answers again are logged at debug level", metadata: metadata)
        }
    }

    func succeeded() {
        if failing.exchange(false, ordering: .relaxed) {
            logger.info("Redis answers again: acknowledgements and results resume")
        }
    }
}
