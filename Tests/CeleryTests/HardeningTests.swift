@testable import Celery
import CeleryRedis
import Logging
import Testing

@Suite("Redis errors a worker must tell apart")
struct RedisErrorTests {
    @Test("a discarded transaction reports the queued command's own error, not EXECABORT")
    func transactionCause() throws {
        let oom = "OOM command not allowed when used memory > 'maxmemory'."
        let replies: [RedisReply] = [.status("OK"), .error(oom), .error(oom), .error("EXECABORT Transaction discarded because of previous errors.")]
        let error = try #require(throws: RedisError.self) { try RedisReply.transactionResult(replies, command: "ack") }
        #expect(error.message.contains("OOM command not allowed"))
        #expect(!error.message.contains("EXECABORT"))
        #expect(error.isOutOfMemory)
    }

    @Test("a transaction that ran gives EXEC's reply")
    func transactionRan() throws {
        let replies: [RedisReply] = [.status("OK"), .status("QUEUED"), .array([.integer(1)])]
        #expect(try RedisReply.transactionResult(replies, command: "x") == .array([.integer(1)]))
    }

    @Test("OOM is recognised alone, from a script and inside a transaction; other errors are not")
    func outOfMemory() throws {
        let fromScript = RedisError(
            code: .serverError,
            message: "EVALSHA (store results): OOM command not allowed when used memory > 'maxmemory'. script: 7b15")
        #expect(fromScript.isOutOfMemory)
        #expect(RedisError(code: .serverError, message: "OOM command not allowed").isOutOfMemory)
        #expect(!RedisError(code: .serverError, message: "GET: WRONGTYPE Operation against a key").isOutOfMemory)
        #expect(!RedisError(code: .io, message: "OOM").isOutOfMemory)
    }
}

@Suite("What SIGHUP does")
struct HangupBehaviorTests {
    @Test("restart and shutdown are fixed; Celery's choice depends on a terminal")
    func behaviours() {
        #expect(HangupBehavior.restart.restarts)
        #expect(!HangupBehavior.shutdown.restarts)
        // Under `swift test` standard output is a pipe or a file, never a terminal in CI.
        #expect(HangupBehavior.celery.restarts == !Posix.isTerminal(1))
    }
}

@Suite("Size limits and command-line URLs")
struct LimitSettingsTests {
    @Test("worker_max_message_size sets the decoding limit; 512 MiB by default; nonsense is refused")
    func messageSizeSetting() throws {
        var configuration = CeleryConfiguration()
        #expect(configuration.decoding.maximumMessageSize == 512 << 20)
        try CelerySettings(["worker_max_message_size": .integer(1_000_000)]).apply(to: &configuration)
        #expect(configuration.decoding.maximumMessageSize == 1_000_000)
        #expect(throws: CeleryError.self) {
            try CelerySettings(["worker_max_message_size": .integer(-1)]).apply(to: &configuration)
        }
        #expect(CelerySettings(["worker_max_message_size": .integer(1)]).unknownNames.isEmpty)
    }

    @Test("a broker given on the command line serves as backend unless one is configured")
    func commandLineURLs() throws {
        let environment: [String: String] = [:]
        let (plain, _) = try CeleryConfiguration.load(file: nil, broker: "redis://h:1/2", backend: nil, environment: environment)
        #expect(plain.brokerURL == "redis://h:1/2" && plain.resultBackendURL == "redis://h:1/2")
        let (both, _) = try CeleryConfiguration.load(
            file: nil, broker: "redis://h:1/2", backend: nil, environment: ["CELERY_RESULT_BACKEND": "redis://r:3/4"])
        #expect(both.resultBackendURL == "redis://r:3/4")
        let (flags, _) = try CeleryConfiguration.load(file: nil, broker: "redis://h:1/2", backend: "redis://b:5/6", environment: environment)
        #expect(flags.resultBackendURL == "redis://b:5/6")
    }
}

@Suite("Transports chosen by URL scheme")
struct TransportSchemeTests {
    @Test("redis and unix URLs are Redis; Celery's other transports are refused by name, passwords hidden")
    func schemes() throws {
        for url in ["redis://h:1/0", "unix:///tmp/r.sock", "redis+socket:///tmp/r.sock", "REDIS://h"] {
            #expect(try TransportScheme(url: url, role: .broker) == .redis)
        }
        let amqp = try #require(throws: CeleryError.self) {
            try TransportScheme(url: "amqp://guest:s3cret@rabbit:5672//", role: .broker)
        }
        #expect(amqp.code == .invalidConfiguration)
        #expect(amqp.message.contains("broker_url") && amqp.message.contains("RabbitMQ (amqp://)"))
        #expect(!amqp.message.contains("s3cret"))
        let rpc = try #require(throws: CeleryError.self) { try TransportScheme(url: "rpc://", role: .resultBackend) }
        #expect(rpc.message.contains("result_backend") && rpc.message.contains("rpc://"))
        #expect(throws: CeleryError.self) { try TransportScheme(url: "rediss://h:6380/0", role: .broker) }
        #expect(throws: CeleryError.self) { try TransportScheme(url: "sentinel://h:26379", role: .broker) }
        #expect(throws: CeleryError.self) { try TransportScheme(url: "localhost:6379", role: .broker) }
    }

    @Test("a worker refuses an unknown scheme at once, naming it")
    func workerRefuses() throws {
        let error = try #require(throws: CeleryError.self) {
            try CeleryWorker(
                configuration: CeleryConfiguration(brokerURL: "amqp://guest@localhost//", resultBackendURL: "redis://h:1/0"),
                registry: TaskRegistry(), logger: .init(label: "test"))
        }
        #expect(error.message.contains("amqp"))
    }
}
