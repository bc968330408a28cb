import CBLASShim

/// The vector instruction set the engine's Swift kernels were compiled for (chosen by Package.swift
/// from the building machine or ECG_DIST_TARGET_CPU) and the start-up check that this CPU has it.
public enum KernelISA {
    #if ECG_ISA_AVX512
    public static let name = "AVX-512 (skylake-avx512)"
    static let level: Int32 = 3
    #elseif ECG_ISA_AVX2
    public static let name = "AVX2/FMA (haswell)"
    static let level: Int32 = 2
    #else
    public static let name = "custom -target-cpu (ECG_DIST_TARGET_CPU)"
    static let level: Int32 = 0   // unknown: not checked
    #endif

    public static var supportedByThisCPU: Bool { level == 0 || shim_cpu_supports_isa(level) != 0 }

    /// Call first thing in a process: exits with status 2 and a message (printed by C code, so no
    /// compiled-for-this-ISA code runs first) if the CPU lacks the instructions.
    public static func requireOrExit() {
        if !supportedByThisCPU { shim_exit_unsupported_isa(name) }
    }
}
