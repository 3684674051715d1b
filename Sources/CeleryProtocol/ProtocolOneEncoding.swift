public import CeleryJSON

extension TaskMessage {
    /// The headers of protocol 2 that protocol 1 carries in its body or not at all; the
    /// other headers (`apply_async(headers=...)`, `compression`) stay in the envelope.
    static let protocolTwoHeaderNames: Set<String> = [
        "lang", "task", "id", "shadow", "eta", "expires", "group", "group_index", "retries", "timelimit", "root_id",
        "parent_id", "argsrepr", "kwargsrepr", "origin", "ignore_result", "replaced_task_nesting", "stamped_headers", "stamps",
    ]

    /// The body and envelope headers of Celery 5.7's `as_task_v1` for this message: the body
    /// `{"task", "id", "args", "kwargs", "group", "group_index", "retries", "eta", "expires",
    /// "utc", "callbacks", "errbacks", "timelimit", "taskset", "chord"}` in that order, the
    /// headers only the custom ones. `shadow`, `root_id`, `parent_id` and stamps have no place
    /// in protocol 1 and are dropped, as Celery drops them. The rest of a chain (`embed.chain`)
    /// becomes nested `link` callbacks, as Celery links a chain's steps under protocol 1.
    public func protocolOneEnvelope() -> (body: [UInt8], headers: JSONObject) {
        let fields = headers.object
        var callbacks = embed["callbacks"] ?? .null
        if case .array(let steps)? = embed["chain"], let linked = Self.linked(steps) {
            callbacks = .array((callbacks.arrayValue ?? []) + [linked])
        }
        func field(_ key: String) -> JSONValue { fields[key] ?? .null }
        let body = JSONObject([
            ("task", field("task")), ("id", field("id")), ("args", .array(args)), ("kwargs", .object(kwargs)),
            ("group", field("group")), ("group_index", field("group_index")), ("retries", fields["retries"] ?? .integer(0)),
            ("eta", field("eta")), ("expires", field("expires")), ("utc", .bool(true)),
            ("callbacks", callbacks), ("errbacks", embed["errbacks"] ?? .null),
            ("timelimit", fields["timelimit"] ?? .array([.null, .null])), ("taskset", field("group")),
            ("chord", embed["chord"] ?? .null),
        ])
        var custom = JSONObject()
        for member in fields where !Self.protocolTwoHeaderNames.contains(member.key) {
            custom.appendUnchecked(key: member.key, value: member.value)
        }
        return (JSONValue.object(body).pythonJSONBytes(), custom)
    }

    /// Protocol 2's `chain` (next step last) as protocol 1's callbacks: the next step, whose
    /// `options.link` holds the step after it, and so on (Celery's `prev.link(next)`).
    static func linked(_ steps: [JSONValue]) -> JSONValue? {
        var next: JSONValue?
        for step in steps {
            guard case .object(var signature) = step else { continue }
            if let next {
                var options = signature["options"]?.objectValue ?? JSONObject()
                options["link"] = .array((options["link"]?.arrayValue ?? []) + [next])
                signature["options"] = .object(options)
            }
            next = .object(signature)
        }
        return next
    }
}
