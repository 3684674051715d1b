#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The process-wide POSIX calls a worker process needs, in one place (as NIO's `System.swift`
/// keeps its syscalls): broken pipes, terminals and re-executing the program.
enum Posix {
    /// Ignores SIGPIPE for the whole process, as CPython does at start-up. A write to a socket
    /// whose peer went away, or to a log pipe whose reader exited (`worker | head`), then fails
    /// with `EPIPE` where it is handled (a lost log line, a reconnect) instead of killing the
    /// process with messages still held. Idempotent.
    static func ignoreBrokenPipe() {
        #if canImport(Glibc) || canImport(Musl)
        _ = signal(SIGPIPE, SIG_IGN)
        #endif
    }

    /// Whether `fd` is a terminal (Celery asks it of stdout before it installs its SIGHUP restart).
    static func isTerminal(_ fd: Int32) -> Bool {
        isatty(fd) == 1
    }

    /// An error from a system call, with its `errno`.
    struct CallError: Error, Sendable, CustomStringConvertible {
        /// The call that failed.
        var call: String
        /// Its `errno`.
        var errno: Int32
        var description: String { "\(call): \(String(cString: strerror(errno)))" }
    }

    /// Replaces the process with a new run of the same program and arguments, in the same pid
    /// (Celery's SIGHUP restart, `os.execv(sys.executable, [sys.executable] + sys.argv)`).
    /// Descriptors above stderr are closed on exec, as Celery closes them first, so a listening
    /// socket (metrics) or a Redis connection is not inherited. Returns only by throwing.
    static func reexecute(arguments: [String]) throws(CallError) -> Never {
        markDescriptorsCloseOnExec(from: 3)
        fflush(nil)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        execv("/proc/self/exe", argv)
        throw CallError(call: "execv(/proc/self/exe)", errno: errno)
    }

    /// Sets FD_CLOEXEC on every open descriptor from `first` up (read from /proc/self/fd).
    private static func markDescriptorsCloseOnExec(from first: Int32) {
        guard let directory = opendir("/proc/self/fd") else { return }
        defer { closedir(directory) }
        let own = dirfd(directory)
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard let fd = Int32(name), fd >= first, fd != own else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }
}
