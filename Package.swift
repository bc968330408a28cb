// swift-tools-version:5.9
import PackageDescription

import Foundation

// Hot kernels are Swift SIMD code: they need a vector ISA (Swift's default x86 target is SSE2) and
// no bounds checks. The ISA is chosen when the package is built:
//   * AVX-512 (`skylake-avx512`: F/CD/BW/DQ/VL, every AVX-512 CPU since Skylake-SP, AMD Zen 4 and
//     later) when the building machine has it — the engine's elementwise kernels (GELU, softmax,
//     LayerNorm) then take half the instructions: +3–4 % on the vit-xs step, measured;
//   * otherwise AVX2/FMA (`haswell`, x86-64-v3).
// Building on one machine and running on another: set ECG_DIST_TARGET_CPU=haswell (or any
// -target-cpu name) for the build. The binary checks at start-up that the CPU has what it was
// compiled for and exits with a message instead of crashing on an illegal instruction.
func kernelTargetCPU() -> String {
    if let forced = ProcessInfo.processInfo.environment["ECG_DIST_TARGET_CPU"], !forced.isEmpty { return forced }
    guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return "haswell" }
    let flags = Set(flagsLine.split(separator: " ").map(String.init))
    let avx512 = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
    return avx512.allSatisfy(flags.contains) ? "skylake-avx512" : "haswell"
}
let targetCPU = kernelTargetCPU()

let fastSwift: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
    // -fno-math-errno lets sqrt vectorize (no errno side effect); results are bit-identical.
    .unsafeFlags(["-target-cpu", targetCPU, "-Xcc", "-fno-math-errno"]),
] + isaDefine(targetCPU)

/// Tells the start-up ISA check (Model/KernelISA.swift) what to require; none for a custom
/// ECG_DIST_TARGET_CPU (not checked).
func isaDefine(_ cpu: String) -> [SwiftSetting] {
    switch cpu {
    case "skylake-avx512": return [.define("ECG_ISA_AVX512")]
    case "haswell": return [.define("ECG_ISA_AVX2")]
    default: return []
    }
}

// -Ounchecked is for the numbers only (Model's kernels). Everything that reads outside input keeps
// Swift's bounds and overflow checks (plain -O in release): WFDB, CSV and HDF5 corpora (ECGData),
// checkpoints, safetensors and --model specs (ModelIO), the file layer (FileIO), the JSON run
// config (DistTrainer), command-line flags (launcher), and the evaluation harness. A malformed file
// must end in an error naming it, never in a trap or an out-of-bounds read; docs/fuzzing.md fuzzes
// these parsers. They still get the vector ISA for their numeric loops (synthesis, resampling,
// normalisation).
let checkedSwift: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", targetCPU, "-Xcc", "-fno-math-errno"]),
]

// Dependencies read downwards: launcher → DistTrainer (MPI) → Evaluation → ECGData → Model → FileIO
// and the C shims; ModelIO (checkpoint files, on top of Model) is used by DistTrainer and launcher.
// Everything below DistTrainer is MPI-free: it never imports MPIShim and its
// tests run with plain `swift test`.
// DistTrainer is checked: its own code moves no floats in loops (the all-reduce is MPI's C code,
// normalisation is ECGData's, the optimizer/EMA/clipping are Model's kernels); it parses the JSON
// run config and checkpoint paths.
let package = Package(
    name: "ecg-dist",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ecg-dist", targets: ["launcher"]),
        .library(name: "Model", targets: ["Model"]),
        .library(name: "ModelIO", targets: ["ModelIO"]),
        .library(name: "ECGData", targets: ["ECGData"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .library(name: "DistTrainer", targets: ["DistTrainer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MPI: the C macros Swift cannot import are wrapped as static inline functions. It takes
        // hdf5.h (and with it mpi.h) from HDF5Shim, for the MPI-IO file access of parallel HDF5.
        .systemLibrary(name: "MPIShim", path: "Sources/MPIShim/mpi", pkgConfig: "hdf5-openmpi"),
        // HDF5 on its own module so that the data target reads and writes corpora without MPI.
        .systemLibrary(name: "HDF5Shim", path: "Sources/MPIShim/hdf5", pkgConfig: "hdf5-openmpi"),
        // CBLAS on its own module so that Model links BLAS without ever seeing MPI.
        .systemLibrary(name: "CBLASShim", path: "Sources/MPIShim/cblas", pkgConfig: "openblas"),
        // FileError, AtomicFile, readFileBytes, fnv1a64: the one file layer; Model re-exports it.
        .target(name: "FileIO", swiftSettings: checkedSwift),
        .target(name: "Model", dependencies: ["CBLASShim", "FileIO"], swiftSettings: fastSwift),
        // The model's files and flags: training-state checkpoints, safetensors, encoder loading,
        // the --model spec parser.
        .target(name: "ModelIO", dependencies: ["Model", "FileIO"], swiftSettings: checkedSwift),
        .target(name: "ECGData", dependencies: ["Model", "HDF5Shim"], swiftSettings: checkedSwift),
        .target(name: "Evaluation", dependencies: ["ECGData", "Model", "ModelIO"], swiftSettings: checkedSwift),
        .target(name: "DistTrainer", dependencies: ["Evaluation", "ECGData", "ModelIO", "Model", "MPIShim", "HDF5Shim"],
                swiftSettings: checkedSwift),
        .executableTarget(
            name: "launcher",
            dependencies: ["DistTrainer", "Evaluation", "ECGData", "ModelIO", "Model",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: checkedSwift),
        // Assertions shared by the test targets (tolerances relative to magnitude).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // What each fuzz target feeds its parser; shared by the fuzzer (below) and FuzzRegressionTests.
        .target(name: "FuzzTargets", dependencies: ["DistTrainer", "ECGData", "ModelIO", "Model"], path: "Tests/Fuzz/Targets",
                swiftSettings: checkedSwift),
        .testTarget(name: "ModelTests", dependencies: ["Model", "ModelIO", "TestSupport"], swiftSettings: fastSwift),
        .testTarget(name: "ECGDataTests", dependencies: ["ECGData", "Model", "TestSupport"], swiftSettings: checkedSwift),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "ECGData", "Model", "ModelIO", "TestSupport"], swiftSettings: checkedSwift),
        .testTarget(name: "DistTrainerTests", dependencies: ["DistTrainer", "ECGData", "ModelIO", "Model", "MPIShim", "HDF5Shim", "TestSupport"],
                    swiftSettings: checkedSwift),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzTargets", "FileIO"], path: "Tests/Fuzz/RegressionTests",
                    swiftSettings: checkedSwift),
    ]
)

// libFuzzer entry point (docs/fuzzing.md), only when scripts/fuzz.sh asks for it: it is built with
// -sanitize=fuzzer,address, which supplies its `main`, so a plain build could not link it.
if ProcessInfo.processInfo.environment["ECG_DIST_FUZZ"] == "1" {
    package.targets.append(.target(name: "FuzzDriver", path: "Tests/Fuzz/Driver"))
    package.targets.append(.executableTarget(
        name: "ecg-fuzz", dependencies: ["FuzzDriver", "FuzzTargets", "ModelIO", "Model"], path: "Tests/Fuzz/Main",
        swiftSettings: checkedSwift + [.unsafeFlags(["-parse-as-library"])]))
}
