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
    let broker: RedisBroker
    let backend: RedisResultBackend
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
            children += try await publishGroup(callbacks, prepending: [result], parent: message)
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
        var published: [Signature] = []
        for errback in TaskOptions.signatures(message.embed["errbacks"]) {
            guard errback.subtaskType == nil, let definition = registry[errback.task],
                definition.options.errbackArguments == .requestExceptionTraceback
            else {
                published.append(errback)
                continue
            }
            var call = message
            call.headers.object["task"] = .string(errback.task)
            call.args = [Self.requestContext(of: message, hostname: hostname), exception.jsonValue, .string(traceback)] + errback.args
            call.kwargs = errback.kwargs
            var request = TaskRequest(message: call, queue: queue, hostname: hostname, logger: logger)
            request.services = WorkerServices(publisher: publisher, registry: registry)
            do {
                _ = try await definition.handler(request)
            } catch {
                logger.error("Errback \(errback.task) raised an exception: \(error)")
            }
        }
        guard !published.isEmpty else { return }
        _ = try await publishGroup(published, prepending: [.string(message.headers.id)], parent: message)
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
    /// errbacks: a new group id, `group_index` in order.
    private func publishGroup(_ signatures: [Signature], prepending: [JSONValue], parent: TaskMessage) async throws -> [String] {
        let groupID = UUID().uuidString.lowercased()
        var published: [String] = []
        for (index, signature) in signatures.enumerated() {
            published += try await publish(signature, prepending: prepending, parent: parent, groupID: groupID, groupIndex: index)
        }
        return published
    }

    /// Records a chord header task's outcome and, when it completes the chord, publishes the
    /// body with every header result in `group_index` order, or fails it with `ChordError`.
    func chordPartReturn(of message: TaskMessage, state: TaskState, result: JSONValue) async throws {
        guard let bodyJSON = message.embed["chord"], !bodyJSON.isNull, let body = Signature(json: bodyJSON),
            let groupID = message.headers.group
        else { return }
        let outcome = try await backend.chordPartReturn(
            groupID: groupID, taskID: message.headers.id, groupIndex: message.headers.groupIndex, state: state, result: result)
        guard case .complete(let results, let token) = outcome else { return }
        if let failed = results.first(where: { $0.state == .failure || $0.state == .revoked }) {
            let exception = ExceptionInfo(failed.result)
            let description = exception?.pythonRepr ?? PythonRepr.repr(failed.result)
            logger.error("Chord \(groupID) raised: ChordError('Dependency \(failed.taskID) raised \(description)')")
            try await failChordBody(body, message: message, reason: "Dependency \(failed.taskID) raised \(description)")
            try? await backend.dropChordSize(groupID: groupID)
            return
        }
        guard try await backend.extendChordClaim(groupID: groupID, token: token) else {
            logger.warning("Chord callback for '\(groupID)' not published: dispatch claim is no longer owned by this worker")
            return
        }
        defer { Task { [backend] in try? await backend.cleanUpChord(groupID: groupID, token: token) } }
        _ = try await publish(body, prepending: [.array(results.map(\.result))], parent: message)
    }

    /// Celery's `chord_error_from_stack`: the body's errbacks get its id, and the body's result
    /// is a FAILURE with `ChordError`.
    private func failChordBody(_ body: Signature, message: TaskMessage, reason: String) async throws {
        let bodyID = body.taskID ?? UUID().uuidString.lowercased()
        let errbacks = TaskOptions.signatures(body.options["link_error"])
        if !errbacks.isEmpty {
            _ = try await publishGroup(errbacks, prepending: [.string(bodyID)], parent: message)
        }
        let error = ExceptionInfo(type: "ChordError", module: "celery.exceptions", arguments: [.string(reason)])
        try await backend.store(
            TaskResultDocument(
                taskID: bodyID, status: .failure, result: error.jsonValue,
                traceback: "Traceback (most recent call last):\n  File \"<swift-celery>\", line 1, in chord\ncelery.exceptions.ChordError: \(reason)\n",
                dateDone: CeleryTime.isoformat(Date()), groupID: body.options["group_id"]?.stringValue))
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
