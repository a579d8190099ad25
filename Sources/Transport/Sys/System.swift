import CLinux
import Glibc

/// Process-wide facts and settings the transport needs.
package enum System {
    /// Online CPU cores.
    package static var coreCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Raises the soft open-file limit to the hard limit, so `maxConnections` is not capped by
    /// the default 1024. Returns the new soft limit.
    @discardableResult
    package static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return Int(clamping: limit.rlim_cur)
    }

    /// Keeps up to 32 MB of freed memory at the top of each malloc arena instead of handing it
    /// back at once. glibc's default (128 KB, raised dynamically) made the writer thread return
    /// and re-fault its heap on every group commit: `madvise` and page faults were a quarter of
    /// its time under single-event ingestion, and this setting raised that workload by about a
    /// third (docs/BENCHMARKS.md). An explicit `GLIBC_TUNABLES` setting is left alone.
    package static func tuneMalloc() {
        if let tunables = getenv("GLIBC_TUNABLES"), String(cString: tunables).contains("malloc.trim") { return }
        _ = clinux_set_malloc_trim_threshold(32 << 20)
    }

    /// Writing to a closed socket must fail with EPIPE, not kill the process.
    package static func ignoreSIGPIPE() {
        signal(SIGPIPE, SIG_IGN)
    }
}
