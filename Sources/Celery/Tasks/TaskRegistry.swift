import Synchronization

/// The code a task runs: it gets the request and returns the task's JSON result, or throws
/// (a ``PythonException`` to choose the exception Python sees).
public typealias TaskHandler = @Sendable (TaskRequest) async throws -> JSONValue

/// Per-task settings, as Celery's task decorator options.
public struct TaskDefinitionOptions: Sendable {
    /// `ignore_result`: store nothing, whatever the message says.
    public var ignoreResult: Bool
    /// `acks_late`: acknowledge after the task ran instead of before.
    public var acksLate: Bool?

    /// Celery's defaults: results stored, ack before running (unless the worker says otherwise).
    public init(ignoreResult: Bool = false, acksLate: Bool? = nil) {
        self.ignoreResult = ignoreResult
        self.acksLate = acksLate
    }
}

/// A registered task: its name, options and handler.
public struct TaskDefinition: Sendable {
    /// The name messages call it by (`tasks.add`).
    public var name: String
    /// Its options.
    public var options: TaskDefinitionOptions
    /// Its code.
    public var handler: TaskHandler
}

/// The tasks a worker can run, by name.
public final class TaskRegistry: Sendable {
    private let definitions = Mutex<[String: TaskDefinition]>([:])

    /// An empty registry.
    public init() {}

    /// Registers `handler` under `name`. Registering a name twice is a programming error.
    public func register(_ name: String, options: TaskDefinitionOptions = TaskDefinitionOptions(), handler: @escaping TaskHandler) {
        definitions.withLock { definitions in
            precondition(definitions[name] == nil, "task '\(name)' is registered twice")
            definitions[name] = TaskDefinition(name: name, options: options, handler: handler)
        }
    }

    /// The task registered under `name`.
    public subscript(name: String) -> TaskDefinition? {
        definitions.withLock { $0[name] }
    }

    /// Every registered name, sorted.
    public var names: [String] {
        definitions.withLock { $0.keys.sorted() }
    }
}
