#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Publishes a signature as Celery 5.7's canvas `apply_async` does, for the client and for a
/// worker publishing callbacks, chain steps and chord bodies:
///
/// - a task: one message;
/// - a chain: its first task, with the others frozen (given ids) in `embed.chain`, next step
///   last; nested chains are spliced in, and a group followed by more steps becomes a chord
///   whose body is the rest of the chain;
/// - a group: each member with the group id and its `group_index`;
/// - a chord: the body frozen with the group id, the chord size stored in
///   `celery-taskset-meta-<group>.s` (the Redis backend's `set_chord_size`), then the header
///   members with the body in `embed.chord`; an empty header publishes the body with `[]`.
struct CanvasPublisher: Sendable {
    let broker: any BrokerTransport
    let backend: any ResultStore
    let builder: TaskMessageBuilder

    /// Where a signature is applied from: a task publishing from inside a worker passes its
    /// own id as parent and its root; a client passes nothing.
    struct Origin: Sendable {
        var parentID: String?
        var rootID: String?
        /// The priority a callback inherits when its own options set none.
        var priority: Int = 0
        /// `replaced_task_nesting` for messages published by `Task.replace`.
        var replacedTaskNesting: Int?
    }

    /// What applying a signature published.
    struct Applied: Sendable {
        /// The id whose result stands for the whole signature: the task's, a chain's last
        /// step's, a chord body's, or a group's id.
        var id: String
        /// For a group: its members' result ids in order.
        var memberIDs: [String]
        /// Every task message published.
        var published: [String]
    }

    /// Publishes `signature` with `prepending` put in front of its arguments (unless immutable).
    /// `chain`, `groupID`, `groupIndex` and `chord` are the context a containing canvas gives.
    func apply(
        _ signature: Signature, prepending: [JSONValue] = [], origin: Origin = Origin(), chain: [Signature] = [],
        groupID: String? = nil, groupIndex: Int? = nil, chord: Signature? = nil
    ) async throws -> Applied {
        let prepending = signature.immutable ? [] : prepending
        switch signature.subtaskType {
        case nil:
            return try await applyTask(signature, prepending: prepending, origin: origin, chain: chain, groupID: groupID, groupIndex: groupIndex, chord: chord)
        case "chain":
            return try await applyChain(
                Self.spliced(signature.chainSteps), options: signature.options, prepending: prepending, origin: origin,
                chain: chain, groupID: groupID, groupIndex: groupIndex, chord: chord)
        case "group":
            if !chain.isEmpty {
                // A group followed by more steps: Celery upgrades it to a chord over the rest.
                let body = chain.count == 1 ? chain[0] : Signature.chain(chain.reversed())
                return try await applyChord(
                    header: signature.chainSteps, headerGroupID: signature.taskID, body: body, options: signature.options, prepending: prepending, origin: origin,
                    groupID: groupID, groupIndex: groupIndex, outerChord: chord)
            }
            return try await applyGroup(signature.chainSteps, options: signature.options, prepending: prepending, origin: origin, chord: chord)
        case "chord":
            guard var body = signature.chordBody else {
                throw PythonException.valueError("chord signature without a body: \(PythonRepr.repr(signature.jsonValue, limit: 200))")
            }
            // The chord's own callbacks and errbacks belong to its body (chord.run adds them there).
            for callback in TaskOptions.signatures(signature.options["link"]) where !TaskOptions.signatures(body.options["link"]).contains(callback) {
                body = body.linking(callback)
            }
            for errback in TaskOptions.signatures(signature.options["link_error"])
            where !TaskOptions.signatures(body.options["link_error"]).contains(errback) {
                body = body.linkingError(errback)
            }
            // The rest of an enclosing chain: Celery's chord.run puts it in a task body's own
            // `chain` option (so a failed header fails it through the body, `_fail_chain`);
            // another body runs as a chain with it.
            let bodyWithChain: Signature
            if chain.isEmpty {
                bodyWithChain = body
            } else if body.subtaskType == nil {
                bodyWithChain = body.setting(["chain": .array(chain.map(\.jsonValue))])
            } else {
                bodyWithChain = Signature.chain([body] + chain.reversed())
            }
            return try await applyChord(
                header: signature.chordHeader, headerGroupID: signature.chordGroupID, body: bodyWithChain, options: signature.options, prepending: prepending,
                origin: origin, groupID: groupID, groupIndex: groupIndex, outerChord: chord)
        case let other?:
            throw PythonException.runtimeError("canvas primitive '\(other)' is not supported by swift-celery")
        }
    }

    private func applyTask(
        _ signature: Signature, prepending: [JSONValue], origin: Origin, chain: [Signature], groupID: String?,
        groupIndex: Int?, chord: Signature?
    ) async throws -> Applied {
        var options = builder.routed(TaskOptions(signatureOptions: signature.options), task: signature.task)
        if let parentID = origin.parentID { options.parentID = parentID }
        if let rootID = origin.rootID { options.rootID = rootID }
        if options.priority == 0 { options.priority = origin.priority }
        // Next step last: the steps of an enclosing chain come after the signature's own.
        if !chain.isEmpty { options.chain = chain + (options.chain ?? []) }
        if let groupID {
            // `group_id` is one of Celery's `_IMMUTABLE_OPTIONS`: a member frozen into a chord's
            // group (the members of a group ending a chain in a chord header) keeps it.
            if options.groupID == nil { options.groupID = groupID }
            options.groupIndex = groupIndex
        }
        if let chord { options.chord = chord }
        if let nesting = origin.replacedTaskNesting { options.headers["replaced_task_nesting"] = .integer(Int64(nesting)) }
        let message = builder.message(signature.task, args: prepending + signature.args, kwargs: signature.kwargs, options: options)
        try await broker.publish([(message, options)], defaultQueue: builder.defaultQueue)
        return Applied(id: message.headers.id, memberIDs: [], published: [message.headers.id])
    }

    /// A chain: freeze every step after the first (ids, `reply_to`), the last one with the
    /// chain's own task id and the containing group/chord; publish the first with the rest
    /// in `embed.chain`, next step last.
    private func applyChain(
        _ steps: [Signature], options: JSONObject, prepending: [JSONValue], origin: Origin, chain outer: [Signature],
        groupID: String?, groupIndex: Int?, chord: Signature?
    ) async throws -> Applied {
        guard !steps.isEmpty else { return Applied(id: options["task_id"]?.stringValue ?? Self.newID(), memberIDs: [], published: []) }
        var frozen = steps
        for index in frozen.indices.dropFirst() where frozen[index].subtaskType == nil {
            let isLast = index == frozen.count - 1
            frozen[index] = frozen[index].frozen(
                id: isLast ? options["task_id"]?.stringValue : nil, replyTo: builder.replyTo,
                groupID: isLast && outer.isEmpty ? groupID : nil, groupIndex: isLast && outer.isEmpty ? groupIndex : nil,
                chord: isLast && outer.isEmpty ? chord : nil)
        }
        // A chain ending in a chord, inside a chord's header: the inner chord's body is what
        // reports to the outer chord (Celery's chord.freeze passes the group and chord on to it).
        if frozen.count > 1, outer.isEmpty, let groupID, let chord, let last = frozen.indices.last,
            frozen[last].subtaskType == "chord", var body = frozen[last].chordBody
        {
            body.options["group_id"] = .string(groupID)
            if let groupIndex { body.options["group_index"] = .integer(Int64(groupIndex)) }
            body.options["chord"] = chord.jsonValue
            frozen[last].kwargs["body"] = body.jsonValue
        }
        // Links set on the chain itself go to its last step, as Celery's run() does.
        if let link = options["link"], !TaskOptions.signatures(link).isEmpty, let last = frozen.indices.last {
            frozen[last].options["link"] = .array(TaskOptions.signatures(frozen[last].options["link"]).map(\.jsonValue) + TaskOptions.signatures(link).map(\.jsonValue))
        }
        if let linkError = options["link_error"], !TaskOptions.signatures(linkError).isEmpty {
            for index in frozen.indices where frozen[index].subtaskType == nil {
                frozen[index].options["link_error"] = .array(
                    TaskOptions.signatures(frozen[index].options["link_error"]).map(\.jsonValue) + TaskOptions.signatures(linkError).map(\.jsonValue))
            }
        }
        // The chain's result is its last step's: give a chord or group there its id now.
        var lastID: String?
        if frozen.count > 1 {
            lastID = frozen[frozen.count - 1].freezeResultID(replyTo: builder.replyTo)
        }
        // `embed.chain` lists the next step last: the steps after this chain come first.
        let rest = outer + Array(frozen.dropFirst().reversed())
        let inner = frozen.count == 1 && outer.isEmpty
        let first = try await apply(
            frozen[0], prepending: prepending, origin: origin, chain: rest,
            groupID: inner ? groupID : nil, groupIndex: inner ? groupIndex : nil, chord: inner ? chord : nil)
        return Applied(id: lastID ?? first.id, memberIDs: [], published: first.published)
    }

    /// Celery's `group.apply_async`: the members with the group id and their `group_index`;
    /// a group that is a chord header, or that was frozen into one (its `options.chord`),
    /// stores the chord size first, counted as Celery's `chord._descend`.
    private func applyGroup(
        _ members: [Signature], options: JSONObject, prepending: [JSONValue], origin: Origin, chord: Signature?
    ) async throws -> Applied {
        let groupID = options["task_id"]?.stringValue ?? Self.newID()
        let chord = chord ?? options["chord"].flatMap(Signature.init(json:))
        if chord != nil, !members.isEmpty {
            try await backend.setChordSize(groupID: groupID, size: members.reduce(0) { $0 + $1.chordSizeContribution })
        }
        var memberIDs: [String] = []
        var published: [String] = []
        for (index, member) in members.enumerated() {
            var member = member
            for (key, value) in options where !["task_id", "group_id", "group_index", "chord"].contains(key) && member.options[key] == nil {
                member.options[key] = value
            }
            let applied = try await apply(
                member, prepending: prepending, origin: origin, groupID: groupID, groupIndex: index, chord: chord)
            memberIDs.append(applied.id)
            published += applied.published
        }
        return Applied(id: groupID, memberIDs: memberIDs, published: published)
    }

    private func applyChord(
        header: [Signature], headerGroupID: String?, body: Signature, options: JSONObject, prepending: [JSONValue],
        origin: Origin, groupID outerGroupID: String?, groupIndex outerGroupIndex: Int?, outerChord: Signature?
    ) async throws -> Applied {
        let groupID = headerGroupID ?? Self.newID()
        var body = body
        if body.subtaskType == nil {
            body = body.frozen(
                id: options["task_id"]?.stringValue, replyTo: builder.replyTo, groupID: groupID, groupIndex: nil, chord: nil)
            if let outerGroupID { body.options["group_id"] = .string(outerGroupID) }
            if let outerGroupIndex { body.options["group_index"] = .integer(Int64(outerGroupIndex)) }
            if let outerChord { body.options["chord"] = outerChord.jsonValue }
        }
        guard !header.isEmpty else {
            let applied = try await apply(body, prepending: [.array([])], origin: origin)
            return Applied(id: applied.id, memberIDs: [], published: applied.published)
        }
        // Celery's `header._freeze_group_tasks(group_id, chord=body)`: nested groups unrolled,
        // a group ending a chain frozen into this chord (its members report to it).
        let header = Self.unrolledGroupMembers(header).enumerated().map { index, member in
            member.frozenIntoChordHeader(groupID: groupID, groupIndex: index, chord: body, replyTo: builder.replyTo)
        }
        // The Redis backend's `apply_chord`: a header with a group among its results is saved
        // (`GroupResult.save()`), so the body gets the results nested as the header is.
        let memberResults = header.map(\.frozenResultTuple)
        if memberResults.contains(where: { $0.arrayValue?.last?.isNull == false }) {
            try await backend.saveChordHeader(groupID: groupID, resultTuples: memberResults)
        }
        // The chord size is stored by `applyGroup`, as by Celery's `group._apply_tasks`.
        let headerGroup = try await applyGroup(
            header, options: ["task_id": .string(groupID)], prepending: prepending, origin: origin, chord: body)
        return Applied(id: body.taskID ?? groupID, memberIDs: headerGroup.memberIDs, published: headerGroup.published)
    }

    /// The members of a group with nested groups replaced by their members, as Celery's
    /// `group._freeze_unroll` does (with `deque.extendleft`, so a nested group's members come
    /// in reverse order).
    static func unrolledGroupMembers(_ members: [Signature]) -> [Signature] {
        var stack = members[...]
        var unrolled: [Signature] = []
        while let member = stack.popFirst() {
            if member.subtaskType == "group" {
                stack = ArraySlice(member.chainSteps.reversed()) + stack
            } else if member.subtaskType == "chain", member.chainSteps.isEmpty {
                continue
            } else {
                unrolled.append(member)
            }
        }
        return unrolled
    }

    /// Nested chains spliced into one list of steps, as Celery's `prepare_steps` unrolls them.
    static func spliced(_ steps: [Signature]) -> [Signature] {
        steps.flatMap { step in
            step.subtaskType == "chain" && !step.immutable && step.options.isEmpty ? spliced(step.chainSteps) : [step]
        }
    }

    static func newID() -> String { RandomUUID.string() }
}

extension Signature {
    /// The steps of a chain or the members of a group (`kwargs.tasks`).
    var chainSteps: [Signature] {
        (kwargs["tasks"]?.arrayValue ?? []).compactMap(Signature.init(json:))
    }

    /// A chord's header tasks: `kwargs.header`, a list or a serialized group.
    var chordHeader: [Signature] {
        switch kwargs["header"] {
        case .array(let items)?: return items.compactMap(Signature.init(json:))
        case let group?: return Signature(json: group)?.chainSteps ?? []
        case nil: return []
        }
    }

    /// The group id a chord's header was frozen with (its `options.task_id`), if any.
    var chordGroupID: String? {
        guard case .object(let header)? = kwargs["header"] else { return nil }
        return header["options"]?["task_id"]?.stringValue
    }

    /// A chord's body (`kwargs.body`).
    var chordBody: Signature? {
        kwargs["body"].flatMap(Signature.init(json:))
    }

    /// Gives the signature the id of the result that stands for it, if it has none, and
    /// returns it: a task's own id, a group's id, a chord body's id, a chain's last step's.
    /// `id` is the one to give when none is set yet (Celery's `freeze(_id)`); a new one when `nil`.
    @discardableResult
    mutating func freezeResultID(replyTo: String, id given: String? = nil) -> String {
        switch subtaskType {
        case "chord":
            guard var body = chordBody else { fallthrough }
            let id = body.freezeResultID(replyTo: replyTo, id: given)
            kwargs["body"] = body.jsonValue
            return id
        case "chain":
            var steps = chainSteps
            guard !steps.isEmpty else { fallthrough }
            let id = steps[steps.count - 1].freezeResultID(replyTo: replyTo, id: given)
            kwargs["tasks"] = .array(steps.map(\.jsonValue))
            return id
        default:
            if let id = taskID { return id }
            let id = given ?? CanvasPublisher.newID()
            options["task_id"] = .string(id)
            if subtaskType == nil, options["reply_to"] == nil { options["reply_to"] = .string(replyTo) }
            return id
        }
    }

    /// Celery's `chord._descend`: how many header results this signature contributes to the
    /// chord it is a header member of. A task counts 1, a group the sum of its members, a
    /// chain its last step that counts, a chord its body.
    var chordSizeContribution: Int {
        switch subtaskType {
        case "group":
            return chainSteps.reduce(0) { $0 + $1.chordSizeContribution }
        case "chain":
            for step in chainSteps.reversed() {
                let size = step.chordSizeContribution
                if size > 0 { return size }
            }
            return 0
        case "chord":
            return chordBody?.chordSizeContribution ?? 0
        default:
            return 1
        }
    }

    /// A chord header member frozen with the chord's group id, its index and the body, as
    /// Celery's `freeze(group_id=, chord=, group_index=)` freezes it: a task gets them itself;
    /// a chain's steps get their ids and its last step gets them; a group gets its own id
    /// and keeps them in its options, its (unrolled) members get them with their own index,
    /// so whoever applies the group later publishes members that report to this chord.
    func frozenIntoChordHeader(groupID: String, groupIndex: Int, chord: Signature, replyTo: String) -> Signature {
        var copy = self
        switch subtaskType {
        case nil:
            return frozen(id: nil, replyTo: replyTo, groupID: groupID, groupIndex: groupIndex, chord: chord)
        case "chain":
            var steps = chainSteps
            guard let last = steps.indices.last, steps[last].subtaskType == "group" else { return self }
            for index in steps.indices.dropLast() where steps[index].subtaskType == nil {
                steps[index] = steps[index].frozen(id: nil, replyTo: replyTo, groupID: nil, groupIndex: nil, chord: nil)
            }
            steps[last] = steps[last].frozenIntoChordHeader(groupID: groupID, groupIndex: groupIndex, chord: chord, replyTo: replyTo)
            copy.kwargs["tasks"] = .array(steps.map(\.jsonValue))
            return copy
        case "group":
            if copy.options["task_id"] == nil { copy.options["task_id"] = .string(CanvasPublisher.newID()) }
            copy.options["group_id"] = .string(groupID)
            copy.options["chord"] = chord.jsonValue
            copy.options["group_index"] = .integer(Int64(groupIndex))
            let members = CanvasPublisher.unrolledGroupMembers(chainSteps).enumerated().map { index, member in
                member.frozenIntoChordHeader(groupID: groupID, groupIndex: index, chord: chord, replyTo: replyTo)
            }
            copy.kwargs["tasks"] = .array(members.map(\.jsonValue))
            return copy
        default:
            return self
        }
    }

    /// The `as_tuple()` of the result a frozen signature stands for, as `GroupResult.save()`
    /// stores it: `[[id, parent], null]` for a task, `[[id, parent], [members]]` for a group;
    /// a chain's is its last step's, with the previous steps as its parents.
    var frozenResultTuple: JSONValue {
        switch subtaskType {
        case "chain":
            var parent: JSONValue = .null
            var tuple: JSONValue = .null
            for step in chainSteps {
                tuple = step.frozenResultTuple(parent: parent)
                parent = tuple
            }
            return tuple
        default:
            return frozenResultTuple(parent: .null)
        }
    }

    private func frozenResultTuple(parent: JSONValue) -> JSONValue {
        let id: JSONValue = taskID.map(JSONValue.string) ?? .null
        if subtaskType == "group" {
            return .array([.array([id, parent]), .array(chainSteps.map(\.frozenResultTuple))])
        }
        return .array([.array([id, parent]), .null])
    }

    /// Celery's `freeze`: a task id (kept if it has one), `reply_to`, and the group and chord
    /// it belongs to.
    func frozen(id: String?, replyTo: String, groupID: String?, groupIndex: Int?, chord: Signature?) -> Signature {
        var copy = self
        if copy.options["task_id"] == nil { copy.options["task_id"] = .string(id ?? CanvasPublisher.newID()) }
        if copy.options["reply_to"] == nil { copy.options["reply_to"] = .string(replyTo) }
        if let groupID, copy.options["group_id"] == nil { copy.options["group_id"] = .string(groupID) }
        if let chord { copy.options["chord"] = chord.jsonValue }
        if let groupIndex { copy.options["group_index"] = .integer(Int64(groupIndex)) }
        return copy
    }
}
