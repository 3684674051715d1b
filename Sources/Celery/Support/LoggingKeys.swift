/// Logger metadata keys the worker and client attach (dotted, as swift-log recommends).
public enum LoggingKeys {
    /// The task id.
    public static let taskID = "celery.task.id"
    /// The task name.
    public static let taskName = "celery.task.name"
    /// The queue a message came from.
    public static let queue = "celery.queue"
    /// The delivery tag of a message.
    public static let deliveryTag = "celery.delivery_tag"
    /// The worker's node name.
    public static let hostname = "celery.worker.hostname"
}
