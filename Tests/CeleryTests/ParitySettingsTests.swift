@testable import Celery
import Foundation
import Testing

/// Settings of Celery 5.6-5.7 read as Celery reads them.
@Suite("Celery 5.7 settings")
struct ParitySettingsTests {
    @Test("worker_concurrency takes an integer, a number in a string, or 'auto'; anything else is refused by name")
    func concurrency() throws {
        var worker = WorkerConfiguration()
        try CelerySettings(["worker_concurrency": "auto"]).apply(to: &worker)
        #expect(worker.concurrency == ProcessInfo.processInfo.activeProcessorCount)
        try CelerySettings(["worker_concurrency": " 6 "]).apply(to: &worker)
        #expect(worker.concurrency == 6)
        try CelerySettings(["worker_concurrency": 3]).apply(to: &worker)
        #expect(worker.concurrency == 3)
        let error = #expect(throws: CeleryError.self) { try CelerySettings(["worker_concurrency": "many"]).apply(to: &worker) }
        #expect(error?.message.contains("worker_concurrency") == true)
    }

    @Test("task_acks_on_failure and _on_timeout fall back to task_acks_on_failure_or_timeout, then to True")
    func acksOn() throws {
        var worker = WorkerConfiguration()
        #expect(worker.acksOnFailure && worker.acksOnTimeout)
        try CelerySettings(["task_acks_on_failure_or_timeout": false]).apply(to: &worker)
        #expect(!worker.acksOnFailure && !worker.acksOnTimeout)
        worker = WorkerConfiguration()
        try CelerySettings(["task_acks_on_failure_or_timeout": false, "task_acks_on_timeout": true]).apply(to: &worker)
        #expect(!worker.acksOnFailure && worker.acksOnTimeout)
        try CelerySettings(["worker_soft_shutdown_timeout": 2.5]).apply(to: &worker)
        #expect(worker.softShutdownTimeout == .milliseconds(2500))
        try CelerySettings(["worker_soft_shutdown_timeout": 0]).apply(to: &worker)
        #expect(worker.softShutdownTimeout == nil, "0 disables it, as in Celery")
        try CelerySettings(["worker_disable_prefetch": true]).apply(to: &worker)
        #expect(worker.disablePrefetch && worker.prefetchLimit == worker.concurrency)
    }

    @Test("result_failure_expires and result_chord_expires: seconds, None as result_expires, 0 for ever")
    func expiries() throws {
        var configuration = CeleryConfiguration(resultExpires: .seconds(100))
        try CelerySettings(["result_failure_expires": 30, "result_chord_expires": 0]).apply(to: &configuration)
        let expiry = ResultExpiry(configuration: configuration)
        #expect(expiry.failures == .seconds(30))
        #expect(expiry.chords == .zero)
        #expect(expiry.chordResultSeconds == 0)
        try CelerySettings(["result_failure_expires": .null]).apply(to: &configuration)
        #expect(ResultExpiry(configuration: configuration).failures == .seconds(30), "None leaves it as it was")
        #expect(ResultExpiry(configuration: CeleryConfiguration(resultExpires: .seconds(100))).failures == .seconds(100))
    }
}
