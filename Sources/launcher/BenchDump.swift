import ArgumentParser
import Foundation
import Model

// `ecg-dist bench --dump DIR` (hidden): one JEPA step for bench/torch_reference.py (see ReferenceDump).

func benchSGEMM(m: Int, n: Int, k: Int, a: [Float], b: [Float], c: inout [Float]) {
    ModelBenchHooks.sgemm(m: m, n: n, k: k, a: a, b: b, c: &c)
}

extension Bench {
    func writeDump(directory: String, config: ViTConfig) throws {
        let patches = samples / config.patchSize
        let mask = benchMask(patches: patches, context: min(context, patches - 1))
        let loss = try ReferenceDump.write(directory: directory, config: config, batch: 3, samples: samples,
                                           contextIndices: mask.context, targetIndices: mask.target)
        print("wrote JEPA step dump (\(config.name), batch 3, loss \(loss)) to \(directory)")
    }
}
