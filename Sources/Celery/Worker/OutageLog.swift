import Logging
import Synchronization

/// Logs Redis failures of one kind of work (acks, or result stores) once per outage instead
/// of once per task: the first failure after a success is an error line, later ones are debug
/// lines, and the first success after a failure says the work resumes. One log per kind: under
/// `maxmemory` acks go through while stores are refused, and a shared log would flip between
/// the two on every task.
final class OutageLog: Sendable {
    private let failing = Atomic<Bool>(false)
    private let logger: Logger
    /// What the line after an outage says resumes ("results are stored again").
    private let resumed: String

    init(logger: Logger, resumed: String) {
        self.logger = logger
        self.resumed = resumed
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
            logger.info("Redis answers again: \(resumed)")
        }
    }
}
