import ArgumentParser
import Foundation
import Model
import ModelIO

/// `ecg-dist checkpoint`: look inside, compare and export pre-training checkpoints.
struct CheckpointTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Inspect, compare and export pre-training checkpoints.",
        subcommands: [CheckpointInfo.self, CheckpointDiff.self, CheckpointExport.self])
}

struct CheckpointInfo: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Print a checkpoint's step, config and sections.")
    @Argument(help: "Checkpoint file (.ckpt).") var path: String

    func run() throws {
        let state = try TrainingState(contentsOfFile: path)
        print("checkpoint \(path)")
        for key in state.metadata.keys.sorted() { print("  \(key): \(state.metadata[key]!)") }
        for name in state.sectionNames { print("  section \(name): \(state.count(of: name)!) floats") }
    }
}

struct CheckpointDiff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Max absolute difference per section between two checkpoints (exit 1 if above --tolerance).")
    @Argument(help: "First checkpoint.") var first: String
    @Argument(help: "Second checkpoint.") var second: String
    @Option(help: "Fail (exit 1) when any section differs by more than this.") var tolerance: Double?

    func run() throws {
        let a = try TrainingState(contentsOfFile: first), b = try TrainingState(contentsOfFile: second)
        print("step \(a.metadata["step"] ?? "?") vs \(b.metadata["step"] ?? "?")")
        let sections = try PretrainCheckpoint.diff(a, b)
        for d in sections {
            print("\(d.name): max |diff| " + String(format: "%.3e", d.maxAbsDifference) + (d.bitIdentical ? " (bit-identical)" : ""))
        }
        let worst = sections.map(\.maxAbsDifference).max() ?? 0
        print(String(format: "max |diff| over all sections: %.3e", worst))
        if let tolerance, worst > tolerance {
            throw ExitCode(1)
        }
    }
}

struct CheckpointExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export the encoder of a checkpoint as safetensors with PyTorch-style names.",
        discussion: "By default the EMA target encoder (what I-JEPA evaluates); --online exports the trained context encoder.")
    @Argument(help: "Checkpoint file (.ckpt).") var path: String
    @Option(help: "Output .safetensors file.") var out: String
    @Flag(help: "Export the online (context) encoder instead of the EMA target.") var online = false

    func run() throws {
        let (vit, metadata) = try PretrainCheckpoint.exportEncoder(checkpoint: path, online: online, to: out)
        print("wrote \(out): \(vit.name) encoder (\(metadata["encoder"]!), step \(metadata["step"] ?? "?"))")
    }
}
