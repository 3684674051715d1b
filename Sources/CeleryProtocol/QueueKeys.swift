/// The Redis keys kombu's Redis transport and Celery's Redis result backend use.
public enum QueueKeys {
    /// kombu's separator between a queue name and its priority step: the bytes `0x06 0x16`.
    public static let prioritySeparator = "\u{06}\u{16}"
    /// kombu's default priority steps; a message goes to the largest step not above its priority.
    public static let prioritySteps = [0, 3, 6, 9]
    /// The hash of delivered, unacknowledged messages: tag → `[message, exchange, routing_key]`.
    public static let unacked = "unacked"
    /// The sorted set of delivery tags scored by delivery time.
    public static let unackedIndex = "unacked_index"
    /// The lock guarding the visibility-timeout restore.
    public static let unackedMutex = "unacked_mutex"

    /// The list a message of `priority` goes to in `queue` (`celery`, `celery\x06\x163`, ...).
    public static func key(queue: String, priority: Int) -> String {
        let step = priorityStep(for: priority)
        return step == 0 ? queue : queue + prioritySeparator + String(step)
    }

    /// The priority step for `priority`, clamped to 0...9 as kombu does.
    public static func priorityStep(for priority: Int) -> Int {
        let clamped = min(max(priority, 0), 9)
        return prioritySteps.last(where: { $0 <= clamped }) ?? 0
    }

    /// Every list of `queue`, lowest step (consumed first) first.
    public static func keys(queue: String) -> [String] {
        prioritySteps.map { key(queue: queue, priority: $0) }
    }

    /// The queue a list key belongs to (the key without its priority suffix).
    public static func queue(fromKey key: String) -> String {
        guard let separator = key.firstRange(of: prioritySeparator) else { return key }
        return String(key[..<separator.lowerBound])
    }

    /// kombu's binding table of `exchange`: a set of ``bindingMember(routingKey:pattern:queue:)``.
    public static func bindingKey(exchange: String) -> String {
        "_kombu.binding." + exchange
    }

    /// kombu 5.7's copy of the binding table that its binding sweeper leaves alone.
    public static func permanentBindingKey(exchange: String) -> String {
        "_kombu.binding_permanent." + exchange
    }

    /// One binding as kombu stores it: `routing_key`, `pattern` and `queue` joined by `\x06\x16`.
    public static func bindingMember(routingKey: String, pattern: String = "", queue: String) -> String {
        [routingKey, pattern, queue].joined(separator: prioritySeparator)
    }

    /// Reads a binding member; `nil` unless it has kombu's three fields.
    public static func binding(fromMember member: [UInt8]) -> (routingKey: String, pattern: String, queue: String)? {
        let fields = String(decoding: member, as: UTF8.self).split(separator: prioritySeparator, omittingEmptySubsequences: false)
        guard fields.count == 3 else { return nil }
        return (String(fields[0]), String(fields[1]), String(fields[2]))
    }

    /// The result backend's key (and pub/sub channel) for a task's result.
    public static func resultKey(taskID: String) -> String {
        "celery-task-meta-" + taskID
    }

    /// The result backend's key for a saved group result.
    public static func groupResultKey(groupID: String) -> String {
        "celery-taskset-meta-" + groupID
    }
}
