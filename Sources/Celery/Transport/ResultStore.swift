
/// What the worker and the client need from a result backend, named after Celery's backend
/// operations: store and read task results, save and restore groups, count a chord's header
/// results, and notify waiters when a result is stored.
///
/// ``RedisResultBackend`` is Celery's Redis backend; ``InMemoryResultStore`` (in
/// `CeleryTesting`) keeps the same rules in one process for unit tests.
package protocol ResultStore: AnyObject, Sendable {
    /// The backend for log lines and `inspect report`, its password hidden.
    var location: String { get }
    /// The executor a waiting caller is best run on (the backend's event loop), if any.
    var preferredExecutor: (any TaskExecutor)? { get }

    /// Stores `document` unless a SUCCESS is already stored for the task, and notifies waiters.
    ///
    /// - Returns: `false` when an earlier SUCCESS was kept.
    @discardableResult
    func store(_ document: TaskResultDocument) async throws -> Bool
    /// Stores many documents, each unless a SUCCESS is already stored for its task.
    func storeAll(_ documents: [TaskResultDocument]) async throws
    /// The stored document, or `nil` while the task is PENDING (nothing stored).
    func get(taskID: String) async throws -> TaskResultDocument?
    /// The stored state of each task, in order (`nil` while PENDING or unreadable).
    func states(taskIDs: [String]) async throws -> [TaskState?]
    /// Deletes the stored result (`AsyncResult.forget()`).
    func forget(taskID: String) async throws
    /// Starts watching for results of `taskID` stored from now on.
    func watch(taskID: String) -> any ResultWatch

    /// `GroupResult.save()`: the member ids, as Python's `GroupResult.restore(id)` reads them.
    func saveGroup(groupID: String, memberIDs: [String]) async throws
    /// `GroupResult.save()` of a chord header: `resultTuples` are the members' `as_tuple()`.
    func saveChordHeader(groupID: String, resultTuples: [JSONValue]) async throws
    /// The `as_tuple()` of each member of a saved group, in order; `nil` when none is saved.
    func restoreGroupTuples(groupID: String) async throws -> [JSONValue]?
    /// The member ids of a saved group, in order; `nil` when none is saved.
    func restoreGroup(groupID: String) async throws -> [String]?

    /// Records a chord header task's outcome (Celery's `on_chord_part_return`) and claims the
    /// dispatch when it was the last one.
    func chordPartReturn(groupID: String, taskID: String, groupIndex: Int?, state: TaskState, result: JSONValue) async throws
        -> ChordPartOutcome
    /// Extends this worker's dispatch claim before publishing the body; `false` when lost.
    func extendChordClaim(groupID: String, token: String) async throws -> Bool
    /// Forgets the chord's counters and marks it done for late duplicates.
    func cleanUpChord(groupID: String, token: String) async throws
    /// Sets the header size when a chord is applied (`set_chord_size`).
    func setChordSize(groupID: String, size: Int) async throws
    /// One more header task to wait for (`add_to_chord`).
    func addToChord(groupID: String) async throws
    /// Drops the chord size so a late header copy does not fail the chord again.
    func dropChordSize(groupID: String) async throws

    /// Closes the connections; pending calls fail.
    func close()
}

/// The outcome of recording one header task of a chord (Celery's `on_chord_part_return`).
package enum ChordPartOutcome: Sendable {
    /// The chord was already dispatched: a late duplicate.
    case alreadyDone
    /// Recorded; other header tasks are still running (or another worker claimed dispatch).
    case waiting
    /// This worker claimed the dispatch: the header results in `group_index` order, as
    /// `[tid, state, result]`, and the claim token for `extendChordClaim` and `cleanUpChord`.
    case complete(results: [(taskID: String, state: TaskState, result: JSONValue)], token: String)
}

/// Notifications of the results stored for one task, from the moment the watch began.
package protocol ResultWatch: Sendable {
    /// Starts listening; a notification stored from now on is delivered to ``next(timeout:)``.
    func start() async throws
    /// Whether a notification arrived since ``start()`` (the stored document is then older).
    var hasDelivered: Bool { get }
    /// The next notification, or `nil` when `timeout` passed first.
    func next(timeout: Duration) async throws -> ResultNotification?
    /// Stops listening.
    func cancel()
}

/// What a ``ResultWatch`` saw.
package enum ResultNotification: Sendable {
    /// A document was stored for the task.
    case stored(TaskResultDocument)
    /// Notifications may have been lost (the subscription was restored): read the stored document.
    case lookAgain
}
