import Glibc

// CPU clocks for rates that must not depend on what else runs on the machine (bench, synth):
// CPU time of this thread or process, not wall time.

/// CPU seconds used by the calling thread.
public func threadCPUSeconds() -> Double { cpuSeconds(CLOCK_THREAD_CPUTIME_ID) }

/// CPU seconds used by the whole process (all threads).
public func processCPUSeconds() -> Double { cpuSeconds(CLOCK_PROCESS_CPUTIME_ID) }

private func cpuSeconds(_ clock: clockid_t) -> Double {
    var ts = timespec()
    clock_gettime(clock, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
