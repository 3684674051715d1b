import Synchronization

/// Gathers requests that many tasks make at about the same time and carries them out
/// together: one `perform` call for a whole batch, so Redis runs one command for many
/// acknowledgements or one script call for many results instead of one each.
///
/// While a batch is under way, new requests wait and form the next one; when nothing is
/// under way a request goes out at once, from the caller's own task (no hand-over to another
/// task on the way), so a lone request is never held back. Every request of a batch gets the
/// batch's outcome: its own output, or the error.
final class RequestBatcher<Request: Sendable, Output: Sendable>: Sendable {
    private typealias Waiter = (request: Request, continuation: CheckedContinuation<Output, any Error>)

    private struct State: Sendable {
        var waiting: [Waiter] = []
        var performing = false
    }

    private let state = Mutex(State())
    private let maximumBatch: Int
    /// Where the batches after the first run (`nil`: the global pool).
    private let executor: (any TaskExecutor)?
    private let perform: @Sendable ([Request]) async throws -> [Output]

    /// - Parameters:
    ///   - maximumBatch: the most requests one `perform` call gets.
    ///   - executor: where the task carrying out later batches runs: the event loop of the
    ///     connection `perform` uses, so its replies resume it with no thread wake-up.
    ///   - perform: carries out a batch; returns one output per request, in order.
    init(
        maximumBatch: Int = 256, executor: (any TaskExecutor)? = nil,
        perform: @escaping @Sendable ([Request]) async throws -> [Output]
    ) {
        self.maximumBatch = max(1, maximumBatch)
        self.executor = executor
        self.perform = perform
    }

    /// Carries out `request` with whatever others are waiting, and returns its output.
    func submit(_ request: Request) async throws -> Output {
        let leads = state.withLock { state -> Bool in
            guard !state.performing else { return false }
            state.performing = true
            return true
        }
        if leads {
            // Nothing under way (so nothing waits): carry it out here, then leave whatever
            // arrived meanwhile to a task of its own.
            let outcome: Result<Output, any Error>
            do {
                let outputs = try await perform([request])
                guard outputs.count == 1 else { throw BatchMismatch(requests: 1, outputs: outputs.count) }
                outcome = .success(outputs[0])
            } catch {
                outcome = .failure(error)
            }
            let more = state.withLock { state -> Bool in
                if state.waiting.isEmpty { state.performing = false }
                return state.performing
            }
            if more { Task(executorPreference: executor) { await self.performWaiting() } }
            return try outcome.get()
        }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Output, any Error>) in
            let startPerforming = state.withLock { state -> Bool in
                state.waiting.append((request, continuation))
                guard !state.performing else { return false }
                state.performing = true
                return true
            }
            if startPerforming { Task(executorPreference: executor) { await self.performWaiting() } }
        }
    }

    /// Performs batches until no request waits.
    private func performWaiting() async {
        while true {
            let batch = state.withLock { state -> [Waiter] in
                guard !state.waiting.isEmpty else {
                    state.performing = false
                    return []
                }
                let taken = Array(state.waiting.prefix(maximumBatch))
                state.waiting.removeFirst(taken.count)
                return taken
            }
            guard !batch.isEmpty else { return }
            do {
                let outputs = try await perform(batch.map(\.request))
                guard outputs.count == batch.count else {
                    throw BatchMismatch(requests: batch.count, outputs: outputs.count)
                }
                for (waiter, output) in zip(batch, outputs) { waiter.continuation.resume(returning: output) }
            } catch {
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
        }
    }

    /// `perform` returned a different number of outputs than it was given requests.
    struct BatchMismatch: Error, CustomStringConvertible {
        var requests: Int
        var outputs: Int
        var description: String { "a batch of \(requests) requests produced \(outputs) outputs" }
    }
}
