#if canImport(Glibc)
import Glibc
#endif

extension CeleryWorker {
    /// Tunes glibc's `malloc` for a process whose main job is a worker moving large messages;
    /// call it once, first thing in `main` (the `interop-worker` executable does).
    ///
    /// By default glibc gives every buffer of 128 KiB or more a fresh `mmap`, hands the free
    /// top of its heaps back to the kernel, and spreads threads over up to eight arenas per
    /// core, so a worker page-faults and zeroes the buffers of every large task anew: about
    /// 120 page faults per 100 KB echo task, a quarter of its CPU. This keeps buffers of up
    /// to 32 MiB in the heap, gives memory back only once 64 MiB lie free at a heap's top,
    /// and uses one arena per two cores. Measured on 2 cores, a backlog of 100 KB echo tasks:
    /// 1,800 → 2,400 tasks/s, worker CPU 550 → 400 µs and 120 → 25 page faults per task;
    /// `bench.noop` unchanged.
    ///
    /// The cost: after a burst of large messages, up to 64 MiB of freed memory stays with
    /// the process. Does nothing when `GLIBC_TUNABLES` already sets malloc parameters, or
    /// on another C library.
    public static func tuneMemoryAllocator() {
        #if canImport(Glibc)
        if let tunables = getenv("GLIBC_TUNABLES"), String(cString: tunables).contains("glibc.malloc.") { return }
        // mallopt(3) is looked up rather than imported: Swift's Glibc module leaves malloc.h out.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3, arenaMax: Int32 = -8  // M_* of malloc.h
        let cores = Int32(clamping: sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        _ = mallopt(mmapThreshold, 32 << 20)
        _ = mallopt(trimThreshold, 64 << 20)
        _ = mallopt(arenaMax, max(1, cores / 2))
        #endif
    }
}
