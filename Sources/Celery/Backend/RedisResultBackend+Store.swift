internal import CeleryRedis

/// Celery's Redis result backend as the worker's and client's ``ResultStore``.
extension RedisResultBackend: ResultStore {
    var location: String { "\(endpoint)" }

    var preferredExecutor: (any TaskExecutor)? { eventLoop }

    func watch(taskID: String) -> any ResultWatch {
        RedisResultWatch(listener: resultListener, channel: QueueKeys.resultKey(taskID: taskID))
    }
}

/// A wait on the result channel `celery-task-meta-<id>` of the client's shared listener.
struct RedisResultWatch: ResultWatch {
    let listener: ResultListener
    let channel: String
    let token: UInt64

    init(listener: ResultListener, channel: String) {
        self.listener = listener
        self.channel = channel
        token = listener.register(channel)
    }

    func start() async throws {
        try await listener.subscribe(channel)
    }

    var hasDelivered: Bool { listener.hasDelivered(channel, token: token) }

    func next(timeout: Duration) async throws -> ResultNotification? {
        guard let payload = await listener.next(channel, token: token, timeout: timeout) else { return nil }
        if payload == ResultListener.lookAgain { return .lookAgain }
        return .stored(try RedisResultBackend.decode(payload))
    }

    func cancel() {
        listener.unregister(channel, token: token)
    }
}
