#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging

/// What a finished task publishes for the canvas around it, as Celery's worker does: `link`
/// callbacks and the next chain step on success, `link_error` errbacks on failure, and the
/// chord body once the last header task is in (through the Redis backend's chord keys).
struct CanvasDispatch: Sendable {
    let broker: any BrokerTransport
    let backend: any ResultStore
    let builder: TaskMessageBuilder
    let registry: TaskRegistry
    let logger: Logger

    /// Publishes callbacks (as one group when there are several) and the next chain step
    /// with `result` in front of their arguments; returns the ids published, for `children`.
    func publishSuccessors(of message: TaskMessage, result: JSONValue) async throws -> [String] {
        var children: [String] = []
        let callbacks = TaskOptions.signatures(message.embed["callbacks"])
        if callbacks.count == 1 {
            children += try await publish(callbacks[0], prepending: [result], parent: message)
        } else if callbacks.count > 1 {
            children += try await publishGroup(callbacks, prepending: [result], parent: message).published
        }
        if case .array(var chain)? = message.embed["chain"], let last = chain.popLast(), let next = Signature(json: last) {
            children += try await publish(next, prepending: [result], parent: message, chain: chain.compactMap(Signature.init(json:)))
        }
        return children
    }

    /// Celery's `_call_task_errbacks`: an errback registered here that takes
    /// `(request, exc, traceback)` is called at once in this process; every other one
    /// (unknown here, or taking the task id) is published, all as one group, with the failed
    /// task's id in front of its arguments.
    func runErrbacks(of message: TaskMessage, queue: String, hostname: String, exception: ExceptionInfo, traceback: String) async throws {
        try await runErrbacks(
            TaskOptions.signatures(message.embed["errbacks"]), failed: message, queue: queue, hostname: hostname,
            exception: exception, traceback: traceback)
    }

    /// Returns the `as_tuple()` of the group of errbacks published, if any: Celery adds it to
    /// the trail (`children`) of the task running at the time.
    @discardableResult
    private func runErrbacks(
        _ errbacks: [Signature], failed message: TaskMessage, queue: String, hostname: String, exception: ExceptionInfo,
        traceback: String?
    ) async throws -> JSONValue? {
        var published: [Signature] = []
        for errback in errbacks {
            guard errback.subtaskType == nil, let definition = registry[errback.task],
                definition.options.errbackArguments == .requestExceptionTraceback
            else {
                published.append(errback)
                continue
            }
            var call = message
            call.headers.object["task"] = .string(errback.task)
            call.args = [Self.requestContext(of: message, hostname: hostname), exception.jsonValue, traceback.map(JSONValue.string) ?? .null]
                + errback.args
            call.kwargs = errback.kwargs
            var request = TaskRequest(message: call, queue: queue, hostname: hostname, logger: logger)
            request.services = WorkerServices(publisher: publisher, registry: registry)
            do {
                _ = try await definition.handler(request)
            } catch {
                logger.error("Errback \(errback.task) raised an exception: \(error)")
            }
        }
        guard !published.isEmpty else { return nil }
        return try await publishGroup(published, prepending: [.string(message.headers.id)], parent: message).resultTuple
    }

    /// Celery's `_fail_chain`: the steps chained after a failed task will never run, so each
    /// gets the failure stored (so whoever waits on the chain's result is told), a chord member
    /// among them counts towards its chord, and a chord step's body is failed too. With
    /// `storeResults` false (the failed task ignores results) nothing is stored, as in Celery.
    func failChain(
        of message: TaskMessage, exception: ExceptionInfo, traceback: String?, storeResults: Bool = true, hostname: String,
        queue: String
    ) async throws {
        try await failChain(
            TaskOptions.signatures(message.embed["chain"]), after: message, exception: exception, traceback: traceback,
            storeResults: storeResults, hostname: hostname, queue: queue)
    }

    /// `_fail_chain` over `steps` (next step first), the chain after `message`'s task or
    /// after a chord body that never ran.
    private func failChain(
        _ steps: [Signature], after message: TaskMessage, exception: ExceptionInfo, traceback: String?, storeResults: Bool = true,
        hostname: String, queue: String
    ) async throws {
        var pending = steps
        while !pending.isEmpty {
            let step = pending.removeFirst()
            let id = step.taskID
            let groupID = step.options["group_id"]?.stringValue
            let chordBody = step.options["chord"].flatMap(Signature.init(json:))
            var alreadyFailed = false
            if chordBody != nil, let id, let stored = try await backend.get(taskID: id) {
                alreadyFailed = stored.status == .failure || stored.status == .revoked
            }
            if let id, storeResults {
                try await backend.store(TaskResultDocument(
                    taskID: id, status: .failure, result: exception.jsonValue, traceback: traceback,
                    dateDone: CeleryTime.isoformat(Date()), groupID: groupID))
            }
            if let chordBody, !alreadyFailed, let groupID {
                try await chordPartReturn(
                    body: chordBody, groupID: groupID, taskID: id ?? "", groupIndex: step.options["group_index"]?.integerValue.map { Int($0) },
                    state: .failure, result: exception.jsonValue, parent: message, hostname: hostname, queue: queue)
            }
            if step.subtaskType == "chord", let body = step.chordBody { pending.append(body) }
        }
    }

    /// The request context an in-process errback gets, with Celery's `Context` field names.
    static func requestContext(of message: TaskMessage, hostname: String) -> JSONValue {
        let headers = message.headers
        return .object(JSONObject([
            ("id", .string(headers.id)), ("task", .string(headers.task)), ("args", .array(message.args)),
            ("kwargs", .object(message.kwargs)), ("retries", .integer(Int64(headers.retries))),
            ("root_id", headers.rootID.map(JSONValue.string) ?? .null), ("parent_id", headers.parentID.map(JSONValue.string) ?? .null),
            ("group", headers.group.map(JSONValue.string) ?? .null), ("hostname", .string(hostname)),
            ("delivery_info", message.properties.object["delivery_info"] ?? .null),
        ]))
    }

    /// Publishes signatures as one group, as Celery's worker sends several callbacks or its
    /// errbacks: a new group id, `group_index` in order. Returns the task ids published and
    /// the group's `GroupResult.as_tuple()`.
    private func publishGroup(
        _ signatures: [Signature], prepending: [JSONValue], parent: TaskMessage
    ) async throws -> (published: [String], resultTuple: JSONValue) {
        let groupID = RandomUUID.string()
        var published: [String] = []
        var memberTuples: [JSONValue] = []
        for (index, signature) in signatures.enumerated() {
            let applied = try await publisher.apply(
                signature, prepending: prepending, origin: Self.origin(of: parent), groupID: groupID, groupIndex: index)
            published += applied.published
            memberTuples.append([[.string(applied.id), nil], nil])
        }
        return (published, [[.string(groupID), nil], .array(memberTuples)])
    }

    /// Records a chord header task's outcome and, when it completes the chord, publishes the
    /// body with every header result in `group_index` order, or fails it with `ChordError`.
    func chordPartReturn(of message: TaskMessage, state: TaskState, result: JSONValue, hostname: String, queue: String) async throws {
        guard let bodyJSON = message.embed["chord"], !bodyJSON.isNull, let body = Signature(json: bodyJSON),
            let groupID = message.headers.group
        else { return }
        try await chordPartReturn(
            body: body, groupID: groupID, taskID: message.headers.id, groupIndex: message.headers.groupIndex, state: state,
            result: result, parent: message, hostname: hostname, queue: queue)
    }

    private func chordPartReturn(
        body: Signature, groupID: String, taskID: String, groupIndex: Int?, state: TaskState, result: JSONValue,
        parent message: TaskMessage, hostname: String, queue: String
    ) async throws {
        let outcome = try await backend.chordPartReturn(
            groupID: groupID, taskID: taskID, groupIndex: groupIndex, state: state, result: result)
        guard case .complete(let results, let token) = outcome else { return }
        if let failed = results.first(where: { $0.state == .failure || $0.state == .revoked }) {
            let original = ExceptionInfo(failed.result)
            let description = original?.pythonRepr ?? PythonRepr.repr(failed.result)
            let reason = "Dependency \(failed.taskID) raised \(description)"
            logger.error("Chord \(groupID) raised: ChordError('\(reason)')")
            let error = ExceptionInfo(type: "ChordError", module: "celery.exceptions", arguments: [.string(reason)])
            try await failChordBody(
                body, error: error, original: original ?? error, parent: message, hostname: hostname, queue: queue)
            try? await backend.dropChordSize(groupID: groupID)
            return
        }
        // A header saved by `apply_chord` (some of its results are groups): Celery restores
        // and joins it, so the body gets the results nested as the header is.
        var headerResults = JSONValue.array(results.map(\.result))
        if let saved = try await backend.restoreGroupTuples(groupID: groupID) {
            headerResults = .array(try await saved.asyncMap(joinedResult(of:)))
        }
        guard try await backend.extendChordClaim(groupID: groupID, token: token) else {
            logger.warning("Chord callback for '\(groupID)' not published: dispatch claim is no longer owned by this worker")
            return
        }
        defer { Task { [backend] in try? await backend.cleanUpChord(groupID: groupID, token: token) } }
        _ = try await publish(body, prepending: [headerResults], parent: message)
    }

    /// The value `join()` gives for one member of a restored `GroupResult`, from its
    /// `as_tuple()`: a task's stored result, or the list of a group's members' values.
    private func joinedResult(of tuple: JSONValue) async throws -> JSONValue {
        guard case .array(let parts) = tuple, parts.count == 2, let id = parts[0].arrayValue?.first?.stringValue else {
            throw CeleryError(code: .invalidResult, message: "saved chord header member is not a result tuple: \(PythonRepr.repr(tuple, limit: 200))")
        }
        if case .array(let members) = parts[1] {
            return .array(try await members.asyncMap(joinedResult(of:)))
        }
        return try await backend.get(taskID: id)?.result ?? .null
    }


    /// Celery's `chord_error_from_stack`. A task body: its errbacks are called (in-process or
    /// published, as for any failed task) as if it had failed, its result is FAILURE with
    /// `ChordError`, and the chain after it fails too. A group body: each member fails with
    /// the header's original exception and calls its errbacks and the group's, and the group
    /// id is marked failed.
    ///
    /// Celery stores these failures without a request (no `group_id`, no extended fields),
    /// with the running task's trail as `children`: the errback groups published so far.
    private func failChordBody(
        _ body: Signature, error: ExceptionInfo, original: ExceptionInfo, parent: TaskMessage, hostname: String, queue: String
    ) async throws {
        let traceback = "Traceback (most recent call last):\n  File \"<swift-celery>\", line 1, in chord\n\(error.module).\(error.type): \(error.arguments.first?.stringValue ?? "")\n"
        var trail: [JSONValue] = []
        if body.subtaskType == "group" {
            let groupID = body.taskID ?? RandomUUID.string()
            let groupErrbacks = TaskOptions.signatures(body.options["link_error"])
            // `group_callback.freeze()`: nested groups unrolled, each member given the id of
            // the result that stands for it (a chord's body's, a chain's last step's).
            for var member in CanvasPublisher.unrolledGroupMembers(body.chainSteps) {
                let memberID = member.freezeResultID(replyTo: builder.replyTo)
                let own = Self.resultErrbacks(of: member)
                var errbacks: [Signature] = []
                for errback in (own.resultID == memberID ? own.errbacks : []) + groupErrbacks where !errbacks.contains(errback) {
                    errbacks.append(errback)
                }
                if let errbackGroup = try await runErrbacks(
                    errbacks, failed: stand(in: member, id: memberID, parent: parent), queue: queue, hostname: hostname,
                    exception: original, traceback: nil)
                {
                    trail.append(errbackGroup)
                }
                try await backend.store(TaskResultDocument(
                    taskID: memberID, status: .failure, result: original.jsonValue, traceback: nil, children: .array(trail),
                    dateDone: CeleryTime.isoformat(Date())))
            }
            try await backend.store(TaskResultDocument(
                taskID: groupID, status: .failure, result: original.jsonValue, children: .array(trail),
                dateDone: CeleryTime.isoformat(Date())))
            // The chain after the group body fails too, with the ChordError.
            try await failChain(
                TaskOptions.signatures(body.options["chain"]), after: parent, exception: error, traceback: nil, hostname: hostname,
                queue: queue)
            return
        }
        let bodyID = body.taskID ?? RandomUUID.string()
        let standIn = stand(in: body, id: bodyID, parent: parent)
        if let errbackGroup = try await runErrbacks(
            TaskOptions.signatures(body.options["link_error"]), failed: standIn, queue: queue, hostname: hostname,
            exception: error, traceback: traceback)
        {
            trail.append(errbackGroup)
        }
        // The trail now holds the errbacks' group (`res.children[0].children[0]` is an errback).
        try await backend.store(
            TaskResultDocument(
                taskID: bodyID, status: .failure, result: error.jsonValue, traceback: traceback, children: .array(trail),
                dateDone: CeleryTime.isoformat(Date())))
        try await failChain(of: standIn, exception: error, traceback: traceback, hostname: hostname, queue: queue)
    }

    /// Celery's `_result_errbacks`: the id of the result that stands for `signature` and the
    /// errbacks linked to it. A chord's result is its body's, and the chord's own errbacks
    /// are its body's when it runs; a group's errbacks include its members'.
    static func resultErrbacks(of signature: Signature) -> (resultID: String?, errbacks: [Signature]) {
        var signature = signature
        var errbacks: [Signature] = []
        while signature.subtaskType == "chord", let body = signature.chordBody {
            errbacks += TaskOptions.signatures(signature.options["link_error"])
            signature = body
        }
        errbacks += TaskOptions.signatures(signature.options["link_error"])
        if signature.subtaskType == "group" {
            for member in signature.chainSteps { errbacks += resultErrbacks(of: member).errbacks }
        }
        return (signature.taskID, errbacks)
    }

    /// The message a signature would have been published as, standing in for the request of
    /// a task that never ran (Celery's `_create_fake_task_request`).
    private func stand(in signature: Signature, id: String, parent: TaskMessage) -> TaskMessage {
        var options = TaskOptions(signatureOptions: signature.options)
        options.taskID = id
        options.parentID = parent.headers.id
        options.rootID = parent.headers.rootID ?? parent.headers.id
        return builder.message(signature.task, args: signature.args, kwargs: signature.kwargs, options: options)
    }

    /// Publishes one signature as `signature.apply_async(prepending, ...)` from inside a task:
    /// the parent's id becomes `parent_id`, its root stays the root, its priority is inherited.
    /// Chains, groups and chords expand as Celery expands them; returns the ids published.
    func publish(
        _ signature: Signature, prepending: [JSONValue], parent: TaskMessage, chain: [Signature]? = nil,
        groupID: String? = nil, groupIndex: Int? = nil
    ) async throws -> [String] {
        try await publisher.apply(
            signature, prepending: prepending, origin: Self.origin(of: parent), chain: chain ?? [],
            groupID: groupID, groupIndex: groupIndex
        ).published
    }

    /// Publishing from inside `message`'s task.
    static func origin(of message: TaskMessage) -> CanvasPublisher.Origin {
        CanvasPublisher.Origin(
            parentID: message.headers.id, rootID: message.headers.rootID ?? message.headers.id,
            priority: message.properties.priority)
    }

    var publisher: CanvasPublisher {
        CanvasPublisher(broker: broker, backend: backend, builder: builder)
    }
}

extension Array {
    /// `map` with an async transform, in order, one element at a time.
    fileprivate func asyncMap<Mapped>(_ transform: (Element) async throws -> Mapped) async rethrows -> [Mapped] {
        var mapped: [Mapped] = []
        mapped.reserveCapacity(count)
        for element in self { mapped.append(try await transform(element)) }
        return mapped
    }
}
