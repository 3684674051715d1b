import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A thread of its own that runs the Redis calls of the connections given to it and, as a
/// Swift `TaskExecutor`, the tasks that prefer it.
///
/// A connection owned by the global pool answers every command with two thread wake-ups:
/// the caller's task hands the command to the connection's thread, which hands the reply
/// back. On this 2-core machine each wake-up costs about 20 µs, three times Redis's own
/// round trip over loopback. A task running on this loop (see `withTaskExecutorPreference`)
/// instead calls Redis on the spot, blocking this thread, which belongs to nobody else:
/// one `LPUSH` costs what it costs in C, and a reply that resumes a task running here
/// needs no wake-up at all. Callers elsewhere still get the connection's group commit:
/// their commands wait in the connection and go out together on this thread.
///
/// `@unchecked Sendable`: the work queue sits behind a mutex; everything else is immutable
/// or atomic.
public final class RedisEventLoop: TaskExecutor, @unchecked Sendable {
    private enum Work {
        case job(UnownedJob)
        case closure(@Sendable () -> Void)
    }

    private struct State {
        var work: [Work] = []
        /// The thread waits on `wakeDescriptor` (an enqueue must write to it).
        var sleeping = false
        var stopped = false
    }

    private let state = Mutex(State())
    /// A pipe the thread reads (blocking) while it has nothing to run, and its write end.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    /// The loop thread's `pthread_t`, once it started.
    private let threadID = Atomic<UInt>(0)

    /// Starts the loop's thread.
    public init() {
        var descriptors: [Int32] = [0, 0]
        _ = pipe(&descriptors)
        wakeRead = descriptors[0]
        wakeWrite = descriptors[1]
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
        while true {
            let (batch, stopped) = state.withLock { state -> ([Work], Bool) in
                if state.work.isEmpty { state.sleeping = !state.stopped }
                defer { state.work = [] }
                return (state.work, state.stopped)
            }
            if batch.isEmpty {
                if stopped { break }
                var byte: UInt8 = 0
                while read(wakeRead, &byte, 1) < 0 && errno == EINTR {}
                continue
            }
            for work in batch {
                switch work {
                case .job(let job): job.runSynchronously(on: executor)
                case .closure(let body): body()
                }
            }
        }
        threadID.store(0, ordering: .releasing)
    }
}
