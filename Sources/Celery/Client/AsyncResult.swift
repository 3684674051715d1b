

/// The result of a task, read from Celery's Redis result backend, as Python's `AsyncResult`.
public struct AsyncResult: Sendable {
    /// The task id.
    public let id: String
    let backend: any ResultStore

    /// The stored document, or `nil` while nothing is stored (PENDING).
    public func document() async throws -> TaskResultDocument? {
        do {
            return try await backend.get(taskID: id)
        } catch let error as CeleryError {
            throw error
        } catch {
            throw CeleryError(code: .resultBackend, message: "cannot read the result of \(id): \(error)")
        }
    }

    /// The task's state: PENDING until a worker stores something.
    public func state() async throws -> TaskState {
        try await document()?.status ?? .pending
    }

    /// Whether the task is SUCCESS, FAILURE or REVOKED.
    public func ready() async throws -> Bool {
        try await state().isReady
    }

    /// Deletes the stored result.
    public func forget() async throws {
        try await backend.forget(taskID: id)
    }

    /// Waits for the task to finish and returns its return value.
    ///
    /// Subscribes to the result channel first and then reads the stored document, so a
    /// result stored at any moment is seen.
    ///
    /// - Throws: ``TaskFailedError`` when the task failed or was revoked (naming the Python
    ///   exception); ``CeleryError`` with code `timeout` when `timeout` passes first.
    public func get(timeout: Duration = .seconds(60)) async throws -> JSONValue {
        let document = try await wait(timeout: timeout)
        if let exception = document.propagatedFailure {
            throw TaskFailedError(taskID: id, state: document.status, exception: exception, traceback: document.traceback)
        }
        return document.result
    }

    /// Waits until the task is ready and returns the final document, whatever its state.
    ///
    /// - Parameters:
    ///   - timeout: how long to wait before throwing ``CeleryError`` with code `timeout`.
    ///   - onUpdate: called with each state stored before the final one (STARTED, RETRY, a
    ///     custom `PROGRESS` state, ...), in order, as the worker stores them.
    public func wait(
        timeout: Duration = .seconds(60), onUpdate: (@Sendable (TaskResultDocument) -> Void)? = nil
    ) async throws -> TaskResultDocument {
        // On the client's event loop the reads below cost no thread hand-over.
        try await withTaskExecutorPreference(backend.preferredExecutor) {
            try await waitHere(timeout: timeout, onUpdate: onUpdate)
        }
    }

    private func waitHere(
        timeout: Duration, onUpdate: (@Sendable (TaskResultDocument) -> Void)?
    ) async throws -> TaskResultDocument {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        let watch = backend.watch(taskID: id)
        defer { watch.cancel() }
        try await whileUnreachable(until: deadline, waitingFor: timeout, "subscribe to the result of \(id)") {
            try await watch.start()
        }
        var lastSeen: TaskState?
        // The stored document is read at first, as Celery's ResultConsumer reads it when a
        // wait begins (the task may have finished before the subscription), unless a
        // notification already came on the confirmed subscription: nothing older matters
        // then. It is read again whenever the subscription was restored after a reconnect
        // (a notification may have been lost meanwhile).
        var readStored = watch.hasDelivered == false
        while true {
            if readStored, let stored = try await whileUnreachable(until: deadline, waitingFor: timeout, "read the result", {
                try await backend.get(taskID: id)
            }) {
                if stored.status.isReady { return stored }
                if stored.status != lastSeen { onUpdate?(stored) }
                lastSeen = stored.status
            }
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .zero, let notification = try await watch.next(timeout: remaining) else {
                // A last look: the notification may have been missed during a reconnect.
                if let stored = try? await backend.get(taskID: id), stored.status.isReady { return stored }
                throw CeleryError(code: .timeout, message: "task \(id) not ready after \(timeout)")
            }
            guard case .stored(let notified) = notification else {
                readStored = true
                continue
            }
            readStored = false
            if notified.status.isReady { return notified }
            onUpdate?(notified)
            lastSeen = notified.status
        }
    }

    /// Runs `body`, trying again every 100 ms while the result backend cannot be reached, until
    /// `deadline`: a wait resumes after a broker restart, or ends with a timeout that names the
    /// connection error.
    private func whileUnreachable<Value>(
        until deadline: ContinuousClock.Instant, waitingFor timeout: Duration, _ action: String,
        _ body: () async throws -> Value
    ) async throws -> Value {
        while true {
            do {
                return try await body()
            } catch let error as any TransportError where error.isConnectionError && !error.isClosed {
                guard ContinuousClock.now.advanced(by: .milliseconds(100)) < deadline else {
                    throw CeleryError(code: .timeout, message: "task \(id) not ready after \(timeout): cannot \(action): \(error)")
                }
                try await Task.sleep(for: .milliseconds(100))
            } catch let error as CeleryError {
                throw error
            } catch {
                throw CeleryError(code: .resultBackend, message: "cannot \(action) (task \(id)): \(error)")
            }
        }
    }
}
