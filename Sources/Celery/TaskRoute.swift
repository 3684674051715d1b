/// One entry of `task_routes`: tasks whose name matches `pattern` (`*` matches any run of
/// characters, as Celery's glob routes) go to `queue` unless the call names a queue.
public struct TaskRoute: Sendable, Hashable {
    /// A task name or a glob.
    public var pattern: String
    /// The queue those tasks go to.
    public var queue: String

    /// A route.
    public init(pattern: String, queue: String) {
        self.pattern = pattern
        self.queue = queue
    }

    /// Whether `name` matches.
    public func matches(_ name: String) -> Bool {
        guard pattern.contains("*") else { return pattern == name }
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false)
        var rest = Substring(name)
        guard rest.hasPrefix(parts[0]) else { return false }
        rest = rest.dropFirst(parts[0].count)
        for part in parts.dropFirst().dropLast() {
            guard let range = rest.firstRange(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return rest.hasSuffix(parts[parts.count - 1])
    }
}
