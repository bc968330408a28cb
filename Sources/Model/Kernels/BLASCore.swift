import CBLASShim
#if canImport(Glibc)
import Glibc
#endif

/// Which OpenBLAS kernel family (its "core") does the GEMMs, and the start-up fix for when
/// OpenBLAS picked a weaker one than the CPU runs.
///
/// Debian's OpenBLAS (DYNAMIC_ARCH) chooses its kernels once, when the library loads, from the CPU
/// model number. On models newer than its release (e.g. recent Xeons) it falls back to its SSE3
/// "Prescott" kernels, which run sgemm 3–5× slower than the AVX-512 ones the CPU has. The choice
/// cannot be changed inside a running process, so `ensureBestCore` — called first thing in `main`,
/// before MPI_Init and before any BLAS call — re-executes the process once with OPENBLAS_CORETYPE
/// set to the best core for the CPU's instruction set. The PID, arguments and the rest of the
/// environment stay the same, so it works alike under mpirun, srun and a plain start. On a CPU that
/// OpenBLAS already knows, it costs one CPUID and a string comparison.
public enum BLASCore {
    /// Kernel families OpenBLAS 0.3.x can be forced to, best first, with the level of
    /// `shim_cpu_blas_level` each needs (4 AVX-512+BF16, 3 AVX-512, 2 AVX2/FMA, 1 AVX).
    static let candidates: [(name: String, level: Int)] = [
        ("Cooperlake", 4), ("SkylakeX", 3), ("Haswell", 2), ("Sandybridge", 1),
    ]

    /// The level a loaded core needs (so: the best the core can use). nil for names not listed:
    /// a newer OpenBLAS with a core this table does not know is trusted as it is.
    static func level(ofCore name: String) -> Int? {
        switch name.lowercased() {
        case "sapphirerapids", "cooperlake": return 4
        case "skylakex": return 3
        case "haswell", "zen": return 2
        case "sandybridge", "bulldozer", "piledriver", "steamroller", "excavator": return 1
        case "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "nano", "barcelona", "bobcat",
             "opteron", "opteron_sse3", "athlon", "katmai", "coppermine", "northwood", "banias", "generic":
            return 0
        default: return nil
        }
    }

    /// Environment variables of the fix. `marker` carries, across the re-exec, the core OpenBLAS
    /// had picked and the cores tried so far ("from=Prescott;tried=Cooperlake,SkylakeX"), so that a
    /// core missing from the installed OpenBLAS (it then falls back to its own pick) leads to the
    /// next candidate, never to a loop.
    static let marker = "ECG_DIST_BLAS_CORE_FIX"
    /// Test-only switch: treat OPENBLAS_CORETYPE as OpenBLAS's own (mis)detection instead of the
    /// user's choice, so a test can start the binary on Prescott kernels and see them replaced.
    static let simulateMisdetection = "ECG_DIST_TEST_CORETYPE_IS_DETECTION"

    /// What to do at start-up; a pure function of the state so it can be tested without re-exec.
    public enum Decision: Equatable {
        case keep
        case reexec(core: String)
    }

    public struct State: Equatable {
        public var loadedCore: String
        public var cpuLevel: Int
        /// OPENBLAS_CORETYPE as the user set it (nil when unset or when it was set by this fix).
        public var userCoreType: String?
        public var tried: [String]
        public init(loadedCore: String, cpuLevel: Int, userCoreType: String?, tried: [String]) {
            self.loadedCore = loadedCore; self.cpuLevel = cpuLevel; self.userCoreType = userCoreType; self.tried = tried
        }
    }

    public static func decide(_ s: State) -> Decision {
        if let user = s.userCoreType, !user.isEmpty { return .keep }     // the user's choice wins
        guard let loaded = level(ofCore: s.loadedCore), loaded < s.cpuLevel else { return .keep }
        let tried = Set(s.tried.map { $0.lowercased() })
        let next = candidates.first { $0.level <= s.cpuLevel && $0.level > loaded && !tried.contains($0.name.lowercased()) }
        return next.map { .reexec(core: $0.name) } ?? .keep
    }

    public static var loadedCore: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }
    public static var cpuLevel: Int { Int(shim_cpu_blas_level()) }

    static func env(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    /// (picked by OpenBLAS, tried) from the marker, or nil if this process was not re-executed.
    static func parseMarker(_ value: String?) -> (from: String, tried: [String])? {
        guard let value, !value.isEmpty else { return nil }
        var from = "", tried: [String] = []
        for field in value.split(separator: ";") {
            let kv = field.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { continue }
            if kv[0] == "from" { from = kv[1] }
            if kv[0] == "tried" { tried = kv[1].split(separator: ",").map(String.init) }
        }
        return (from, tried)
    }

    static func currentState() -> State {
        let fix = parseMarker(env(marker))
        let simulated = env(simulateMisdetection) == "1"
        let user = (fix == nil && !simulated) ? env("OPENBLAS_CORETYPE") : nil
        return State(loadedCore: loadedCore, cpuLevel: cpuLevel, userCoreType: user, tried: fix?.tried ?? [])
    }

    /// Call first thing in `main` (before MPI_Init): re-executes this process with a better
    /// OPENBLAS_CORETYPE when OpenBLAS picked a weaker core than the CPU runs. Returns normally
    /// when nothing is to be done (or the re-exec failed, which leaves the process as it was).
    public static func ensureBestCore() {
        let state = currentState()
        guard case .reexec(let core) = decide(state) else { return }
        let from = parseMarker(env(marker))?.from ?? state.loadedCore
        let record = "from=\(from);tried=\((state.tried + [core]).joined(separator: ","))"
        setenv(marker, record, 1)
        setenv("OPENBLAS_CORETYPE", core, 1)
        unsetenv(simulateMisdetection)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached if exec failed: carry on with the kernels we have, and say so in `summary`.
        setenv(marker, record + ";failed=exec", 1)
    }

    /// One line for `bench` and the pretrain start line: the core in use and why.
    public static var summary: String {
        let core = loadedCore
        let cpu = ["SSE", "AVX", "AVX2/FMA", "AVX-512", "AVX-512+BF16"][min(max(cpuLevel, 0), 4)]
        if let fix = parseMarker(env(marker)) {
            if let tried = fix.tried.last, tried.lowercased() == core.lowercased() {
                return "\(core) (OpenBLAS picked \(fix.from) on this \(cpu) CPU; ecg-dist restarted with OPENBLAS_CORETYPE=\(core))"
            }
            return "\(core) (OpenBLAS picked \(fix.from) on this \(cpu) CPU; tried \(fix.tried.joined(separator: ", ")) without success)"
        }
        if let user = env("OPENBLAS_CORETYPE"), !user.isEmpty {
            return "\(core) (set by OPENBLAS_CORETYPE=\(user); this CPU runs \(cpu))"
        }
        return "\(core) (OpenBLAS's choice; this CPU runs \(cpu))"
    }
}
