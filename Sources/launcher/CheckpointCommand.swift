import ArgumentParser
import DistTrainer
import Foundation
import Model

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
        var worst = 0.0
        for name in a.sectionNames {
            guard b.count(of: name) == a.count(of: name) else {
                throw ValidationError("section \(name) has \(a.count(of: name)!) floats in \(first) but \(b.count(of: name).map(String.init) ?? "none") in \(second)")
            }
            let x = try a.values(name), y = try b.values(name)
            var maxDiff = 0.0, identical = true
            for i in 0..<x.count {
                if x[i].bitPattern != y[i].bitPattern { identical = false }
                maxDiff = max(maxDiff, Double(abs(x[i] - y[i])))
            }
            if maxDiff.isNaN || x.contains(where: \.isNaN) != y.contains(where: \.isNaN) { maxDiff = .infinity }
            worst = max(worst, maxDiff)
            print("\(name): max |diff| " + String(format: "%.3e", maxDiff) + (identical ? " (bit-identical)" : ""))
        }
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
        let state = try TrainingState(contentsOfFile: path)
        let vit = try state.decodeMetadata(ViTConfig.self, key: "model")
        let jepa = JEPAModel(config: vit, samples: 1250)
        // The JEPA store starts with the encoder under "encoder.", so one buffer serves both sections.
        let section = online ? "params" : "target"
        let count = online ? jepa.params.count : jepa.target.count
        try state.copy(section, into: jepa.params.values, count: count)
        var metadata = ["model": try TrainingStateWriter.metadataString(vit), "source": path,
                        "encoder": online ? "online" : "ema-target"]
        metadata["step"] = state.metadata["step"]
        try Safetensors.write(layout: jepa.target.layout, values: jepa.params.values, prefix: "encoder.",
                              metadata: metadata, toFile: out)
        print("wrote \(out): \(vit.name) encoder (\(metadata["encoder"]!), step \(metadata["step"] ?? "?"))")
    }
}
