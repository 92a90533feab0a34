#if canImport(Glibc)
import Glibc
#endif

/// The clocks the benchmarks read, in nanoseconds: one place for the `clock_gettime` calls.
enum BenchClock {
    /// `CLOCK_MONOTONIC`: the clock `perf -k monotonic` and `clock_nanosleep` use, so a timeline
    /// written from it lines up with kernel traces and absolute sleeps.
    static func monotonicNanos() -> Int64 { read(CLOCK_MONOTONIC) }

    /// `CLOCK_REALTIME`: the clock of the kernel's socket timestamps (`SO_TIMESTAMPNS`).
    static func realtimeNanos() -> Int64 { read(CLOCK_REALTIME) }

    /// CPU time of every thread of this process so far.
    static func processCPUNanos() -> Int64 { read(CLOCK_PROCESS_CPUTIME_ID) }

    /// CPU time of the calling thread so far.
    static func threadCPUNanos() -> Int64 { read(CLOCK_THREAD_CPUTIME_ID) }

    private static func read(_ clock: clockid_t) -> Int64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
