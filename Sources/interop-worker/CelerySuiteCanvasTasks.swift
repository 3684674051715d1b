#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Celery
import CeleryRedis
#if canImport(Glibc)
import Glibc
#endif

/// The tasks of Celery 5.7.0's `t/integration/tasks.py` that `test_canvas.py` and the
/// replace tests of `test_tasks.py` call, with the same behaviour as their Python definitions
/// (quoted above each).
extension CelerySuiteTasks {
    /// `get_redis_connection()`: the suite's Redis, from `REDIS_HOST` and `REDIS_PORT`.
    static let suiteRedis: RedisConnection? = {
        let environment = ProcessInfo.processInfo.environment
        let host = environment["REDIS_HOST"] ?? "localhost"
        let port = environment["REDIS_PORT"] ?? "6379"
        guard let endpoint = try? RedisEndpoint(url: "redis://\(host):\(port)/0") else { return nil }
        return RedisConnection(endpoint: endpoint, name: "t.integration.redis")
    }()

    static func redis(_ arguments: any RedisArgumentConvertible...) async throws {
        guard let redis = suiteRedis else { throw PythonException.runtimeError("no suite Redis") }
        _ = try await redis.send(RedisCommand(arguments.first as? String ?? "", arguments: Array(arguments.dropFirst()))).unwrapped(command: "suite redis")
    }

    /// What `redis.rpush(key, value)` stores for a JSON value: str as is, numbers as Python prints them.
    static func redisText(_ value: JSONValue) -> String {
        // bytes arrive as kombu's typed value; redis-py writes their raw content.
        if case .bytes(let bytes)? = value.kombuTypedValue { return String(decoding: bytes, as: UTF8.self) }
        return switch value {
        case .string(let text): text
        case .null: "None"
        default: PythonRepr.repr(value)
        }
    }

    static func sig(_ name: String, _ args: JSONValue..., kwargs: JSONObject = JSONObject()) -> Signature {
        Signature("\(module).\(name)", args: args, kwargs: kwargs)
    }

    static func registerCanvasSuite(in registry: TaskRegistry) {
        // def identity(x): return x
        registry.register("\(module).identity") { request in try request.bind(["x"])["x"]! }
        // def tsum(nums): return sum(nums)
        registry.register("\(module).tsum") { request in
            try PythonOperators.sum(try request.bind(["nums"])["nums"]!)
        }
        // def xsum(nums): return sum(sum(num) if isinstance(num, Iterable) else num for num in nums)
        registry.register("\(module).xsum") { request in
            let nums = try request.bind(["nums"])["nums"]!
            guard case .array(let items) = nums else { throw PythonException.typeError("'\(nums.pythonTypeName)' object is not iterable") }
            return try PythonOperators.sum(.array(try items.map { item in
                if case .array = item { return try PythonOperators.sum(item) }
                return item
            }))
        }
        // def redis_echo(message, redis_key="redis-echo"): rpush(redis_key, message)
        registry.register("\(module).redis_echo") { request in
            let arguments = try request.bind(["message", "redis_key"], defaults: ["redis_key": "redis-echo"])
            try await redis("RPUSH", redisText(arguments["redis_key"]!), redisText(arguments["message"]!))
            return nil
        }
        // def redis_echo_group_id(self, _, redis_key="redis-group-ids"): rpush(redis_key, self.request.group)
        registry.register("\(module).redis_echo_group_id") { request in
            let arguments = try request.bind(["_", "redis_key"], defaults: ["redis_key": "redis-group-ids"])
            try await redis("RPUSH", redisText(arguments["redis_key"]!), request.group ?? "None")
            return nil
        }
        // def redis_count(redis_key="redis-count"): incr(redis_key)
        registry.register("\(module).redis_count") { request in
            let key = try request.bind(["redis_key"], defaults: ["redis_key": "redis-count"])["redis_key"]!
            try await redis("INCR", redisText(key))
            return nil
        }
        // def errback_old_style(request_id): redis_count(request_id); return request_id
        registry.register("\(module).errback_old_style") { request in
            let id = try request.bind(["request_id"])["request_id"]!
            try await redis("INCR", redisText(id))
            return id
        }
        // def errback_old_style_with_args(request_id, label): redis_echo(label, redis_key=request_id)
        registry.register("\(module).errback_old_style_with_args") { request in
            let arguments = try request.bind(["request_id", "label"])
            try await redis("RPUSH", redisText(arguments["request_id"]!), redisText(arguments["label"]!))
            return nil
        }
        var newStyle = TaskDefinitionOptions()
        newStyle.errbackArguments = .requestExceptionTraceback
        // def errback_new_style(request, exc, tb): redis_count(request.id); return request.id
        registry.register("\(module).errback_new_style", options: newStyle) { request in
            let failed = try request.bind(["request", "exc", "tb"])["request"]!
            try await redis("INCR", redisText(failed["id"] ?? nil))
            return failed["id"] ?? nil
        }
        // def errback_new_style_with_args(request, exc, tb, label): redis_echo(label, redis_key=request.id)
        registry.register("\(module).errback_new_style_with_args", options: newStyle) { request in
            let arguments = try request.bind(["request", "exc", "tb", "label"])
            try await redis("RPUSH", redisText(arguments["request"]!["id"] ?? nil), redisText(arguments["label"]!))
            return nil
        }
        // def return_exception(e): return e, True
        registry.register("\(module).return_exception") { request in
            .array([try request.bind(["e"])["e"]!, true])
        }
        // def delayed_sum(numbers, pause_time=1): sleep(pause_time); return sum(numbers)
        registry.register("\(module).delayed_sum") { request in
            let arguments = try request.bind(["numbers", "pause_time"], defaults: ["pause_time": 1])
            try await Task.sleep(for: try InteropTasks.seconds(arguments["pause_time"]!))
            return try PythonOperators.sum(arguments["numbers"]!)
        }
        // def delayed_sum_with_soft_guard(numbers, pause_time=1): ... except SoftTimeLimitExceeded: return 0
        registry.register("\(module).delayed_sum_with_soft_guard") { request in
            let arguments = try request.bind(["numbers", "pause_time"], defaults: ["pause_time": 1])
            do {
                try await Task.sleep(for: try InteropTasks.seconds(arguments["pause_time"]!))
            } catch is CancellationError {
                return 0
            }
            return try PythonOperators.sum(arguments["numbers"]!)
        }
        // def collect_ids(self, res, i): return res, (self.request.root_id, self.request.parent_id, i)
        registry.register("\(module).collect_ids") { request in
            let arguments = try request.bind(["res", "i"])
            let ids: JSONValue = .array([request.rootID.map(JSONValue.string) ?? nil, request.parentID.map(JSONValue.string) ?? nil, arguments["i"]!])
            return .array([arguments["res"]!, ids])
        }
        // def sum_and_record(self, values, redis_key): rpush(redis_key, self.request.id); return sum(values)
        registry.register("\(module).sum_and_record") { request in
            let arguments = try request.bind(["values", "redis_key"])
            let total = try PythonOperators.sum(arguments["values"]!)
            try await redis("RPUSH", redisText(arguments["redis_key"]!), request.id)
            return total
        }
        // def write_to_file_and_return_int(file_name, i): append str(i) + '\n' to the file; return i
        registry.register("\(module).write_to_file_and_return_int") { request in
            let arguments = try request.bind(["file_name", "i"])
            guard let path = arguments["file_name"]!.stringValue else { throw PythonException.typeError("file_name must be str") }
            let line = Array((redisText(arguments["i"]!) + "\n").utf8)
            guard let file = fopen(path, "a") else { throw PythonException("FileNotFoundError", arguments: [.string(path)]) }
            defer { fclose(file) }
            _ = line.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            return arguments["i"]!
        }
        registerReplacingSuite(in: registry)
        registerSignatureSuite(in: registry)
    }

    /// The tasks that call `self.replace(...)` or `self.add_to_chord(...)`.
    static func registerReplacingSuite(in registry: TaskRegistry) {
        // def record_replaced_task_nesting(self, replacements, nesting=None): ...
        registry.register("\(module).record_replaced_task_nesting") { request in
            let arguments = try request.bind(["replacements", "nesting"], defaults: ["nesting": nil])
            var nesting = arguments["nesting"]!.arrayValue ?? []
            nesting.append(request.headers.object["replaced_task_nesting"] ?? 0)
            guard let replacements = arguments["replacements"]!.integerValue, replacements > 0 else { return .array(nesting) }
            var replacement = sig("record_replaced_task_nesting", .integer(replacements - 1), .array(nesting))
            replacement.options["reply_to"] = request.properties.object["reply_to"] ?? nil
            try await request.replace(with: replacement)
        }
        // def add_replaced(self, x, y): raise self.replace(add.s(x, y))
        registry.register("\(module).add_replaced") { request in
            let arguments = try request.bind(["x", "y"])
            try await request.replace(with: sig("add", arguments["x"]!, arguments["y"]!))
        }
        // def add_replaced_with_chain(self, x, y): raise self.replace(chain(add.s(x, y), identity.s()))
        registry.register("\(module).add_replaced_with_chain") { request in
            let arguments = try request.bind(["x", "y"])
            try await request.replace(with: .chain([sig("add", arguments["x"]!, arguments["y"]!), sig("identity")]))
        }
        // def fail_replaced(self, *args): raise self.replace(fail.si(*args))
        registry.register("\(module).fail_replaced") { request in
            try await request.replace(with: Signature("\(module).fail", args: request.args).immutableSignature())
        }
        // def add_to_all(self, nums, val): raise self.replace(group(*[add.s(num, val) for num in nums]))
        registry.register("\(module).add_to_all") { request in
            let arguments = try request.bind(["nums", "val"])
            let members = (arguments["nums"]!.arrayValue ?? []).map { sig("add", $0, arguments["val"]!) }
            try await request.replace(with: .group(members))
        }
        // def replace_with_chain(self, *args, link_msg=None):
        //     c = chain(identity.s(*args), identity.s()); link redis_echo (immutable with link_msg); self.replace(c)
        registry.register("\(module).replace_with_chain") { request in
            try await request.replace(with: replacementChain(request, second: sig("identity"), linkError: false))
        }
        // def replace_with_chain_which_raises(self, *args, link_msg=None): the same with raise_error and link_error
        registry.register("\(module).replace_with_chain_which_raises") { request in
            try await request.replace(with: replacementChain(request, second: sig("raise_error"), linkError: true))
        }
        // def replace_with_empty_chain(self, *_): return self.replace(chain())
        registry.register("\(module).replace_with_empty_chain") { request in
            try await request.replace(with: .chain([]))
        }
        // def replace_with_chain_which_contains_a_group(self): self.replace(chain(add.s(1, 2), group(add.s(1), add.s(1))))
        registry.register("\(module).replace_with_chain_which_contains_a_group") { request in
            try await request.replace(with: .chain([sig("add", 1, 2), .group([sig("add", 1), sig("add", 1)])]))
        }
        // second_order_replace1/2: push 'In A'/'In B', replace with a chain ending in the state=True call, push 'Out ...'
        for (name, letter, inner) in [("second_order_replace1", "A", "second_order_replace2"), ("second_order_replace2", "B", "")] {
            registry.register("\(module).\(name)") { request in
                let state = try request.bind(["state"], defaults: ["state": false])["state"]!
                guard state.isPythonTruthy else {
                    try await redis("RPUSH", "redis-echo", "In \(letter)")
                    let first = inner.isEmpty ? sig("redis_echo", "In/Out C") : sig(inner)
                    try await request.replace(with: .chain([first, sig(name, kwargs: ["state": true]).immutableSignature()]))
                }
                try await redis("RPUSH", "redis-echo", "Out \(letter)")
                return nil
            }
        }
        // def add_to_all_to_chord(self, nums, val): for num in nums: self.add_to_chord(add.s(num, val)); return 0
        registry.register("\(module).add_to_all_to_chord") { request in
            let arguments = try request.bind(["nums", "val"])
            for num in arguments["nums"]!.arrayValue ?? [] { try await request.addToChord(sig("add", num, arguments["val"]!)) }
            return 0
        }
        // def add_chord_to_chord(self, nums, val): self.add_to_chord(group(add.s(num, val) ...) | tsum.s()); return 0
        registry.register("\(module).add_chord_to_chord") { request in
            let arguments = try request.bind(["nums", "val"])
            let members = (arguments["nums"]!.arrayValue ?? []).map { sig("add", $0, arguments["val"]!) }
            try await request.addToChord(.chord(members, body: sig("tsum")))
            return 0
        }
        // def chord_add(x, y): chord(add.s(x, x), add.s(y)).apply_async()
        registry.register("\(module).chord_add") { request in
            let arguments = try request.bind(["x", "y"])
            try await request.apply(.chord([sig("add", arguments["x"]!, arguments["x"]!)], body: sig("add", arguments["y"]!)))
            return nil
        }
        // def chain_add(x, y): (add.s(x, x) | add.s(y)).apply_async()
        registry.register("\(module).chain_add") { request in
            let arguments = try request.bind(["x", "y"])
            try await request.apply(.chain([sig("add", arguments["x"]!, arguments["x"]!), sig("add", arguments["y"]!)]))
            return nil
        }
        // def build_chain_inside_task(self): result = (add.s(1, 1) | add.s(2) | group(add.s(3), add.s(4)) | add.s(5))()
        //     return result   (stored as the AsyncResult's as_tuple(), parents included)
        registry.register("\(module).build_chain_inside_task") { request in
            // Frozen up front, as Python's chain freezes every step before publishing.
            let ids = (0..<6).map { _ in UUID().uuidString.lowercased() }
            func frozen(_ signature: Signature, _ id: String) -> Signature { signature.setting(["task_id": .string(id)]) }
            let group = Signature.group(
                [frozen(sig("add", 3), ids[3]), frozen(sig("add", 4), ids[4])], options: ["task_id": .string(ids[2])])
            try await request.apply(.chain([frozen(sig("add", 1, 1), ids[0]), frozen(sig("add", 2), ids[1]), group, frozen(sig("add", 5), ids[5])]))
            func tuple(_ id: String, parent: JSONValue = nil) -> JSONValue { .array([.array([.string(id), parent]), nil]) }
            let groupTuple: JSONValue = .array([
                .array([.string(ids[2]), tuple(ids[1], parent: tuple(ids[0]))]), .array([tuple(ids[3]), tuple(ids[4])]),
            ])
            return .array([.array([.string(ids[5]), groupTuple]), nil])
        }
    }

    /// `chain(identity.s(*args), second)` with `redis_echo` linked (as callback or errback).
    static func replacementChain(_ request: TaskRequest, second: Signature, linkError: Bool) throws -> Signature {
        var echo = sig("redis_echo")
        if let message = request.kwargs["link_msg"], !message.isNull {
            echo = Signature(echo.task, args: [message]).immutableSignature()
        }
        let chain = Signature.chain([Signature("\(module).identity", args: request.args), second])
        return linkError ? chain.linkingError(echo) : chain.linking(echo)
    }

    /// `rebuild_signature` and the `return_nested_signature_*` tasks it rebuilds.
    static func registerSignatureSuite(in registry: TaskRegistry) {
        // def rebuild_signature(sig_dict): Signature.from_dict(sig_dict), every nested signature checked
        registry.register("\(module).rebuild_signature") { request in
            func check(_ value: JSONValue) throws {
                guard let signature = Signature(json: value) else {
                    throw PythonException.typeError("\(PythonRepr.repr(value, limit: 200)) is not a signature object")
                }
                switch signature.subtaskType {
                case "chain", "group": for task in signature.kwargs["tasks"]?.arrayValue ?? [] { try check(task) }
                case "chord":
                    let header = signature.kwargs["header"]
                    for task in header?.arrayValue ?? header?["kwargs"]?["tasks"]?.arrayValue ?? [] { try check(task) }
                    try check(signature.kwargs["body"] ?? nil)
                default: break
                }
            }
            try check(try request.bind(["sig_dict"])["sig_dict"]!)
            return nil
        }
        // def return_nested_signature_<outer>_<inner>(): return <outer>(<inner>([add.s()]))
        let add = sig("add")
        let kinds: [(String, @Sendable ([Signature]) -> Signature)] = [
            ("chain", { Signature.chain($0) }), ("group", { Signature.group($0) }),
            ("chord", { Signature.chord($0, body: add) }),
        ]
        for (outerName, outer) in kinds {
            for (innerName, inner) in kinds {
                registry.register("\(module).return_nested_signature_\(outerName)_\(innerName)") { _ in
                    outer([inner([add])]).jsonValue
                }
            }
        }
    }
}
