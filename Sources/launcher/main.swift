import ArgumentParser
import Model

/// `ecg-dist`: JEPA pre-training of ECG Vision Transformers across MPI ranks.
/// Each subcommand lives in its own file in this folder.
struct ECGDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ecg-dist",
        abstract: "Distributed JEPA pre-training of ECG Vision Transformers (MPI + parallel HDF5).",
        version: "ecg-dist \(ModelInfo.version)\nengine kernels \(KernelISA.name)\nOpenBLAS core \(BLASCore.summary)",
        subcommands: [Prepare.self, Info.self, Pretrain.self, Eval.self, Predict.self, Embed.self, Compare.self, CheckpointTool.self, Bench.self, CommBench.self, Synth.self, Plot.self, Launch.self])
}

// Before anything else: the Swift code may use AVX-512 (see Package.swift); stop with a message
// on a CPU that lacks what it was compiled for.
KernelISA.requireOrExit()
// Then, before MPI_Init and any BLAS call: re-exec once if OpenBLAS picked weaker kernels than the
// CPU runs (it does on CPU models newer than the installed OpenBLAS; see Model/Kernels/BLASCore.swift).
BLASCore.ensureBestCore()
ECGDist.main()
