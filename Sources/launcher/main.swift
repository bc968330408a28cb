import ArgumentParser
import Model

/// `ecg-dist`: JEPA pre-training of ECG Vision Transformers across MPI ranks.
/// Each subcommand lives in its own file in this folder.
struct ECGDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ecg-dist",
        abstract: "Distributed JEPA pre-training of ECG Vision Transformers (MPI + parallel HDF5).",
        subcommands: [Prepare.self, Info.self, Pretrain.self, Eval.self, CheckpointTool.self, Bench.self, Synth.self, Plot.self])
}

// Before anything else: the Swift code may use AVX-512 (see Package.swift); stop with a message
// on a CPU that lacks what it was compiled for.
KernelISA.requireOrExit()
ECGDist.main()
