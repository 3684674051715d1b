/// The `celery.*` tasks every Celery worker has (`celery/app/builtins.py`) that canvas sends:
/// `celery.accumulate` (a replaced group's results), `celery.map` and `celery.starmap` (call a
/// task in-process once per item), `celery.chunks` (a group of starmaps) and `celery.group`
/// (the old way of applying a group). `celery.chord_unlock` is not needed with the Redis
/// backend's native chords; `celery.chain` and `celery.chord` are never sent as tasks.
enum BuiltinTasks {
    /// Adds the built-in tasks to `registry`, leaving any a program registered itself.
    static func register(in registry: TaskRegistry) {
        let builtins: [(String, TaskHandler)] = [
            ("celery.accumulate", accumulate), ("celery.map", map), ("celery.starmap", starmap),
            ("celery.chunks", chunks), ("celery.group", group),
        ]
        for (name, handler) in builtins where registry[name] == nil {
            registry.register(name, handler: handler)
        }
    }

    /// `accumulate(*args, index=None)`: `args[index]`, or all the arguments.
    static let accumulate: TaskHandler = { request in
        guard let index = request.kwargs["index"], !index.isNull else { return .array(request.args) }
        let count = request.args.count
        guard let position = index.integerValue.flatMap({ Int(exactly: $0) }), (-count..<count).contains(position) else {
            throw PythonException("IndexError", arguments: ["tuple index out of range"])
        }
        return request.args[position < 0 ? count + position : position]
    }

    /// `xmap(task, it)`: `[task(item) for item in it]`, in this process.
    static let map: TaskHandler = { request in
        let (task, items) = try mapArguments(request)
        var results: [JSONValue] = []
        for item in items { results.append(try await request.call(task.task, args: [item], kwargs: task.kwargs)) }
        return .array(results)
    }

    /// `xstarmap(task, it)`: `[task(*item) for item in it]`, in this process.
    static let starmap: TaskHandler = { request in
        let (task, items) = try mapArguments(request)
        var results: [JSONValue] = []
        for item in items {
            guard case .array(let arguments) = item else {
                throw PythonException.typeError("\(task.task)() argument after * must be an iterable, not \(item.pythonTypeName)")
            }
            results.append(try await request.call(task.task, args: arguments, kwargs: task.kwargs))
        }
        return .array(results)
    }

    /// `chunks(task, it, n)`: a group of `celery.starmap` tasks over `it` in parts of `n`;
    /// returns the group's result as Celery stores a `GroupResult` (`as_tuple()`).
    static let chunks: TaskHandler = { request in
        let arguments = try request.bind(["task", "it", "n"])
        guard let task = Signature(json: arguments["task"]!) else { throw PythonException.typeError("chunks: task is not a signature") }
        guard case .array(let items) = arguments["it"]!, let size = arguments["n"]!.integerValue, size > 0 else {
            throw PythonException.typeError("chunks: it must be a list and n a positive integer")
        }
        let parts = stride(from: 0, to: items.count, by: Int(size)).map { Array(items[$0..<min($0 + Int(size), items.count)]) }
        let members = parts.map { part in
            Signature("celery.starmap", kwargs: ["task": task.jsonValue, "it": .array(part)], options: task.options)
        }
        guard let services = request.services else { throw PythonException.runtimeError("celery.chunks runs only in a worker") }
        let applied = try await services.publisher.apply(.group(members), origin: CanvasDispatch.origin(of: request.message))
        return groupTuple(applied.id, memberIDs: applied.memberIDs)
    }

    /// `group(tasks, result, group_id, partial_args)`: applies each task with the group id.
    static let group: TaskHandler = { request in
        let arguments = try request.bind(["tasks", "result", "group_id", "partial_args", "add_to_parent"], defaults: ["add_to_parent": true])
        let tasks = (arguments["tasks"]!.arrayValue ?? []).compactMap(Signature.init(json:))
        let partial = arguments["partial_args"]!.arrayValue ?? []
        var options = JSONObject()
        if let groupID = arguments["group_id"]!.stringValue { options["task_id"] = .string(groupID) }
        _ = try await request.apply(.group(tasks, options: options), args: partial)
        return arguments["result"]!
    }

    private static func mapArguments(_ request: TaskRequest) throws -> (Signature, [JSONValue]) {
        let arguments = try request.bind(["task", "it"])
        guard let task = Signature(json: arguments["task"]!) else {
            throw PythonException.typeError("\(request.name): task is not a signature: \(PythonRepr.repr(arguments["task"]!, limit: 200))")
        }
        guard case .array(let items) = arguments["it"]! else {
            throw PythonException.typeError("'\(arguments["it"]!.pythonTypeName)' object is not iterable")
        }
        return (task, items)
    }

    /// `GroupResult.as_tuple()`.
    static func groupTuple(_ groupID: String, memberIDs: [String]) -> JSONValue {
        .array([.array([.string(groupID), .null]), .array(memberIDs.map { .array([.array([.string($0), .null]), .null]) })])
    }
}
