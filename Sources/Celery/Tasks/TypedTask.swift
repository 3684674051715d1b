/// A task declared once with typed parameters and return value, for the worker that runs it
/// (`registry.register(task) { ... }`) and the client that calls
/// it (``CeleryClient/delay(_:_:)``):
///
/// ```swift
/// let add = TypedTask<Int, Int, Int>("tasks.add", parameters: "x", "y")   // (x: Int, y: Int) -> Int
///
/// registry.register(add) { request, x, y in x + y }
/// let sum: Int = try await client.delay(add, 2, 3).get()
/// ```
///
/// Python calls it as it calls any task: `add.delay(2, 3)`, `add.delay(x=2, y=3)` or
/// `add.delay(2, y=3)`; arguments are matched to the parameter names by position and by
/// name, as Python binds them. An `Optional` parameter may be left out (it gets `nil`, or its
/// entry in `defaults`). Wrong arity or types fail the task with Python's `TypeError`, as
/// Celery reports wrong arguments. See `JSONValueDecoder` for the type mapping.
public struct TypedTask<each Parameter: Codable & Sendable, Result: Codable & Sendable>: Sendable {
    /// The task name.
    public let name: String
    /// The parameter names, in positional order.
    public let parameters: [String]
    /// Values for parameters a caller may leave out.
    public let defaults: [String: JSONValue]

    /// Declares the task `name` whose parameters are called `parameters`, in order.
    public init(_ name: String, parameters: String..., defaults: [String: JSONValue] = [:]) {
        var count = 0
        for _ in repeat (each Parameter).self { count += 1 }
        precondition(parameters.count == count, "\(name): \(parameters.count) parameter names for \(count) parameter types")
        self.name = name
        self.parameters = parameters
        self.defaults = defaults
    }

    /// The arguments as positional JSON, for publishing.
    func encode(_ arguments: repeat each Parameter) throws -> [JSONValue] {
        let encoder = JSONValueEncoder()
        var values: [JSONValue] = []
        for argument in repeat each arguments { values.append(try encoder.encode(argument)) }
        return values
    }

    /// Binds a request's arguments to the parameters and decodes each.
    func decode(_ request: TaskRequest) throws -> (repeat each Parameter) {
        var defaults = self.defaults
        for name in parameters where defaults[name] == nil { defaults[name] = .null }
        let bound = try request.bind(parameters, defaults: defaults)
        let given = Set(request.kwargs.keys).union(parameters.prefix(request.args.count))
        let decoder = JSONValueDecoder()
        var index = 0
        func next<T: Decodable>(_ type: T.Type) throws -> T {
            let name = parameters[index]
            index += 1
            let value = bound[name] ?? .null
            do {
                return try decoder.decode(T.self, from: value)
            } catch {
                if !given.contains(name), self.defaults[name] == nil {
                    // Left out and not optional: Python's missing-argument TypeError.
                    throw PythonException.typeError("\(request.functionName)() missing 1 required positional argument: '\(name)'")
                }
                throw PythonException.typeError(
                    "\(request.functionName)() argument '\(name)' must be \(Self.pythonName(of: T.self)), not \(value.pythonTypeName)")
            }
        }
        return (repeat try next((each Parameter).self))
    }

    static func pythonName(of type: Any.Type) -> String {
        switch type {
        case is any BinaryInteger.Type: "int"
        case is Double.Type, is Float.Type: "float"
        case is String.Type: "str"
        case is Bool.Type: "bool"
        default: String(describing: type)
        }
    }
}

/// The typed result of a ``TypedTask`` call.
public struct TypedAsyncResult<Value: Decodable & Sendable>: Sendable {
    /// The untyped result (state, document, forget, ...).
    public let result: AsyncResult

    /// The task id.
    public var id: String { result.id }

    /// Waits for the task and decodes its return value.
    ///
    /// - Throws: ``TaskFailedError`` when it failed, ``CeleryError`` on timeout, or with code
    ///   `invalidResult` when the value is not a `Value`.
    public func get(timeout: Duration = .seconds(60)) async throws -> Value {
        let value = try await result.get(timeout: timeout)
        do {
            return try JSONValueDecoder().decode(Value.self, from: value)
        } catch {
            throw CeleryError(code: .invalidResult, message: "task \(id) returned \(PythonRepr.repr(value, limit: 200)), not a \(Value.self): \(error)")
        }
    }
}

extension TaskRegistry {
    /// Registers the code of a typed task: the arguments are bound and decoded before `body`
    /// runs, and its return value is encoded as the task's result.
    public func register<each Parameter, Result>(
        _ task: TypedTask<repeat each Parameter, Result>, options: TaskDefinitionOptions = TaskDefinitionOptions(),
        _ body: @escaping @Sendable (TaskRequest, repeat each Parameter) async throws -> Result
    ) {
        register(task.name, options: options) { request in
            let arguments = try task.decode(request)
            let value = try await body(request, repeat each arguments)
            return try JSONValueEncoder().encode(value)
        }
    }
}

extension CeleryClient {
    /// Publishes a typed task with type-checked arguments, as Python's `task.delay(...)`.
    @discardableResult
    public func delay<each Parameter, Result>(
        _ task: TypedTask<repeat each Parameter, Result>, _ arguments: repeat each Parameter
    ) async throws -> TypedAsyncResult<Result> {
        try await applyAsync(task, repeat each arguments, options: TaskOptions())
    }

    /// Publishes a typed task with `apply_async` options.
    @discardableResult
    public func applyAsync<each Parameter, Result>(
        _ task: TypedTask<repeat each Parameter, Result>, _ arguments: repeat each Parameter, options: TaskOptions
    ) async throws -> TypedAsyncResult<Result> {
        let encoded: [JSONValue]
        do {
            encoded = try task.encode(repeat each arguments)
        } catch {
            throw CeleryError(code: .invalidConfiguration, message: "cannot encode the arguments of \(task.name): \(error)")
        }
        return TypedAsyncResult(result: try await send(task.name, args: encoded, options: options))
    }
}
