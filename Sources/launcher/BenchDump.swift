import ArgumentParser
import Foundation
import Model

// `ecg-dist bench --dump DIR` (hidden): one JEPA step for bench/torch_reference.py (see ReferenceDump).

func benchSGEMM(m: Int, n: Int, k: Int, a: [Float], b: [Float], c: inout [Float]) {
    ModelBenchHooks.sgemm(m: m, n: n, k: k, a: a, b: b, c: &c)
}

extension Bench {
    /// Dumps with the engine on `threads` threads (the first of --threads), so the parallel path is
    /// cross-checked too: `ecg-dist bench --dump DIR --threads 2`.
    func writeDump(directory: String, config: ViTConfig, threads: Int) throws {
        EngineThreads.set(threads)
        let patches = samples / config.patchSize
        let mask = benchMask(patches: patches, context: min(context, patches - 1))
        let loss = try ReferenceDump.write(directory: directory, config: config, batch: 3, samples: samples,
                                           contextIndices: mask.context, targetIndices: mask.target)
        print("wrote JEPA step dump (\(config.name), batch 3, \(threads) thread(s), loss \(loss)) to \(directory)")
    }
}

extension Bench {
    /// `--phases`: seconds and GFLOP/s of each part of one JEPA step (vit config, first batch), to
    /// see which part falls behind the sgemm rate. Uses the public pieces the step is made of.
    func printPhases(config: ViTConfig, batch: Int, mask: (context: [Int], target: [Int])) {
        let model = JEPAModel(config: config, samples: samples)
        model.initialize(seed: 1)
        let input = randomInput(count: batch * samples * 12, seed: 3)
        let w = UnsafePointer(model.params.values), g = model.params.grads
        let patches = samples / config.patchSize, nc = mask.context.count, nt = mask.target.count
        let dPred = [Float](repeating: 1e-3, count: batch * nt * config.dim)
        let dCtx = [Float](repeating: 1e-3, count: batch * (1 + nc) * config.dim)
        func best(_ body: () -> Void) -> Double { body(); return timeBest(max(2, repeats)) { body() }.cpu }
        let encoder = model.encoder, predictor = model.predictor
        encoder.keepsActivationsForBackward = false
        let target = best { _ = encoder.forward(weights: w, input: input, batch: batch, samples: samples) }
        encoder.keepsActivationsForBackward = true
        let ctxOut = encoder.forward(weights: w, input: input, batch: batch, samples: samples, patchIndices: mask.context)
        let context = best { _ = encoder.forward(weights: w, input: input, batch: batch, samples: samples, patchIndices: mask.context) }
        let predFwd = best { _ = predictor.forward(weights: w, encoderOutput: ctxOut, batch: batch, totalPatches: patches,
                                                   contextIndices: mask.context, targetIndices: mask.target) }
        let predBwd = best {
            _ = predictor.forward(weights: w, encoderOutput: ctxOut, batch: batch, totalPatches: patches,
                                  contextIndices: mask.context, targetIndices: mask.target)
            _ = predictor.backward(weights: w, grads: g, dPrediction: dPred, onGradientsReady: nil)
        } - predFwd
        let encBwd = best {
            _ = encoder.forward(weights: w, input: input, batch: batch, samples: samples, patchIndices: mask.context)
            encoder.backward(weights: w, grads: g, dOutput: dCtx, onGradientsReady: nil)
        } - context
        let b = Double(batch)
        let rows: [(String, Double, Double)] = [
            ("target encoder fwd (all tokens)", target, FLOPCount.encoderForward(config, patches: patches)),
            ("context encoder fwd", context, FLOPCount.encoderForward(config, patches: nc)),
            ("predictor fwd", predFwd, FLOPCount.predictorForward(config, context: nc, targets: nt)),
            ("predictor bwd", predBwd, 2 * FLOPCount.predictorForward(config, context: nc, targets: nt)),
            ("context encoder bwd", encBwd, 2 * FLOPCount.encoderForward(config, patches: nc)),
        ]
        print("\nphases (\(config.name), batch \(batch), CPU time, \(EngineThreads.count) thread(s)):")
        for (name, seconds, flops) in rows {
            let label = name.padding(toLength: 32, withPad: " ", startingAt: 0)
            print("  " + label + String(format: " %8.1f ms %8.1f GFLOP/s", seconds * 1e3, b * flops / seconds / 1e9))
        }
    }
}

