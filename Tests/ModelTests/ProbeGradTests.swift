import Foundation
import XCTest
@testable import Model

/// Attentive probe backward vs central finite differences of its forward, for every parameter
/// tensor and for the input tokens (the gradient fine-tuning sends into the encoder).
final class ProbeGradTests: XCTestCase {
    let dim = 8, heads = 2, labels = 3, batch = 3, tokens = 5

    /// Loss = Σ logits ⊙ R with fixed random R, summed in Double, so dLogits = R.
    func loss(_ probe: AttentiveProbe, _ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ r: [Float]) -> Double {
        let out = probe.forward(weights: w, tokens: x, batch: batch, tokenCount: tokens)
        var s = 0.0
        for i in 0..<(batch * labels) { s += Double(out[i]) * Double(r[i]) }
        return s
    }

    func testGradientsMatchFiniteDifferences() throws {
        var layout = ParameterLayout()
        let probe = AttentiveProbe(dim: dim, heads: heads, labels: labels, layout: &layout, prefix: "probe.")
        let store = ParameterStore(layout: layout)
        probe.initialize(store.values, seed: 1)
        // Larger-than-init weights so attention is far from uniform and every path matters.
        var rng = SplitMix64(seed: 42, stream: 0)
        for spec in layout.specs where !spec.name.hasPrefix("probe.norm") {
            for i in spec.range { store.values[i] = rng.nextNormal() * 0.5 }
        }
        for i in layout.spec(named: "probe.norm.weight")!.range { store.values[i] = 1 + 0.3 * rng.nextNormal() }
        for i in layout.spec(named: "probe.norm.bias")!.range { store.values[i] = 0.3 * rng.nextNormal() }
        var x = (0..<(batch * tokens * dim)).map { _ in rng.nextNormal() }
        let r = (0..<(batch * labels)).map { _ in rng.nextNormal() }

        store.zeroGrads()
        _ = loss(probe, store.values, x, r)
        var dTokens = [Float](repeating: .nan, count: x.count)
        probe.backward(weights: store.values, grads: store.grads, dLogits: r, dTokens: &dTokens)

        // Central differences of a Float forward carry rounding noise ~ eps·|loss|/h; h = 1e-2 balances
        // that against the O(h²) truncation error. The check is per tensor and norm-wise:
        // ‖analytic − numeric‖ / ‖numeric‖ < 1e-3 (a wrong term in any path gives errors ≫ 1e-2).
        let h: Float = 1e-2
        var worst = 0.0
        func numeric(_ perturb: (Float) -> Void, _ restore: () -> Void) -> Double {
            perturb(h); let plus = loss(probe, store.values, x, r)
            perturb(-h); let minus = loss(probe, store.values, x, r)
            restore()
            return (plus - minus) / Double(2 * h)
        }
        func compare(_ name: String, _ analytic: [Float], _ numeric: [Double]) {
            var diff = 0.0, norm = 0.0
            for (a, n) in zip(analytic, numeric) { diff += (Double(a) - n) * (Double(a) - n); norm += n * n }
            let rel = (diff / max(norm, 1e-30)).squareRoot()
            worst = max(worst, rel)
            XCTAssertLessThan(rel, 1e-3, "\(name): relative error \(rel)")
            XCTAssertGreaterThan(norm, 1e-8, "\(name): gradient is zero, the check would prove nothing")
        }
        for spec in layout.specs {
            var nums: [Double] = []
            for i in spec.range {
                let original = store.values[i]
                nums.append(numeric({ store.values[i] = original + $0 }, { store.values[i] = original }))
            }
            compare(spec.name, Array(store.grads(of: spec)), nums)
        }
        var nums: [Double] = []
        for i in 0..<x.count {
            let original = x[i]
            nums.append(numeric({ x[i] = original + $0 }, { x[i] = original }))
        }
        compare("tokens", dTokens, nums)
        print("probe grad check: worst relative error \(worst)")
    }

    func testGradientsAccumulateAndDTokensOverwrite() {
        var layout = ParameterLayout()
        let probe = AttentiveProbe(dim: dim, heads: heads, labels: labels, layout: &layout)
        let store = ParameterStore(layout: layout)
        probe.initialize(store.values, seed: 3)
        var rng = SplitMix64(seed: 5, stream: 0)
        let x = (0..<(batch * tokens * dim)).map { _ in rng.nextNormal() }
        let r = (0..<(batch * labels)).map { _ in rng.nextNormal() }
        var d1 = [Float](repeating: 0, count: x.count), d2 = [Float](repeating: 7, count: x.count)
        store.zeroGrads()
        _ = probe.forward(weights: store.values, tokens: x, batch: batch, tokenCount: tokens)
        probe.backward(weights: store.values, grads: store.grads, dLogits: r, dTokens: &d1)
        let once = Array(UnsafeBufferPointer(start: store.grads, count: store.count))
        probe.backward(weights: store.values, grads: store.grads, dLogits: r, dTokens: &d2)
        for i in 0..<store.count { XCTAssertEqual(store.grads[i], 2 * once[i], accuracy: 1e-6 + 1e-5 * abs(once[i])) }
        XCTAssertEqual(d1, d2)
    }
}
