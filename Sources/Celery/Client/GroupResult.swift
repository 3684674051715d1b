/// The results of a group's members, as Python's `GroupResult`: the group id and one
/// ``AsyncResult`` per member, in the group's order.
public struct GroupResult: Sendable {
    /// The group id (`group` header of each member).
    public let id: String
    /// The members' results, in `group_index` order.
    public let results: [AsyncResult]

    /// A group result over these members.
    public init(id: String, results: [AsyncResult]) {
        self.id = id
        self.results = results
    }

    /// `GroupResult.save()`: stores the member ids under `celery-taskset-meta-<id>` so
    /// Python's `GroupResult.restore(id)` (and ``CeleryClient/restoreGroup(_:)``) can read them.
    public func save() async throws {
        guard let backend = results.first?.backend else { return }
        do {
            try await backend.saveGroup(groupID: id, memberIDs: results.map(\.id))
        } catch {
            throw CeleryError(code: .resultBackend, message: "cannot save group \(id): \(error)")
        }
    }

    /// Whether every member is SUCCESS, FAILURE or REVOKED.
    public func ready() async throws -> Bool {
        for result in results where try await !result.ready() { return false }
        return true
    }

    /// How many members succeeded (Celery's `completed_count`).
    public func completedCount() async throws -> Int {
        var count = 0
        for result in results where try await result.state() == .success { count += 1 }
        return count
    }

    /// Whether every member succeeded.
    public func successful() async throws -> Bool {
        try await completedCount() == results.count
    }

    /// Waits for every member and returns their return values in order (Celery's `get`/`join`).
    ///
    /// - Throws: the first member's ``TaskFailedError`` in group order, as Python's `join`
    ///   with `propagate=True`; ``CeleryError`` with code `timeout` when `timeout` passes.
    public func get(timeout: Duration = .seconds(60)) async throws -> [JSONValue] {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var values: [JSONValue] = []
        values.reserveCapacity(results.count)
        for result in results {
            let remaining = clock.now.duration(to: deadline)
            values.append(try await result.get(timeout: max(remaining, .milliseconds(1))))
        }
        return values
    }

    /// The same as ``get(timeout:)``, under Celery's other name.
    public func join(timeout: Duration = .seconds(60)) async throws -> [JSONValue] {
        try await get(timeout: timeout)
    }
}
