import HeapModule
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A thread of its own that does the Redis I/O of the connections and subscribers given to
/// it, runs timers, and, as a Swift `TaskExecutor`, runs the tasks that prefer it.
///
/// A connection owned by the global pool answers every command with two thread wake-ups:
/// the caller's task hands the command to the connection's thread, which hands the reply
/// back. On the 2-core development machine each wake-up costs about 20 µs, more than Redis's
/// own round trip over loopback. A task running on this loop (`withTaskExecutorPreference`)
/// hands its commands to the connection on the spot; once the jobs the loop took together
/// have run, the loop writes every connection's pending commands (one pipeline each), and
/// it reads the replies as poll(2) reports them, resuming each waiting task on this thread:
/// no thread is woken on the way, and the loop never sits waiting for one reply while others,
/// or other work, are ready. Subscribers are read the same way. Callers elsewhere hand their
/// commands over too and wake the loop.
///
/// `@unchecked Sendable`: the work queue sits behind a mutex; `sources` is only touched on
/// the loop's thread; everything else is immutable or atomic.
public final class RedisEventLoop: TaskExecutor, @unchecked Sendable {
    private enum Work {
        case job(UnownedJob)
        case closure(@Sendable () -> Void)
    }

    private struct State {
        var work: [Work] = []
        /// Sources added since the thread last looked.
        var newSources: [any RedisEventSource] = []
        var timers = TimerQueue()
        /// The thread waits in poll(2) (whoever clears this must write to `wakeWrite`).
        var sleeping = false
        /// A source has something to send: service the sources before sleeping again.
        var poked = false
        var stopped = false
    }

    private let state = Mutex(State())
    /// A pipe that ends the thread's poll(2): one byte per wake-up (its read end non-blocking).
    private let wakeRead: Int32
    private let wakeWrite: Int32
    /// The loop thread's `pthread_t`, once it started.
    private let threadID = Atomic<UInt>(0)
    /// The sources the thread waits on, with what each asked for last. Only the loop's thread
    /// touches it.
    private var sources: [(source: any RedisEventSource, wait: RedisEventWait)] = []

    /// Starts the loop's thread.
    public init() {
        var descriptors: [Int32] = [-1, -1]
        // Unchecked, an EMFILE here would leave both ends 0 and the loop polling standard input.
        let piped = pipe(&descriptors)
        precondition(piped == 0, "cannot create the Redis event loop's wake pipe: errno \(errno)")
        wakeRead = descriptors[0]
        wakeWrite = descriptors[1]
        _ = fcntl(wakeRead, F_SETFL, fcntl(wakeRead, F_GETFL) | O_NONBLOCK)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(LoopStart(loop: self)).toOpaque()
        let created = pthread_create(&thread, nil, { raw in
            Unmanaged<LoopStart>.fromOpaque(raw!).takeRetainedValue().loop.run()
            return nil
        }, context)
        precondition(created == 0, "cannot start the Redis event loop thread: error \(created)")
        pthread_detach(thread)
    }

    private final class LoopStart {
        let loop: RedisEventLoop
        init(loop: RedisEventLoop) { self.loop = loop }
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    /// Whether the calling thread is this loop's thread.
    public var isCurrent: Bool {
        let loopThread = threadID.load(ordering: .acquiring)
        return loopThread != 0 && pthread_equal(pthread_self(), pthread_t(loopThread)) != 0
    }

    /// Runs `body` on the loop's thread, after the work already queued.
    public func execute(_ body: @escaping @Sendable () -> Void) {
        submit(.closure(body))
    }

    /// Queues a task's job (Swift's concurrency runtime calls this).
    public func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    /// A closure scheduled with ``schedule(after:_:)``.
    public struct ScheduledWork: Sendable {
        fileprivate let id: UInt64
    }

    /// Runs `body` on the loop's thread once `delay` has passed, unless cancelled first.
    ///
    /// Cheaper than a sleeping `Task` when scheduled from the loop's own thread: no other
    /// thread is woken, now or when it is cancelled. After ``shutdown()`` closures still run at
    /// their time, on the global pool, and can no longer be cancelled.
    @discardableResult
    public func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) -> ScheduledWork {
        let deadline = ContinuousClock.now.advanced(by: delay)
        let (id, wake) = state.withLock { state -> (UInt64?, Bool) in
            guard !state.stopped else { return (nil, false) }
            let id = state.timers.insert(deadline, body)
            defer { state.sleeping = false }
            return (id, state.sleeping)
        }
        if wake { wakeUp() }
        guard let id else {
            Self.runLater(deadline, body)
            return ScheduledWork(id: 0)
        }
        return ScheduledWork(id: id)
    }

    /// Runs `body` at `deadline` on the global pool (for timers outliving the thread).
    private static func runLater(_ deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () -> Void) {
        Task.detached {
            try? await Task.sleep(until: deadline, clock: .continuous)
            body()
        }
    }

    /// Cancels `work` if it has not run yet.
    public func cancel(_ work: ScheduledWork) {
        state.withLock { $0.timers.remove(work.id) }
    }

    /// Has the thread wait on `source` too, between jobs, until it reports itself finished.
    func add(_ source: any RedisEventSource) {
        let wake = state.withLock { state in
            state.newSources.append(source)
            defer { state.sleeping = false }
            return state.sleeping
        }
        if wake { wakeUp() }
    }

    /// Has the thread service its sources soon (one of them has something to send): at once
    /// if it sleeps, else before it sleeps again.
    func poke() {
        let wake = state.withLock { state in
            state.poked = true
            defer { state.sleeping = false }
            return state.sleeping
        }
        if wake { wakeUp() }
    }

    /// Lets the thread finish the work queued so far and end. Tasks preferring the loop after
    /// this run on the global pool instead.
    public func shutdown() {
        let wake = state.withLock { state in
            state.stopped = true
            defer { state.sleeping = false }
            return state.sleeping
        }
        if wake { wakeUp() }
    }

    private func submit(_ work: Work) {
        let (accepted, wake) = state.withLock { state -> (Bool, Bool) in
            guard !state.stopped else { return (false, false) }
            state.work.append(work)
            defer { state.sleeping = false }
            return (true, state.sleeping)
        }
        if wake { wakeUp() }
        guard !accepted else { return }
        // Stopped: nothing may be lost, so run it on the global pool.
        switch work {
        case .job(let job): globalConcurrentExecutor.enqueue(ExecutorJob(job))
        case .closure(let body): Task.detached { body() }
        }
    }

    /// One byte per sleep: `sleeping` is cleared by whoever writes it.
    private func wakeUp() {
        var byte: UInt8 = 1
        while write(wakeWrite, &byte, 1) < 0 && errno == EINTR {}
    }

    private func run() {
        threadID.store(UInt(pthread_self()), ordering: .releasing)
        let executor = asUnownedTaskExecutor()
        var consecutiveBatches = 0
        while true {
            let now = ContinuousClock.now
            let (batch, added, stopped, poked, nextDeadline) = state.withLock {
                state -> ([Work], [any RedisEventSource], Bool, Bool, ContinuousClock.Instant?) in
                while let due = state.timers.popDue(at: now) { state.work.append(.closure(due)) }
                let nextDeadline = state.timers.nextDeadline
                if state.work.isEmpty && !state.poked { state.sleeping = !state.stopped }
                defer {
                    state.work = []
                    state.newSources = []
                    state.poked = false
                }
                return (state.work, state.newSources, state.stopped, state.poked, nextDeadline)
            }
            for source in added { sources.append((source, source.service(readable: false))) }
            for work in batch {
                switch work {
                case .job(let job): job.runSynchronously(on: executor)
                case .closure(let body): body()
                }
            }
            if batch.isEmpty && stopped {
                for entry in sources { entry.source.loopStopped() }
                sources = []
                for timer in state.withLock({ $0.timers.removeAll() }) { Self.runLater(timer.deadline, timer.body) }
                break
            }
            // Jobs those just run queued (the next steps of tasks they resumed) run first, so
            // their commands join the same writes; but only after small batches, and not
            // forever: a busy loop must not starve its sockets.
            if !batch.isEmpty && batch.count <= Self.smallBatch && consecutiveBatches < Self.batchesBetweenPolls && state.withLock({ !$0.work.isEmpty }) {
                consecutiveBatches += 1
                continue
            }
            consecutiveBatches = 0
            // With nothing to run, sleep until a job, a source's socket or its timer; after
            // running jobs, only look.
            if batch.isEmpty || !sources.isEmpty {
                waitForEvents(blocking: batch.isEmpty && !poked, until: nextDeadline.map { now.duration(to: $0) })
            }
        }
        threadID.store(0, ordering: .releasing)
    }

    /// The largest batch after which the jobs it queued run before the sources are looked at
    /// (a few tasks, one step at a time: the latency case). After larger ones the sockets are
    /// looked at first, so Redis gets the writes while the loop runs the next jobs: keeping
    /// Redis busy in parallel is what a drain's rate depends on.
    private static let smallBatch = 4
    /// How many batches of jobs may run back to back before the sources are looked at.
    private static let batchesBetweenPolls = 16

    /// Polls the wake-up pipe and every source's socket, then services every source.
    ///
    /// - Parameter timer: when the next scheduled closure is due, if any.
    private func waitForEvents(blocking: Bool, until timer: Duration?) {
        var descriptors = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        var timeout: Int32 = blocking ? -1 : 0
        func limit(_ after: Duration) {
            let (seconds, attoseconds) = after.components
            let milliseconds = Int32(clamping: max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1))
            timeout = timeout < 0 ? milliseconds : min(timeout, milliseconds)
        }
        if blocking, let timer { limit(timer) }
        for entry in sources {
            if let descriptor = entry.wait.descriptor {
                descriptors.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0))
            }
            if blocking, let after = entry.wait.timeout { limit(after) }
        }
        while poll(&descriptors, nfds_t(descriptors.count), timeout) < 0 && errno == EINTR {}
        // Awake again: work the sources now hand over (a task resumed by a reply) must not
        // write to the pipe to wake this very thread.
        if blocking { state.withLock { $0.sleeping = false } }
        if descriptors[0].revents != 0 {
            var sink = [UInt8](repeating: 0, count: 64)
            while read(wakeRead, &sink, 64) > 0 {}
        }
        var next = 1
        for index in sources.indices {
            var readable = false
            if sources[index].wait.descriptor != nil {
                readable = descriptors[next].revents != 0
                next += 1
            }
            sources[index].wait = sources[index].source.service(readable: readable)
        }
        sources.removeAll { $0.wait.isFinished }
    }
}

/// What a ``RedisEventSource`` waits for next.
struct RedisEventWait {
    /// The socket to watch for reading, if any.
    var descriptor: Int32?
    /// How long to wait at most before servicing the source again (a reconnection's back-off).
    var timeout: Duration?
    /// The source is done: the loop forgets it.
    var isFinished = false
}

/// Something a ``RedisEventLoop`` services between jobs, on its thread: a pub/sub connection
/// reading its socket when it has data.
protocol RedisEventSource: AnyObject, Sendable {
    /// Does what can be done without waiting (connect, send, read what `readable` says is
    /// there, hand out replies) and says what to wait for next.
    func service(readable: Bool) -> RedisEventWait

    /// The loop is ending: the last call, on its thread; whoever still waits must be told.
    func loopStopped()
}

/// The loop's scheduled closures: swift-collections' min-heap of deadlines over a table of
/// closures. A cancelled closure leaves the table at once and its heap entry when it surfaces
/// (or when stale entries outnumber live ones, so long timeouts cancelled early cannot pile up).
struct TimerQueue {
    private struct Entry: Comparable {
        var deadline: ContinuousClock.Instant
        var id: UInt64
        static func < (a: Entry, b: Entry) -> Bool { (a.deadline, a.id) < (b.deadline, b.id) }
    }

    private var heap = Heap<Entry>()
    private var bodies: [UInt64: @Sendable () -> Void] = [:]
    private var lastID: UInt64 = 0

    /// Adds `body`, due at `deadline`; returns its id.
    mutating func insert(_ deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () -> Void) -> UInt64 {
        lastID += 1
        bodies[lastID] = body
        heap.insert(Entry(deadline: deadline, id: lastID))
        return lastID
    }

    /// Takes out every closure still wanted, with its deadline.
    mutating func removeAll() -> [(deadline: ContinuousClock.Instant, body: @Sendable () -> Void)] {
        defer {
            heap = Heap()
            bodies = [:]
        }
        return heap.unordered.compactMap { entry in bodies[entry.id].map { (entry.deadline, $0) } }
    }

    /// Forgets the closure `id` (nothing when it already ran).
    mutating func remove(_ id: UInt64) {
        guard bodies.removeValue(forKey: id) != nil else { return }
        if heap.count > 64 && heap.count > 2 * bodies.count {
            heap = Heap(heap.unordered.filter { bodies[$0.id] != nil })
        }
    }

    /// The earliest deadline still wanted.
    var nextDeadline: ContinuousClock.Instant? {
        mutating get {
            dropCancelledTop()
            return heap.min?.deadline
        }
    }

    /// Takes out the earliest closure due at `now`, if any.
    mutating func popDue(at now: ContinuousClock.Instant) -> (@Sendable () -> Void)? {
        dropCancelledTop()
        guard let top = heap.min, top.deadline <= now else { return nil }
        heap.removeMin()
        return bodies.removeValue(forKey: top.id)
    }

    private mutating func dropCancelledTop() {
        while let top = heap.min, bodies[top.id] == nil { heap.removeMin() }
    }
}
