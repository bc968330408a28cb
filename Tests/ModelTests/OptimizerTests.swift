import Foundation
import XCTest
@testable import Model

/// Runs python3 for cross-checks against reference implementations (tests only).
enum TrainUtilsPython {
    /// Runs `python3 args...`; returns exit status and combined stdout + stderr.
    static func run(_ args: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + args
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Skips the test unless `import <module>` works.
    static func require(_ module: String) throws {
        let result = try run(["-c", "import \(module)"])
        if result.status != 0 { throw XCTSkip("python3 cannot import \(module)") }
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ecg-train-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

final class OptimizerTests: XCTestCase {
    /// A small layout mixing decayed matrices, non-decayed vectors and sizes that are not multiples of 16.
    static func testLayout() -> ParameterLayout {
        var layout = ParameterLayout()
        layout.declare("w1", [8, 5])
        layout.declare("b1", [5])
        layout.declare("norm", [37])
        layout.declare("w2", [3, 7])
        layout.declare("token", [1, 1, 19], decay: false)
        return layout
    }

    static func fillRandom(_ p: UnsafeMutablePointer<Float>, _ layout: ParameterLayout, _ rng: inout SplitMix64, scale: Float) {
        for spec in layout.specs { for i in spec.range { p[i] = rng.nextNormal() * scale } }
    }

    /// Straightforward Double AdamW (the textbook formulas), to check the Float SIMD kernel.
    struct ReferenceAdamW {
        var m: [Double], v: [Double], t = 0
        init(count: Int) { m = Array(repeating: 0, count: count); v = m }
        mutating func step(params: inout [Double], grads: [Double], decay: [Bool], lr: Double, wd: Double) {
            t += 1
            let (b1, b2, eps) = (0.9, 0.99, 1e-6)
            for i in params.indices {
                if decay[i] { params[i] -= lr * wd * params[i] }
                m[i] = b1 * m[i] + (1 - b1) * grads[i]
                v[i] = b2 * v[i] + (1 - b2) * grads[i] * grads[i]
                let mHat = m[i] / (1 - pow(b1, Double(t))), vHat = v[i] / (1 - pow(b2, Double(t)))
                params[i] -= lr * mHat / (vHat.squareRoot() + eps)
            }
        }
    }

    func testAdamWMatchesDoubleReference() {
        let layout = Self.testLayout()
        let store = ParameterStore(layout: layout)
        var rng = SplitMix64(seed: 1)
        Self.fillRandom(store.values, layout, &rng, scale: 0.5)
        let indices = layout.specs.flatMap { Array($0.range) }
        let decay = layout.specs.flatMap { spec in Array(repeating: spec.decay, count: spec.count) }
        var reference = indices.map { Double(store.values[$0]) }
        var referenceOptimizer = ReferenceAdamW(count: indices.count)
        let adam = AdamW(layout: layout)
        for step in 0..<6 {
            Self.fillRandom(store.grads, layout, &rng, scale: step == 3 ? 1e-4 : 1)  // one tiny-gradient step
            let lr: Float = 0.01 * Float(step + 1), wd: Float = 0.05
            referenceOptimizer.step(params: &reference, grads: indices.map { Double(store.grads[$0]) },
                                    decay: decay, lr: Double(lr), wd: Double(wd))
            adam.step(store, lr: lr, weightDecay: wd)
        }
        XCTAssertEqual(adam.stepCount, 6)
        for (k, i) in indices.enumerated() {
            XCTAssertEqual(Double(store.values[i]), reference[k], accuracy: 2e-6 * max(1, abs(reference[k])), "element \(i)")
        }
    }

    func testWeightDecayOnlyOnDecaySpecs() {
        let layout = Self.testLayout()
        let store = ParameterStore(layout: layout)
        for spec in layout.specs { for i in spec.range { store.values[i] = 2 } }
        let adam = AdamW(layout: layout)
        adam.step(store, lr: 0.1, weightDecay: 0.5)  // zero gradients: only decay moves anything
        for spec in layout.specs {
            let expected: Float = spec.decay ? 2 * (1 - 0.1 * 0.5) : 2
            for i in spec.range { XCTAssertEqual(store.values[i], expected, "\(spec.name)") }
        }
        XCTAssertEqual(layout.specs.filter(\.decay).map(\.name), ["w1", "w2"])
    }

    func testResetAndStepCounterDriveBiasCorrection() {
        let layout = Self.testLayout()
        let a = ParameterStore(layout: layout), b = ParameterStore(layout: layout)
        for i in 0..<layout.count { a.grads[i] = 0.3; b.grads[i] = 0.3 }
        let adamA = AdamW(layout: layout), adamB = AdamW(layout: layout)
        adamA.step(a, lr: 0.01, weightDecay: 0)
        // First step with bias correction moves every parameter by lr * g / (|g| + eps) ~ lr.
        XCTAssertEqual(a.values[layout.spec(named: "norm")!.offset], -0.01, accuracy: 1e-6)
        adamA.reset()
        XCTAssertEqual(adamA.stepCount, 0)
        XCTAssertEqual(adamA.m[0], 0)
        a.copyValues(from: b)
        adamA.step(a, lr: 0.01, weightDecay: 0)
        adamB.step(b, lr: 0.01, weightDecay: 0)
        XCTAssertEqual(parameterChecksum(a.values, count: a.count), parameterChecksum(b.values, count: b.count))
    }

    func testAdamWMatchesTorch() throws {
        try TrainUtilsPython.require("torch")
        let layout = Self.testLayout()
        let store = ParameterStore(layout: layout)
        var rng = SplitMix64(seed: 2)
        Self.fillRandom(store.values, layout, &rng, scale: 0.5)
        func tensors(_ p: UnsafeMutablePointer<Float>) -> [[Double]] { layout.specs.map { $0.range.map { Double(p[$0]) } } }
        var document: [String: Any] = ["init": tensors(store.values), "decay": layout.specs.map(\.decay)]
        let adam = AdamW(layout: layout)
        var steps: [[String: Any]] = []
        for step in 0..<5 {
            Self.fillRandom(store.grads, layout, &rng, scale: 1)
            let lr = Float(0.02) / Float(step + 1), wd = Float(0.04) * Float(step + 1)
            steps.append(["lr": Double(lr), "wd": Double(wd), "grads": tensors(store.grads)])
            adam.step(store, lr: lr, weightDecay: wd)
        }
        document["steps"] = steps
        let directory = try TrainUtilsPython.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("adamw.json")
        try JSONSerialization.data(withJSONObject: document).write(to: input)
        let script = """
        import json, sys, torch
        d = json.load(open(sys.argv[1]))
        params = [torch.nn.Parameter(torch.tensor(x, dtype=torch.float32)) for x in d["init"]]
        groups = [{"params": [p], "decay": dec} for p, dec in zip(params, d["decay"])]
        opt = torch.optim.AdamW(groups, lr=0.0, betas=(0.9, 0.99), eps=1e-6, foreach=False)
        for s in d["steps"]:
            for p, g in zip(params, s["grads"]):
                p.grad = torch.tensor(g, dtype=torch.float32)
            for group in opt.param_groups:
                group["lr"] = s["lr"]
                group["weight_decay"] = s["wd"] if group["decay"] else 0.0
            opt.step()
        print(json.dumps([p.detach().tolist() for p in params]))
        """
        let result = try TrainUtilsPython.run(["-c", script, input.path])
        XCTAssertEqual(result.status, 0, result.output)
        let lastLine = result.output.split(separator: "\n").last.map(String.init) ?? ""
        let torchValues = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [[Double]])
        for (spec, expected) in zip(layout.specs, torchValues) {
            for (k, i) in spec.range.enumerated() {
                XCTAssertEqual(Double(store.values[i]), expected[k], accuracy: 1e-6 * max(1, abs(expected[k])), "\(spec.name)[\(k)]")
            }
        }
    }

    func testClipGradientNorm() {
        var grads: [Float] = (0..<37).map { Float($0 % 7) - 3 }
        let expectedNorm = grads.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let original = grads
        let norm = grads.withUnsafeMutableBufferPointer { clipGradientNorm($0.baseAddress!, count: 37, maxNorm: 100) }
        XCTAssertEqual(Double(norm), expectedNorm, accuracy: 1e-5)
        XCTAssertEqual(grads, original, "below maxNorm nothing changes")

        let clippedNorm = grads.withUnsafeMutableBufferPointer { clipGradientNorm($0.baseAddress!, count: 37, maxNorm: 1) }
        XCTAssertEqual(Double(clippedNorm), expectedNorm, accuracy: 1e-5, "returns the pre-clip norm")
        let after = grads.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        XCTAssertEqual(after, 1, accuracy: 1e-5)
        for (g, o) in zip(grads, original) { XCTAssertEqual(Double(g), Double(o) / expectedNorm, accuracy: 1e-6) }

        // Non-finite norms are reported, not applied.
        var bad: [Float] = Array(repeating: 1, count: 20)
        bad[17] = .nan
        let badNorm = bad.withUnsafeMutableBufferPointer { clipGradientNorm($0.baseAddress!, count: 20, maxNorm: 1) }
        XCTAssertTrue(badNorm.isNaN)
        XCTAssertEqual(bad[0], 1)
    }

    func testEMAUpdate() {
        let n = 45
        var target = (0..<n).map { Float($0) }, source = (0..<n).map { Float(-2 * $0) }
        let (t0, s0) = (target, source)
        target.withUnsafeMutableBufferPointer { t in source.withUnsafeBufferPointer { s in
            emaUpdate(target: t.baseAddress!, source: s.baseAddress!, count: n, momentum: 0.75)
        } }
        for i in 0..<n { XCTAssertEqual(target[i], 0.75 * t0[i] + 0.25 * s0[i], accuracy: 1e-5) }
        target.withUnsafeMutableBufferPointer { t in source.withUnsafeBufferPointer { s in
            emaUpdate(target: t.baseAddress!, source: s.baseAddress!, count: n, momentum: 0)
        } }
        XCTAssertEqual(target, source)
        XCTAssertEqual(source, s0)
    }

    func testChecksumDetectsEveryBitFlipAndOrder() {
        var values = (0..<37).map { Float($0) * 0.25 - 3 }
        let base = parameterChecksum(values, count: values.count)
        XCTAssertEqual(parameterChecksum(values, count: values.count), base)
        var seen = Set([base])
        for index in [0, 5, 8, 31, 32, 36] {           // lanes and the scalar tail
            for bit in [0, 13, 31] {
                let saved = values[index]
                values[index] = Float(bitPattern: saved.bitPattern ^ (1 << bit))
                seen.insert(parameterChecksum(values, count: values.count))
                values[index] = saved
            }
        }
        XCTAssertEqual(seen.count, 1 + 6 * 3, "some bit flip went unnoticed")
        values.swapAt(3, 4)
        XCTAssertNotEqual(parameterChecksum(values, count: values.count), base)
        XCTAssertNotEqual(parameterChecksum([0.0], count: 1), parameterChecksum([-0.0], count: 1))
        XCTAssertNotEqual(parameterChecksum([0, 0], count: 1), parameterChecksum([0, 0], count: 2))
    }
}
