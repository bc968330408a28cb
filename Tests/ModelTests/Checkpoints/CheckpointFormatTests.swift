import Foundation
import XCTest
@testable import Model
@testable import ModelIO

final class TrainingStateFormatTests: XCTestCase {
    let params: [Float] = (0..<53).map { Float($0) * 0.1 - 2 } + [.nan, -0.0, .infinity, .leastNonzeroMagnitude]
    let moments: [Float] = (0..<16).map { Float($0 * $0) }
    let metadata = ["step": "1234", "seed": "42", "note": "héllo \"quoted\"\n"]

    func serialize() -> [UInt8] {
        params.withUnsafeBufferPointer { p in moments.withUnsafeBufferPointer { m in
            TrainingStateWriter.serialize(metadata: metadata, sections: [
                TrainingStateSection(name: "params", values: p),
                TrainingStateSection(name: "adam.m", values: m),
                TrainingStateSection(name: "empty", values: UnsafeBufferPointer(start: nil, count: 0)),
            ])
        } }
    }

    func testRoundTripIsBitExact() throws {
        let bytes = serialize()
        let state = try TrainingState(bytes: bytes, source: "mem")
        XCTAssertEqual(state.metadata, metadata)
        XCTAssertEqual(state.sectionNames, ["params", "adam.m", "empty"])
        XCTAssertEqual(try state.values("params").map(\.bitPattern), params.map(\.bitPattern))
        XCTAssertEqual(try state.values("adam.m"), moments)
        XCTAssertEqual(try state.values("empty"), [])
        XCTAssertEqual(state.count(of: "adam.m"), 16)
        XCTAssertNil(state.count(of: "adam.v"))
        var into = [Float](repeating: 0, count: 16)
        try into.withUnsafeMutableBufferPointer { try state.copy("adam.m", into: $0.baseAddress!, count: 16) }
        XCTAssertEqual(into, moments)
        XCTAssertEqual(Array(bytes[0..<4]), Array("ECGJ".utf8))
    }

    func testStreamingWriteMatchesSerializeAndAlignsData() throws {
        var chunks: [[UInt8]] = []
        params.withUnsafeBufferPointer { p in moments.withUnsafeBufferPointer { m in
            TrainingStateWriter.write(metadata: metadata, sections: [
                TrainingStateSection(name: "params", values: p),
                TrainingStateSection(name: "adam.m", values: m),
                TrainingStateSection(name: "empty", values: UnsafeBufferPointer(start: nil, count: 0)),
            ]) { chunks.append(Array($0)) }
        } }
        XCTAssertEqual(chunks.flatMap { $0 }, serialize())
        // The params data chunk is handed over whole and starts on a 64-byte boundary.
        let dataIndex = try XCTUnwrap(chunks.firstIndex { $0.count == params.count * 4 })
        XCTAssertEqual(chunks[..<dataIndex].reduce(0) { $0 + $1.count } % 64, 0)
    }

    func testEveryTruncationIsRejected() {
        let bytes = serialize()
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try TrainingState(bytes: Array(bytes[0..<length]), source: "cut.ckpt"), "length \(length)") { error in
                XCTAssert("\(error)".hasPrefix("cut.ckpt: "), "\(error)")
            }
        }
        XCTAssertThrowsError(try TrainingState(bytes: bytes + [0], source: "long.ckpt")) { error in
            XCTAssert("\(error)".contains("unexpected bytes"), "\(error)")
        }
    }

    func testCorruptionIsDetected() throws {
        let bytes = serialize()
        func expectError(_ mutate: (inout [UInt8]) -> Void, containing text: String, line: UInt = #line) {
            var copy = bytes
            mutate(&copy)
            XCTAssertThrowsError(try TrainingState(bytes: copy, source: "bad.ckpt"), line: line) { error in
                XCTAssert("\(error)".contains(text), "\(error)", line: line)
            }
        }
        expectError({ $0[0] = UInt8(ascii: "X") }, containing: "not an ecg-dist training state")
        expectError({ $0[4] = 9 }, containing: "unsupported training-state version 9")
        expectError({ $0[33] ^= 0x01 }, containing: "metadata checksum")
        // Flip a bit inside the adam.m data.
        let momentBytes = moments.withUnsafeBytes { Array($0) }
        let dataStart = try XCTUnwrap((0...(bytes.count - momentBytes.count)).first { Array(bytes[$0..<($0 + momentBytes.count)]) == momentBytes })
        expectError({ $0[dataStart + 21] ^= 0x10 }, containing: "checksum mismatch in section 'adam.m'")
        // Padding before section data must be zero.
        expectError({ $0[dataStart - 1] = 1 }, containing: "padding")
        expectError({ $0[8] = 7 }, containing: "truncated")
        // A wildly large section count / length fails cleanly instead of allocating.
        expectError({ for i in 16..<24 { $0[i] = 0xFF } }, containing: "absurd")
    }

    func testMissingSectionAndWrongCountErrors() throws {
        let state = try TrainingState(bytes: serialize(), source: "x.ckpt")
        XCTAssertThrowsError(try state.values("adam.v")) { XCTAssert("\($0)".contains("no section 'adam.v'")) }
        var buffer = [Float](repeating: 0, count: 10)
        XCTAssertThrowsError(try buffer.withUnsafeMutableBufferPointer { try state.copy("adam.m", into: $0.baseAddress!, count: 10) }) {
            XCTAssert("\($0)".contains("has 16 floats, expected 10"))
        }
    }

    func testCodableMetadataAndFileRoundTrip() throws {
        let schedule = TrainingSchedule(warmupSteps: 7, totalSteps: 70)
        let bytes = TrainingStateWriter.serialize(
            metadata: ["schedule": try TrainingStateWriter.metadataString(schedule)], sections: [])
        let directory = try TrainUtilsPython.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.ckpt").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let state = try TrainingState(contentsOfFile: path)
        XCTAssertEqual(try state.decodeMetadata(TrainingSchedule.self, key: "schedule"), schedule)
        XCTAssertThrowsError(try state.decodeMetadata(TrainingSchedule.self, key: "config"))
        XCTAssertThrowsError(try TrainingState(contentsOfFile: path + ".missing")) { XCTAssert("\($0)".contains(".missing")) }
        XCTAssertThrowsError(try TrainingState(contentsOfFile: directory.path)) { XCTAssert("\($0)".contains("not a regular"), "\($0)") }
        XCTAssertThrowsError(try SafetensorsFile(contentsOfFile: path)) { XCTAssert("\($0)".contains("state.ckpt"), "\($0)") }
    }

    func testParameterStoreRoundTrip() throws {
        let layout = OptimizerTests.testLayout()
        let store = ParameterStore(layout: layout)
        var rng = SplitMix64(seed: 4)
        OptimizerTests.fillRandom(store.values, layout, &rng, scale: 1)
        let adam = AdamW(layout: layout)
        OptimizerTests.fillRandom(store.grads, layout, &rng, scale: 1)
        adam.step(store, lr: 0.01, weightDecay: 0.1)
        let bytes = TrainingStateWriter.serialize(metadata: ["adam.step": "\(adam.stepCount)"], sections: [
            TrainingStateSection(name: "params", pointer: store.values, count: store.count),
            TrainingStateSection(name: "adam.m", pointer: adam.m, count: adam.count),
            TrainingStateSection(name: "adam.v", pointer: adam.v, count: adam.count),
        ])
        let state = try TrainingState(bytes: bytes)
        let restored = ParameterStore(layout: layout), restoredAdam = AdamW(layout: layout)
        try state.copy("params", into: restored.values, count: restored.count)
        try state.copy("adam.m", into: restoredAdam.m, count: restoredAdam.count)
        try state.copy("adam.v", into: restoredAdam.v, count: restoredAdam.count)
        restoredAdam.stepCount = Int(state.metadata["adam.step"]!)!
        // Resuming continues bit-identically.
        restored.grads.update(from: store.grads, count: store.count)
        adam.step(store, lr: 0.01, weightDecay: 0.1)
        restoredAdam.step(restored, lr: 0.01, weightDecay: 0.1)
        XCTAssertEqual(parameterChecksum(restored.values, count: restored.count), parameterChecksum(store.values, count: store.count))
    }
}

final class SafetensorsTests: XCTestCase {
    static func encoderLayout() -> ParameterLayout {
        var layout = ParameterLayout()
        layout.declare("encoder.patch_embed.proj.weight", [4, 1, 3])
        layout.declare("encoder.pos_embed", [1, 5, 4], decay: false)
        layout.declare("encoder.blocks.0.attn.qkv.weight", [12, 4])
        layout.declare("encoder.blocks.0.attn.qkv.bias", [12])
        layout.declare("predictor.mask_token", [1, 1, 4], decay: false)
        return layout
    }

    func makeStore() -> ParameterStore {
        let store = ParameterStore(layout: Self.encoderLayout())
        var rng = SplitMix64(seed: 9)
        for spec in store.layout.specs { for i in spec.range { store.values[i] = rng.nextNormal() } }
        return store
    }

    func testHeaderFormatAndPrefixStripping() throws {
        let store = makeStore()
        let bytes = Safetensors.serialize(layout: store.layout, values: store.values, prefix: "encoder.", metadata: ["format": "pt"])
        let headerLength = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        XCTAssertEqual((8 + headerLength) % 8, 0)
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as? [String: Any])
        XCTAssertEqual(Set(header.keys), ["__metadata__", "patch_embed.proj.weight", "pos_embed",
                                          "blocks.0.attn.qkv.weight", "blocks.0.attn.qkv.bias"])
        let qkv = try XCTUnwrap(header["blocks.0.attn.qkv.weight"] as? [String: Any])
        XCTAssertEqual(qkv["dtype"] as? String, "F32")
        XCTAssertEqual(qkv["shape"] as? [Int], [12, 4])
        XCTAssertEqual(bytes.count, 8 + headerLength + 4 * (12 + 20 + 48 + 12))

        let file = try SafetensorsFile(bytes: bytes)
        XCTAssertEqual(file.metadata, ["format": "pt"])
        let spec = store.layout.spec(named: "encoder.blocks.0.attn.qkv.weight")!
        XCTAssertEqual(try file.values("blocks.0.attn.qkv.weight"), Array(store.values(of: spec)))
    }

    func testLoadIntoLayoutByName() throws {
        let store = makeStore()
        let bytes = Safetensors.serialize(layout: store.layout, values: store.values, prefix: "encoder.")
        let file = try SafetensorsFile(bytes: bytes, source: "enc.safetensors")

        // Same names under a different prefix in the destination (e.g. an eval model "backbone.").
        var evalLayout = ParameterLayout()
        for spec in store.layout.specs where spec.name.hasPrefix("encoder.") {
            evalLayout.declare("backbone." + spec.name.dropFirst("encoder.".count), spec.shape)
        }
        evalLayout.declare("head.weight", [3, 4])
        let eval = ParameterStore(layout: evalLayout)
        let report = try file.load(into: eval.values, layout: evalLayout, prefix: "backbone.")
        XCTAssertEqual(report.loaded.count, 4)
        XCTAssertEqual(report.missing, [])
        XCTAssertEqual(report.unused, [])
        for spec in evalLayout.specs where spec.name.hasPrefix("backbone.") {
            let source = store.layout.spec(named: "encoder." + spec.name.dropFirst("backbone.".count))!
            XCTAssertEqual(Array(eval.values(of: spec)), Array(store.values(of: source)), spec.name)
        }

        // Without the prefix the head is missing: an error unless allowed.
        XCTAssertThrowsError(try file.load(into: eval.values, layout: evalLayout, prefix: "")) { error in
            XCTAssert("\(error)".contains("enc.safetensors: missing"), "\(error)")
        }
        let partial = try file.load(into: eval.values, layout: evalLayout, prefix: "", allowMissing: true)
        XCTAssertEqual(partial.loaded, [])
        XCTAssertEqual(partial.unused.count, 4)

        var wrongShape = ParameterLayout()
        wrongShape.declare("pos_embed", [1, 4, 5])
        XCTAssertThrowsError(try file.load(into: ParameterStore(layout: wrongShape).values, layout: wrongShape)) { error in
            XCTAssert("\(error)".contains("shape [1, 5, 4]"), "\(error)")
        }
    }

    func testMalformedFilesAreRejected() throws {
        let store = makeStore()
        let good = Safetensors.serialize(layout: store.layout, values: store.values)
        func header(_ json: String, dataBytes: Int = 16) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: 8)
            withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { for i in 0..<8 { bytes[i] = $0[i] } }
            return bytes + Array(json.utf8) + [UInt8](repeating: 0, count: dataBytes)
        }
        let cases: [([UInt8], String)] = [
            (Array(good[0..<5]), "too short"),
            (Array(good[0..<(good.count - 4)]), "outside"),
            (header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}"), "does not match"),
            (header("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}"), "unknown dtype"),
            (header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}"), "overlap"),
            (header("[1,2]"), "not a safetensors JSON object"),
            (header("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}"), "bad shape"),
            (Array(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}").dropLast(20)), "exceeds"),
        ]
        for (bytes, text) in cases {
            XCTAssertThrowsError(try SafetensorsFile(bytes: bytes, source: "bad.safetensors")) { error in
                XCTAssert("\(error)".hasPrefix("bad.safetensors: ") && "\(error)".contains(text), "expected '\(text)', got: \(error)")
            }
        }
        let f16 = try SafetensorsFile(bytes: header("{\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}}"))
        XCTAssertThrowsError(try f16.values("h")) { XCTAssert("\($0)".contains("only F32")) }
    }

    /// Cross-check with the reference implementation: Python's safetensors reads our file and writes
    /// one back that we read.
    func testInteropWithPythonSafetensors() throws {
        try TrainUtilsPython.require("safetensors.numpy")
        let store = makeStore()
        let directory = try TrainUtilsPython.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ours = directory.appendingPathComponent("swift.safetensors").path
        let theirs = directory.appendingPathComponent("python.safetensors").path
        let expected = directory.appendingPathComponent("expected.json").path
        try Safetensors.write(layout: store.layout, values: store.values, prefix: "encoder.",
                              metadata: ["producer": "ecg-dist"], toFile: ours)
        var tensors: [String: Any] = [:]
        for spec in store.layout.specs where spec.name.hasPrefix("encoder.") {
            tensors[String(spec.name.dropFirst(8))] = ["shape": spec.shape, "values": store.values(of: spec).map(Double.init)]
        }
        try JSONSerialization.data(withJSONObject: tensors).write(to: URL(fileURLWithPath: expected))

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/check_safetensors.py").path
        let result = try TrainUtilsPython.run([script, ours, expected, theirs])
        XCTAssertEqual(result.status, 0, result.output)

        // Python wrote every tensor doubled (exact in float) plus its own metadata.
        let file = try SafetensorsFile(contentsOfFile: theirs)
        XCTAssertEqual(file.metadata["producer"], "python")
        var doubled = ParameterLayout()
        for spec in store.layout.specs where spec.name.hasPrefix("encoder.") { doubled.declare(spec.name, spec.shape) }
        let loaded = ParameterStore(layout: doubled)
        try file.load(into: loaded.values, layout: doubled, prefix: "encoder.")
        for spec in doubled.specs {
            let source = store.layout.spec(named: spec.name)!
            XCTAssertEqual(Array(loaded.values(of: spec)), store.values(of: source).map { $0 * 2 }, spec.name)
        }
    }
}
