public import Celery
import Synchronization

/// A result backend in this process with the Redis backend's semantics, for unit tests: a
/// stored SUCCESS is final, waiters are notified of every state stored, groups are saved and
/// restored, and chord header results are counted as Celery's Redis chord scripts count them.
///
/// Documents are kept as the JSON the Redis backend writes and read back through the same
/// decoder, so a result that would not survive Redis does not survive here either.
public final class InMemoryResultStore: ResultStore, Sendable {
    private struct State {
        var results: [String: [UInt8]] = [:]
        var groups: [String: [JSONValue]] = [:]
        var chords: [String: Chord] = [:]
        var watches: [String: [UInt64: Mailbox]] = [:]
        var nextWatch: UInt64 = 0
        var closed = false
    }

    /// The counters of Celery's Redis chord: results by group index (`.j`), the header size
    /// (`.s`), tasks added by `add_to_chord` (`.t`), members seen (`.d`) and the claim (`.c`).
    private struct Chord {
        var results: [(score: Double, taskID: String, state: TaskState, result: JSONValue)] = []
        var seen: Set<String> = []
        var size: Int?
        var added = 0
        var claim: String?
        var done = false
    }

    fileprivate struct Mailbox {
        var documents: [TaskResultDocument] = []
    }

    private let state = Mutex(State())
    fileprivate let stored = WakeSignal()

    /// An empty store.
    public init() {}

    package var location: String { "memory://" }
    package var preferredExecutor: (any TaskExecutor)? { nil }

    /// The ids of the tasks with a stored result.
    public var storedTaskIDs: [String] { state.withLock { Array($0.results.keys) } }

    @discardableResult
    package func store(_ document: TaskResultDocument) async throws -> Bool {
        let body = document.jsonBytes()
        let decoded = try Self.decode(body)
        let written = try state.withLock { state -> Bool in
            if state.closed { throw InMemoryTransportError.closed }
            if let existing = state.results[document.taskID], (try? Self.decode(existing))?.status == .success { return false }
            state.results[document.taskID] = body
            for token in (state.watches[document.taskID] ?? [:]).keys {
                state.watches[document.taskID]?[token]?.documents.append(decoded)
            }
            return true
        }
        if written { stored.signal() }
        return written
    }

    package func storeAll(_ documents: [TaskResultDocument]) async throws {
        for document in documents { try await store(document) }
    }

    package func get(taskID: String) async throws -> TaskResultDocument? {
        let body = try state.withLock { state -> [UInt8]? in
            if state.closed { throw InMemoryTransportError.closed }
            return state.results[taskID]
        }
        return try body.map(Self.decode)
    }

    package func states(taskIDs: [String]) async throws -> [TaskState?] {
        var states: [TaskState?] = []
        for id in taskIDs { states.append((try? await get(taskID: id))??.status) }
        return states
    }

    package func forget(taskID: String) async throws {
        _ = state.withLock { $0.results.removeValue(forKey: taskID) }
    }

    package func watch(taskID: String) -> any ResultWatch {
        let token = state.withLock { state -> UInt64 in
            state.nextWatch &+= 1
            state.watches[taskID, default: [:]][state.nextWatch] = Mailbox()
            return state.nextWatch
        }
        return Watch(store: self, taskID: taskID, token: token)
    }

    /// Takes the oldest document delivered to watch `token` of `taskID`.
    fileprivate func take(taskID: String, token: UInt64) -> TaskResultDocument? {
        state.withLock { state in
            guard var box = state.watches[taskID]?[token], !box.documents.isEmpty else { return nil }
            let document = box.documents.removeFirst()
            state.watches[taskID]?[token] = box
            return document
        }
    }

    fileprivate func hasDelivered(taskID: String, token: UInt64) -> Bool {
        state.withLock { !($0.watches[taskID]?[token]?.documents.isEmpty ?? true) }
    }

    fileprivate func endWatch(taskID: String, token: UInt64) {
        state.withLock { state in
            state.watches[taskID]?[token] = nil
            if state.watches[taskID]?.isEmpty == true { state.watches[taskID] = nil }
        }
    }

    package func saveGroup(groupID: String, memberIDs: [String]) async throws {
        let members: [JSONValue] = memberIDs.map { .array([.array([.string($0), .null]), .null]) }
        state.withLock { $0.groups[groupID] = members }
    }

    package func saveChordHeader(groupID: String, resultTuples: [JSONValue]) async throws {
        state.withLock { $0.groups[groupID] = resultTuples }
    }

    package func restoreGroupTuples(groupID: String) async throws -> [JSONValue]? {
        state.withLock { $0.groups[groupID] }
    }

    package func restoreGroup(groupID: String) async throws -> [String]? {
        state.withLock { $0.groups[groupID] }?.compactMap { $0.arrayValue?.first?.arrayValue?.first?.stringValue }
    }

    package func chordPartReturn(groupID: String, taskID: String, groupIndex: Int?, state taskState: TaskState, result: JSONValue)
        async throws -> ChordPartOutcome
    {
        state.withLock { state in
            var chord = state.chords[groupID] ?? Chord()
            defer { state.chords[groupID] = chord }
            if chord.done { return .alreadyDone }
            let score = groupIndex.map(Double.init) ?? .infinity
            let member = "\(taskID):\(score)"
            if chord.seen.insert(member).inserted {
                chord.results.append((score, taskID, taskState, result))
            }
            guard let size = chord.size, chord.results.count == size + chord.added, chord.claim == nil else { return .waiting }
            let token = String(UInt64.random(in: 0...UInt64.max), radix: 16)
            chord.claim = token
            let ordered = chord.results.enumerated().sorted { ($0.element.score, $0.offset) < ($1.element.score, $1.offset) }
            return .complete(results: ordered.map { ($0.element.taskID, $0.element.state, $0.element.result) }, token: token)
        }
    }

    package func extendChordClaim(groupID: String, token: String) async throws -> Bool {
        state.withLock { $0.chords[groupID]?.claim == token }
    }

    package func cleanUpChord(groupID: String, token: String) async throws {
        state.withLock { state in
            guard state.chords[groupID]?.claim == token else { return }
            var finished = Chord()
            finished.done = true
            state.chords[groupID] = finished
        }
    }

    package func setChordSize(groupID: String, size: Int) async throws {
        state.withLock { state in
            var chord = state.chords[groupID] ?? Chord()
            chord.claim = nil
            chord.done = false
            chord.size = size
            state.chords[groupID] = chord
        }
    }

    package func addToChord(groupID: String) async throws {
        state.withLock { $0.chords[groupID, default: Chord()].added += 1 }
    }

    package func dropChordSize(groupID: String) async throws {
        state.withLock { $0.chords[groupID]?.size = nil }
    }

    package func close() {
        state.withLock { $0.closed = true }
        stored.signal()
    }

    private static func decode(_ bytes: [UInt8]) throws -> TaskResultDocument {
        try TaskResultDocument(json: JSONValue(parsing: bytes))
    }
}

/// A wait on one task's results in an ``InMemoryResultStore``.
private struct Watch: ResultWatch {
    let store: InMemoryResultStore
    let taskID: String
    let token: UInt64

    func start() async throws {}

    var hasDelivered: Bool { store.hasDelivered(taskID: taskID, token: token) }

    func next(timeout: Duration) async throws -> ResultNotification? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let generation = store.stored.generation
            if let document = store.take(taskID: taskID, token: token) { return .stored(document) }
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero, !Task.isCancelled else { return nil }
            await store.stored.wait(after: generation, timeout: remaining)
        }
    }

    func cancel() { store.endWatch(taskID: taskID, token: token) }
}
