#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
internal import CeleryRedis
import CeleryJSON
import CeleryProtocol
import Logging
import Synchronization

/// Celery's remote control (kombu's pidbox) for the Swift worker: `celery inspect ...`,
/// `celery control ...`, Flower and `app.control` reach it as they reach a Python worker.
///
/// Requests arrive on the `celery.pidbox` fanout exchange (`PSUBSCRIBE /<db>.celery.pidbox`);
/// replies go to the caller's `<oid>.reply.celery.pidbox` list, found through the
/// `reply.celery.pidbox` bindings, with the caller's `ticket`.
extension CeleryWorker {
    /// Listens for control requests until the worker stops.
    func runRemoteControl() async {
        let exchange = "celery.pidbox"
        // Requests are handled one at a time, in the order they arrive (a revoke before the
        // inspect that lists it), off the subscriber's thread. Those waiting are bounded by
        // their size; one arriving past the bound is dropped and counted, and the count logged.
        let (requests, continuation) = AsyncStream.makeStream(of: [UInt8].self)
        let backlog = ControlBacklog()
        let onRequest: @Sendable ([UInt8]) -> Void = { payload in
            if backlog.admit(payload.count) { continuation.yield(payload) }
        }
        let subscription: any FanoutSubscription
        defer { continuation.finish() }
        // While the broker is unreachable the subscription keeps being retried (the worker may
        // start before Redis does); the first failure is logged.
        var failures = 0
        while true {
            do {
                subscription = try await broker.subscribeFanout(exchange: exchange, onMessage: onRequest)
                if failures > 0 { logger.info("Remote control: subscribed to \(exchange)") }
                break
            } catch let error as any TransportError where !error.isClosed && !stopping.isStopped {
                failures += 1
                if failures == 1 { logger.error("Remote control: cannot subscribe to \(exchange) yet: \(error); retrying") }
                try? await Task.sleep(for: .milliseconds(500))
            } catch {
                logger.error("Remote control unavailable: cannot subscribe to \(exchange): \(error)")
                return
            }
        }
        defer { subscription.cancel() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await payload in requests {
                    await self.handleControlRequest(payload)
                    backlog.release(payload.count)
                    let dropped = backlog.takeDropped()
                    if dropped > 0 {
                        self.logger.error(
                            "Remote control: dropped \(dropped) request(s) that arrived while \(ControlBacklog.limit >> 20) MiB of requests were waiting to be handled")
                    }
                }
            }
            group.addTask {
                while await !self.stopping.sleep(for: .seconds(3600)) {}
                continuation.finish()
            }
        }
    }

    private func handleControlRequest(_ payload: [UInt8]) async {
        guard case .object(let envelope)? = try? JSONValue(parsing: payload), case .string(let encodedBody)? = envelope["body"],
            let bodyBytes = Base64.decode(Array(encodedBody.utf8)), case .object(let body)? = try? JSONValue(parsing: bodyBytes),
            let method = body["method"]?.stringValue
        else {
            logger.debug("Ignoring a malformed remote-control message")
            return
        }
        let headers = envelope["headers"]?.objectValue ?? JSONObject()
        if let clock = headers["clock"]?.integerValue { state.observe(clock: Int(clock)) }
        // kombu: a falsy `expires` (0, null) means the request never expires. An expired query
        // is skipped (its caller has stopped listening); a command that changes the worker is
        // applied however late, as a Python worker applies it (kombu's pidbox never looks at
        // `expires` on the worker's side): skipping them dropped most of a revoke flood.
        if Self.queries.contains(method), let expires = headers["expires"]?.doubleValue, expires > 0,
            expires < Date().timeIntervalSince1970
        {
            logger.debug("Remote control: skipping \(method), expired before it was handled")
            return
        }
        if case .array(let destinations)? = body["destination"],
            !destinations.contains(where: { $0.stringValue == workerConfiguration.hostname })
        {
            return
        }
        let arguments = body["arguments"]?.objectValue ?? JSONObject()
        logger.debug("Remote control: \(method)")
        let reply = await controlReply(method: method, arguments: arguments)
        guard let reply, let ticket = body["ticket"]?.stringValue,
            let routingKey = body["reply_to"]?["routing_key"]?.stringValue
        else { return }
        await sendReply(reply, ticket: ticket, routingKey: routingKey)
        if method == "shutdown" { stopTakingWork() }
    }

    private func sendReply(_ value: JSONValue, ticket: String, routingKey: String) async {
        let headers: JSONObject = ["ticket": .string(ticket), "clock": .integer(Int64(state.tick()))]
        let envelope = KombuEnvelope.encode(
            body: .object(JSONObject([(workerConfiguration.hostname, value)])), headers: headers,
            exchange: "reply.celery.pidbox", routingKey: routingKey)
        do {
            try await broker.publishReply(envelope, routingKey: routingKey)
        } catch {
            logger.error("Cannot send a remote-control reply: \(error)")
        }
    }

    /// The reply Celery's worker gives to `method`, or `nil` for commands that send none.
    func controlReply(method: String, arguments: JSONObject) async -> JSONValue? {
        func ok(_ text: String) -> JSONValue { ["ok": .string(text)] }
        func error(_ text: String) -> JSONValue { ["error": .string(text)] }
        switch method {
        case "ping":
            return ok("pong")
        case "registered":
            // With taskinfoitems (`inspect registered name`): "NAME [name=NAME]", as Celery formats them.
            let items = (arguments["taskinfoitems"]?.arrayValue ?? []).compactMap(\.stringValue)
            // Celery leaves its own celery.* tasks out unless asked for builtins.
            let builtins = arguments["builtins"]?.isPythonTruthy ?? false
            return .array((builtins ? registry.names : registry.applicationNames).map { name in
                let info = items.compactMap { item -> String? in
                    switch item {
                    case "name": return "name=\(name)"
                    case "rate_limit": return "rate_limit=\(state.rateLimit(for: name)?.text ?? "None")"
                    default: return nil
                    }
                }
                return .string(info.isEmpty ? name : "\(name) [\(info.joined(separator: " "))]")
            })
        case "stats":
            return statsReply()
        case "active":
            let safe = arguments["safe"]?.boolValue ?? false
            return .array(state.active.values.map {
                requestInfo($0.message, queue: $0.queue, started: $0.started, acknowledged: $0.acknowledged, safe: safe)
            })
        case "reserved":
            return .array(buffer.pendingSnapshot().compactMap { item in
                decoded(item).map { requestInfo($0, queue: item.delivery.queue, started: nil, acknowledged: false) }
            })
        case "scheduled":
            let now = ContinuousClock.now
            return .array(schedule.snapshot().compactMap { entry -> JSONValue? in
                guard let message = decoded(entry.item) else { return nil }
                let eta = message.headers.eta.flatMap(CeleryTime.parse)?.date
                    ?? Date().addingTimeInterval(now.duration(to: entry.due).timeInterval)
                // `priority` is the timer entry's priority in Celery (6 for ETA tasks), not the message's.
                return [
                    "eta": .string(CeleryTime.isoformat(eta, alwaysMicroseconds: true)), "priority": 6,
                    "request": requestInfo(message, queue: entry.item.delivery.queue, started: nil, acknowledged: false),
                ]
            })
        case "revoked":
            return .array(state.revokedIDs.map(JSONValue.string))
        case "query_task":
            return queryTask(ids: Self.idList(arguments["ids"] ?? arguments["task_id"]))
        case "revoke":
            return await revoke(ids: Self.idList(arguments["task_id"]), terminate: arguments["terminate"]?.boolValue ?? false)
        case "terminate":
            return await revoke(ids: Self.idList(arguments["task_id"]), terminate: true)
        case "revoke_by_stamped_headers":
            return ok("headers \(PythonRepr.repr(arguments["headers"] ?? nil)) flagged as revoked, but not terminated")
        case "active_queues":
            return .array(state.queues.map(Self.queueDescription))
        case "report":
            return ok(
                "software -> celery:5.7 protocol (\(EventDispatcher.softwareIdentity) \(EventDispatcher.softwareVersion), Swift) platform -> Linux\nbroker -> \(broker.location)\nresults -> \(backend.location)\n")
        case "conf":
            return confReply()
        case "clock":
            return ["clock": .integer(Int64(state.tick()))]
        case "rate_limit":
            // Celery checks the value before the task name.
            let value = arguments["rate_limit"] ?? .null
            let limit: RateLimit?
            switch ControlLimits.rateLimit(value) {
            case .success(let parsed): limit = parsed
            case .failure(let refusal): return error(refusal.message)
            }
            guard let task = arguments["task_name"]?.stringValue, registry[task] != nil else { return error("unknown task") }
            state.setRateLimit(task, limit)
            guard value.isPythonTruthy else {
                logger.info("Rate limits disabled for tasks of type \(task)")
                return ok("rate limit disabled successfully")
            }
            logger.info("New rate limit for tasks of type \(task): \(value.stringValue ?? PythonRepr.repr(value)).")
            return ok("new rate limit set successfully")
        case "time_limit":
            guard let task = arguments["task_name"]?.stringValue, registry[task] != nil else { return error("unknown task") }
            state.setTimeLimits(
                task, hard: .timeLimit(seconds: arguments["hard"]?.doubleValue),
                soft: .timeLimit(seconds: arguments["soft"]?.doubleValue))
            return ok("time limits set successfully")
        case "enable_events":
            if state.eventsEnabled { return ok("task events already enabled") }
            state.eventsEnabled = true
            return ok("task events enabled")
        case "disable_events":
            if !state.eventsEnabled { return ok("task events already disabled") }
            state.eventsEnabled = false
            return ok("task events disabled")
        case "add_consumer":
            guard let queue = arguments["queue"]?.stringValue else { return error("queue is required") }
            _ = state.addQueue(queue)
            return ok("add consumer \(queue)")
        case "cancel_consumer":
            guard let queue = arguments["queue"]?.stringValue else { return error("queue is required") }
            _ = state.removeQueue(queue)
            return ok("no longer consuming from \(queue)")
        case "pool_grow", "pool_shrink":
            let grow = method == "pool_grow"
            switch ControlLimits.resizedConcurrency(state.concurrency, by: arguments["n"], grow: grow) {
            case .success(let concurrency):
                state.concurrency = concurrency
                return ok(grow ? "pool will grow" : "pool will shrink")
            case .failure(let refusal):
                logger.warning("Remote control: \(refusal.message)")
                return error(refusal.message)
            }
        case "autoscale":
            // Celery's answer without --autoscale (this worker has no autoscaler): its
            // ValueError, as kombu's pidbox replies to a command that raised.
            return error("ValueError('Autoscale not enabled')")
        case "shutdown":
            logger.warning("Got shutdown from remote")
            stopTakingWork()
            return nil
        case "hello":
            guard arguments["from_node"]?.stringValue != workerConfiguration.hostname else { return nil }
            logForgotten(state.revoke(Self.idList(arguments["revoked"]), terminate: false).forgotten)
            return ["revoked": .array(state.revokedIDs.map(JSONValue.string)), "clock": .integer(Int64(state.tick()))]
        case "heartbeat":
            return nil
        default:
            return error("No such control command: \(method)")
        }
    }

    private func queryTask(ids: [String]) -> JSONValue {
        var found = JSONObject()
        for (id, task) in state.active where ids.contains(id) {
            found[id] = ["active", requestInfo(task.message, queue: task.queue, started: task.started, acknowledged: task.acknowledged)]
        }
        for item in buffer.pendingSnapshot() {
            guard let message = decoded(item), ids.contains(message.headers.id) else { continue }
            found[message.headers.id] = ["reserved", requestInfo(message, queue: item.delivery.queue, started: nil, acknowledged: false)]
        }
        for entry in schedule.snapshot() {
            guard let message = decoded(entry.item), ids.contains(message.headers.id) else { continue }
            found[message.headers.id] = ["scheduled", requestInfo(message, queue: entry.item.delivery.queue, started: nil, acknowledged: false)]
        }
        return .object(found)
    }

    private func decoded(_ item: QueuedDelivery) -> TaskMessage? {
        item.message ?? (try? TaskMessage(envelope: item.delivery.raw, options: configuration.decoding))
    }

    /// Celery's `Request.info(safe)`: with `safe`, the arguments as their `repr` strings.
    private func requestInfo(_ message: TaskMessage, queue: String, started: Date?, acknowledged: Bool, safe: Bool = false) -> JSONValue {
        let args: JSONValue = safe ? .string(message.headers.argsrepr ?? PythonRepr.repr(.array(message.args))) : .array(message.args)
        let kwargs: JSONValue = safe ? .string(message.headers.kwargsrepr ?? PythonRepr.dictRepr(message.kwargs)) : .object(message.kwargs)
        return .object(JSONObject([
            ("id", .string(message.headers.id)), ("name", .string(message.headers.task)), ("args", args),
            ("kwargs", kwargs), ("type", .string(message.headers.task)),
            ("hostname", .string(workerConfiguration.hostname)),
            ("time_start", started.map { .double($0.timeIntervalSince1970) } ?? .null), ("acknowledged", .bool(acknowledged)),
            ("delivery_info", .object(JSONObject([
                ("exchange", .string(message.properties.exchange)), ("routing_key", .string(message.properties.routingKey ?? queue)),
                ("priority", .integer(Int64(message.properties.priority))), ("redelivered", .bool(message.properties.redelivered)),
            ]))),
            ("worker_pid", started == nil ? .null : .integer(Int64(ProcessInfo.processInfo.processIdentifier))),
        ]))
    }

    private func statsReply() -> JSONValue {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ time: timeval) -> JSONValue { .double(Double(time.tv_sec) + Double(time.tv_usec) / 1e6) }
        let connection = broker.connectionInfo
        let pid = JSONValue.integer(Int64(ProcessInfo.processInfo.processIdentifier))
        let totals = JSONObject(state.totals.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.integer(Int64($0.value))) })
        let timeouts: [JSONValue] = [
            workerConfiguration.softTimeLimit.map { .double($0.timeInterval) } ?? 0,
            workerConfiguration.timeLimit.map { .double($0.timeInterval) } ?? 0,
        ]
        let pool = JSONObject([
            ("implementation", .string("swift-celery:\(workerConfiguration.pool.rawValue)")), ("max-concurrency", .integer(Int64(state.concurrency))),
            ("processes", .array([pid])), ("max-tasks-per-child", "N/A"), ("put-guarded-by-semaphore", false),
            ("timeouts", .array(timeouts)),
        ])
        let transportOptions: JSONObject = ["visibility_timeout": .integer(Int64(configuration.visibilityTimeout.components.seconds))]
        let brokerInfo = JSONObject([
            ("hostname", .string(connection.hostname)), ("userid", connection.userID.map(JSONValue.string) ?? .null),
            ("virtual_host", .string(connection.virtualHost)), ("port", .integer(Int64(connection.port))), ("insist", false),
            ("ssl", .bool(connection.ssl)), ("transport", .string(connection.transport)), ("connect_timeout", 4), ("transport_options", .object(transportOptions)),
            ("login_method", .null), ("uri_prefix", .null), ("heartbeat", 120.0), ("failover_strategy", "round-robin"),
            ("alternates", .array([])), ("credential_provider", .null),
        ])
        let counters: [(String, Int)] = [
            ("maxrss", usage.ru_maxrss), ("ixrss", usage.ru_ixrss), ("idrss", usage.ru_idrss), ("isrss", usage.ru_isrss),
            ("minflt", usage.ru_minflt), ("majflt", usage.ru_majflt), ("nswap", usage.ru_nswap), ("inblock", usage.ru_inblock),
            ("oublock", usage.ru_oublock), ("msgsnd", usage.ru_msgsnd), ("msgrcv", usage.ru_msgrcv),
            ("nsignals", usage.ru_nsignals), ("nvcsw", usage.ru_nvcsw), ("nivcsw", usage.ru_nivcsw),
        ]
        var rusageInfo = JSONObject([("utime", seconds(usage.ru_utime)), ("stime", seconds(usage.ru_stime))])
        for (key, value) in counters { rusageInfo[key] = .integer(Int64(value)) }
        return .object(JSONObject([
            ("total", .object(totals)), ("pid", pid), ("clock", .string(String(state.clock))),
            ("uptime", .integer(Int64(Date().timeIntervalSince(state.startedAt)))), ("pool", .object(pool)),
            ("broker", .object(brokerInfo)), ("prefetch_count", .integer(Int64(buffer.limit + schedule.count))), ("rusage", .object(rusageInfo)),
        ]))
    }

    /// The settings in Celery's names, passwords replaced by `***`.
    private func confReply() -> JSONValue {
        let accepted = configuration.decoding.acceptedContentTypes.sorted().map {
            JSONValue.string($0 == "application/json" ? "json" : $0)
        }
        let visibility = JSONValue.integer(Int64(configuration.visibilityTimeout.components.seconds))
        let settings: [(String, JSONValue)] = [
            ("broker_url", .string(configuration.redactedBrokerURL)),
            ("result_backend", .string(configuration.redactedResultBackendURL)),
            ("task_default_queue", .string(configuration.defaultQueue)), ("accept_content", .array(accepted)),
            ("result_expires", configuration.resultExpires.map { .integer(Int64($0.components.seconds)) } ?? .null),
            ("task_track_started", .bool(configuration.trackStarted)), ("result_extended", .bool(configuration.resultExtended)),
            ("task_acks_late", .bool(workerConfiguration.acksLate)), ("worker_concurrency", .integer(Int64(state.concurrency))),
            ("worker_prefetch_multiplier", .integer(Int64(workerConfiguration.prefetchMultiplier))),
            ("worker_send_task_events", .bool(state.eventsEnabled)),
            ("task_time_limit", workerConfiguration.timeLimit.map { .double($0.timeInterval) } ?? .null),
            ("task_soft_time_limit", workerConfiguration.softTimeLimit.map { .double($0.timeInterval) } ?? .null),
            ("broker_transport_options", .object(["visibility_timeout": visibility])),
            ("enable_utc", .bool(true)), ("timezone", .string("UTC")), ("broker_heartbeat", .null),
            ("worker_hijack_root_logger", .bool(false)), ("worker_log_color", .bool(false)),
            ("deprecated_settings", .array([])), ("include", .array([])),
        ]
        return .object(JSONObject(settings))
    }

    /// kombu's `Queue.as_dict(recurse=True)` for a direct queue named after its routing key.
    static func queueDescription(_ name: String) -> JSONValue {
        let exchange: [(String, JSONValue)] = [
            ("name", .string(name)), ("type", .string("direct")), ("arguments", .null), ("durable", .bool(true)),
            ("passive", .bool(false)), ("auto_delete", .bool(false)), ("delivery_mode", .null), ("no_declare", .bool(false)),
        ]
        var queue: [(String, JSONValue)] = [("name", .string(name)), ("exchange", .object(JSONObject(exchange))), ("routing_key", .string(name))]
        for key in ["queue_arguments", "binding_arguments", "consumer_arguments"] { queue.append((key, .null)) }
        queue += [("durable", .bool(true)), ("exclusive", .bool(false)), ("auto_delete", .bool(false)), ("no_ack", .bool(false))]
        queue += [("alias", .null), ("bindings", .array([])), ("no_declare", .null)]
        for key in ["expires", "message_ttl", "max_length", "max_length_bytes", "max_priority"] { queue.append((key, .null)) }
        return .object(JSONObject(queue))
    }

    /// One id, a list of ids, or (mingle's `hello` in Celery 5.7) a map of ids to stamps.
    static func idList(_ value: JSONValue?) -> [String] {
        switch value {
        case .string(let id)?: return [id]
        case .array(let items)?: return items.flatMap { idList($0) }
        case .object(let stamped)?: return stamped.keys
        default: return []
        }
    }
}
