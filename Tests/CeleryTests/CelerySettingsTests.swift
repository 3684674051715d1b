@testable import Celery
import Foundation
import Testing

@Suite("Celery settings from a celeryconfig.py and the environment")
struct CelerySettingsTests {
    @Test("plain Python assignments over several lines read as Celery reads them")
    func pythonConfigFile() throws {
        let values = try PythonLiteralParser.assignments(in: """
            # comment
            import os
            from kombu import Queue

            broker_url = 'redis://:secret@localhost:6379/1'   # trailing comment
            result_backend = "redis://localhost:6379/2"
            task_routes = {
                'reports.*': {'queue': 'slow'},  # a glob
                "tasks.add": "fast",
            }
            worker_prefetch_multiplier = 1
            task_acks_late = True
            result_expires = None
            task_time_limit = 1_800.5
            task_queues = ('a', 'b',)
            worker_pool = 'solo'
            """)
        #expect(values["broker_url"] == "redis://:secret@localhost:6379/1")
        #expect(values["task_queues"] == ["a", "b"])
        #expect(values["task_time_limit"] == 1800.5)
        var configuration = CeleryConfiguration()
        var worker = WorkerConfiguration()
        let settings = CelerySettings(values)
        try settings.apply(to: &configuration)
        try settings.apply(to: &worker)
        #expect(configuration.resultExpires == nil && configuration.resultBackendURL == "redis://localhost:6379/2")
        #expect(configuration.routedQueue(forTask: "reports.monthly") == "slow")
        #expect(configuration.routedQueue(forTask: "tasks.add") == "fast")
        #expect(configuration.routedQueue(forTask: "tasks.mul") == nil)
        #expect(worker.prefetchMultiplier == 1 && worker.acksLate && worker.queues == ["a", "b"])
        #expect(worker.timeLimit == .milliseconds(1_800_500) && worker.softTimeLimit == nil)
        #expect(worker.pool == .solo)
        #expect(WorkerConfiguration.pool(named: "prefork") == .threads && WorkerConfiguration.pool(named: "gevent") == .solo)
        #expect(throws: CeleryError.self) { try CelerySettings(["worker_pool": "forkserver"]).apply(to: &worker) }
    }

    @Test("errors name the line")
    func errors() {
        #expect(throws: PythonLiteralParser.Failure.self) { try PythonLiteralParser.assignments(in: "a = 1\nb = f(2)\n") }
        do {
            _ = try PythonLiteralParser.assignments(in: "a = 1\nb = [1,\n 2\n")
        } catch {
            #expect(error.line == 4)
        }
    }

    @Test("CELERY_<NAME> variables, typed")
    func environment() throws {
        let settings = CelerySettings.fromEnvironment([
            "CELERY_TASK_ACKS_LATE": "true", "CELERY_WORKER_PREFETCH_MULTIPLIER": "8",
            "CELERY_BROKER_TRANSPORT_OPTIONS": "{\"visibility_timeout\": 30}", "CELERY_BROKER_URL": "redis://x:1/0",
            "UNRELATED": "1",
        ])
        #expect(settings.values.count == 4)
        var configuration = CeleryConfiguration()
        try settings.apply(to: &configuration)
        #expect(configuration.visibilityTimeout == .seconds(30) && configuration.brokerURL == "redis://x:1/0")
    }

    @Test("globs match as Celery's glob routes")
    func globs() {
        #expect(TaskRoute(pattern: "a.*.c", queue: "q").matches("a.b.c"))
        #expect(!TaskRoute(pattern: "a.*.c", queue: "q").matches("a.b.d"))
        #expect(TaskRoute(pattern: "*", queue: "q").matches("anything"))
        #expect(TaskRoute(pattern: "x*", queue: "q").matches("x"))
    }
}
