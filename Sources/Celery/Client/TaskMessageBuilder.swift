#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Builds task messages exactly as Celery 5.7's `apply_async` writes them; shared by the
/// client and by the worker when it publishes callbacks, chain steps and chord bodies.
struct TaskMessageBuilder: Sendable {
    /// `gen<pid>@<host>`: the publisher, as Celery's `origin` header names it.
    var origin = "gen\(ProcessInfo.processInfo.processIdentifier)@\(ProcessInfo.processInfo.hostName)"
    /// The `reply_to` property (Celery's per-app `oid`).
    var replyTo = RandomUUID.string()
    /// The queue for options that name none.
    var defaultQueue: String
    /// `task_routes`, consulted before ``defaultQueue``.
    var routes: [TaskRoute] = []
    /// `task_compression`, as a content type: the compression of messages whose options name none.
    var compression: String?
    /// `task_protocol`: 2, or 1 for Celery's `as_task_v1` form.
    var taskProtocol = 2

    /// A builder with the configuration's queue, routes, compression and protocol.
    init(configuration: CeleryConfiguration) {
        defaultQueue = configuration.defaultQueue
        routes = configuration.taskRoutes
        compression = configuration.taskCompression
        taskProtocol = configuration.taskProtocol
    }

    /// A builder for `defaultQueue` and `routes`, sending uncompressed protocol-2 messages.
    init(defaultQueue: String, routes: [TaskRoute] = []) {
        self.defaultQueue = defaultQueue
        self.routes = routes
    }

    /// `options` with the queue `task_routes` gives `task` when they name no queue nor exchange.
    func routed(_ options: TaskOptions, task: String) -> TaskOptions {
        guard options.queue == nil, options.exchange == nil, let route = routes.first(where: { $0.matches(task) }) else { return options }
        var routed = options
        routed.queue = route.queue
        return routed
    }

    func message(_ name: String, args: [JSONValue], kwargs: JSONObject, options: TaskOptions) -> TaskMessage {
        let now = Date()
        let id = options.taskID ?? RandomUUID.string()
        let eta = options.eta ?? options.countdown.map { now.addingTimeInterval($0.timeInterval) }
        let expires = options.expires ?? options.expiresIn.map { now.addingTimeInterval($0.timeInterval) }
        var headers = TaskHeaders(
            task: name, id: id, shadow: options.shadow, eta: eta.map { CeleryTime.isoformat($0) },
            expires: expires.map { CeleryTime.isoformat($0) }, group: options.groupID, groupIndex: options.groupIndex,
            timeLimit: (options.timeLimit?.timeInterval, options.softTimeLimit?.timeInterval),
            rootID: options.rootID, parentID: options.parentID,
            argsrepr: PythonRepr.tupleRepr(args), kwargsrepr: PythonRepr.dictRepr(kwargs), origin: origin,
            ignoreResult: options.ignoreResult)
        for (key, value) in options.headers { headers.object[key] = value }
        // kombu adds `compression` after every other header; an unknown name was refused by
        // the client (``CeleryClient/send(_:args:kwargs:options:)``) before it got here.
        if let name = options.compression ?? compression, let contentType = ResultPayload.compressionContentType(named: name) {
            headers.compression = contentType
        }
        let expiration = expires.map { String(max(0, Int(min(($0.timeIntervalSince(now) * 1000).rounded(.down), 1e15)))) }
        let properties = MessageProperties(
            correlationID: id, replyTo: options.replyTo ?? replyTo,
            routingKey: options.routedByExchange ? (options.routingKey ?? "") : (options.queue ?? defaultQueue),
            exchange: options.routedByExchange ? options.exchange! : "",
            priority: options.priority, deliveryTag: RandomUUID.string(), expiration: expiration)
        let embed = JSONObject([
            ("callbacks", options.link.isEmpty ? .null : .array(options.link.map(\.jsonValue))),
            ("errbacks", options.linkError.isEmpty ? .null : .array(options.linkError.map(\.jsonValue))),
            ("chain", options.chain.map { .array($0.map(\.jsonValue)) } ?? .null),
            ("chord", options.chord?.jsonValue ?? .null),
        ])
        var message = TaskMessage(headers: headers, properties: properties, args: args, kwargs: kwargs, embed: embed)
        message.encodingProtocol = taskProtocol
        return message
    }
}

extension TaskOptions {
    /// Whether the message is routed through an exchange's bindings rather than to a queue by name.
    package var routedByExchange: Bool {
        if let exchange, !exchange.isEmpty, queue == nil { return true }
        return false
    }

    /// The options a serialized signature carries (`options` in Celery's names), as the
    /// worker publishes callbacks and chain steps with them.
    init(signatureOptions options: JSONObject) {
        self.init()
        taskID = options["task_id"]?.stringValue
        queue = options["queue"]?.stringValue
        if let exchange = options["exchange"]?.stringValue, !exchange.isEmpty, queue == nil {
            self.exchange = exchange
            routingKey = options["routing_key"]?.stringValue
        } else if queue == nil {
            queue = options["routing_key"]?.stringValue
        }
        if let countdown = options["countdown"]?.doubleValue { self.countdown = .fromSeconds(countdown) }
        if let eta = options["eta"]?.stringValue.flatMap(CeleryTime.parse) { self.eta = eta.date }
        if let expires = options["expires"] {
            if let seconds = expires.doubleValue {
                expiresIn = .fromSeconds(seconds)
            } else if let date = expires.stringValue.flatMap(CeleryTime.parse) {
                self.expires = date.date
            }
        }
        priority = options["priority"]?.integerValue.map { Int($0) } ?? 0
        groupID = options["group_id"]?.stringValue
        groupIndex = options["group_index"]?.integerValue.map { Int($0) }
        link = Self.signatures(options["link"])
        linkError = Self.signatures(options["link_error"])
        chord = options["chord"].flatMap(Signature.init(json:))
        // A chord body (or a frozen step) carries the rest of its chain here, next step last.
        if case .array(let steps)? = options["chain"] { chain = steps.compactMap(Signature.init(json:)) }
        replyTo = options["reply_to"]?.stringValue
        shadow = options["shadow"]?.stringValue
        timeLimit = .timeLimit(seconds: options["time_limit"]?.doubleValue)
        softTimeLimit = .timeLimit(seconds: options["soft_time_limit"]?.doubleValue)
        ignoreResult = options["ignore_result"]?.boolValue ?? false
        if case .object(let headers)? = options["headers"] { self.headers = headers }
        if let nesting = options["replaced_task_nesting"], !nesting.isNull { headers["replaced_task_nesting"] = nesting }
        compression = options["compression"]?.stringValue
    }

    /// One signature or a list of them, as `link`/`link_error` may hold either.
    static func signatures(_ value: JSONValue?) -> [Signature] {
        switch value {
        case .array(let items)?: return items.compactMap(Signature.init(json:))
        case let single?: return Signature(json: single).map { [$0] } ?? []
        case nil: return []
        }
    }
}
