import Foundation
import XCTest
import ECGData
@testable import Evaluation
import Model
import ModelIO
import TestSupport

/// `ecg-dist embed`'s logic: pooling, windows, the two output formats, and that failures leave nothing.
final class EmbeddingTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "embedding-tests-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private let config = try! ViTConfig.parse("dim=16,depth=1,heads=2,pred-dim=8,pred-depth=1,pred-heads=2")

    private func files() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: dir).sorted()) ?? [] }

    func testPoolingSkipsTheRegisterAndAveragesWindows() {
        // 2 records × 2 windows × 3 tokens × dim 2; token row 0 (the register) holds 1000s that must not count.
        var output: [Float] = []
        for r in 0..<2 {
            for w in 0..<2 {
                output += [1000, 1000]
                for t in 1..<3 { output += [Float(r * 100 + w * 10 + t), Float(-t)] }
            }
        }
        var pooled = [Float](repeating: 0, count: 4)
        EmbeddingJob.poolPatchTokens(output, records: 2, windows: 2, tokens: 3, dim: 2, into: &pooled)
        // record 0: mean of 1, 2, 11, 12 = 6.5; record 1: 101, 102, 111, 112 = 106.5; feature 1: mean of -1, -2.
        XCTAssertEqual(pooled, [6.5, -1.5, 106.5, -1.5])
    }

    func testWindowPlanDefaultsToTheWholeRecordAndHalfWindowStride() throws {
        let whole = try EmbeddingJob.windowPlan(recordLength: 5000, options: EmbeddingOptions(), patchSize: 25, path: "x")
        XCTAssertEqual(whole.evalOffsets, [0])
        var options = EmbeddingOptions()
        options.cropSamples = 1250
        XCTAssertEqual(try EmbeddingJob.windowPlan(recordLength: 5000, options: options, patchSize: 25, path: "x").evalOffsets,
                       CropPlan.ptbxl.evalOffsets, "2.5-s windows are the evaluation's 7")
        options.cropSamples = 6000
        XCTAssertThrowsError(try EmbeddingJob.windowPlan(recordLength: 5000, options: options, patchSize: 25, path: "x")) {
            XCTAssertTrue("\($0)".contains("shorter than the 6000-sample window"), "\($0)")
        }
        options.cropSamples = 10
        XCTAssertThrowsError(try EmbeddingJob.windowPlan(recordLength: 5000, options: options, patchSize: 25, path: "x"))
    }

    func testNpyHeaderIsWhatNumpyWrites() {
        for shape in [[7], [3, 16], [2, 7, 51, 16]] {
            let header = NpyStream.header(descr: "<f4", shape: shape)
            XCTAssertEqual(Array(header[0..<8]), [0x93] + Array("NUMPY".utf8) + [1, 0])
            XCTAssertEqual(header.count % 64, 0, "data starts on a 64-byte boundary")
            XCTAssertEqual(Int(header[8]) | Int(header[9]) << 8, header.count - 10)
            XCTAssertEqual(header.last, 0x0A)
            let text = String(decoding: header[10...], as: UTF8.self)
            let dims = shape.count == 1 ? "(7,)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
            XCTAssertTrue(text.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': \(dims), }"), text)
        }
    }

    /// Both formats hold the pooled output of the encoder run on the normalized records, and the ids.
    func testEmbeddingsAreThePooledEncoderOutputInBothFormats() throws {
        let corpus = dir + "/corpus.h5"
        _ = try SynthCorpus.write(path: corpus, records: 5, seed: 4, ranks: nil)
        let weights = EncoderCheckpoint.random(config: config, seed: 9)
        var options = EmbeddingOptions()
        options.includeTokens = true
        options.recordsPerBatch = 2   // batches of 2, 2, 1: rows must land in the right places
        let summary = try EmbeddingJob.run(encoder: weights, checkpoint: "random", corpusPath: corpus, out: dir + "/e.h5", options: options)
        XCTAssertEqual(summary.tokensPerWindow, 201)
        options.cropSamples = 1250
        _ = try EmbeddingJob.run(encoder: weights, checkpoint: "random", corpusPath: corpus, out: dir + "/e.npy", options: options)
        XCTAssertEqual(files(), ["corpus.h5", "e.h5", "e.npy", "e.record_ids.npy", "e.tokens.npy"])

        // Expected: the encoder on the normalized records, one record at a time.
        let reader = try CorpusReader(path: corpus)
        var layout = ParameterLayout()
        let encoder = ViTEncoder(config: config, layout: &layout, prefix: "encoder.")
        var record = [Float](repeating: 0, count: reader.recordElements)
        var expectedWhole: [Float] = [], expectedTokens: [Float] = [], expectedCrops: [Float] = []
        for i in 0..<reader.count {
            try reader.readSignals(rows: i..<(i + 1), into: &record)
            normalize(&record, rows: reader.samples, mean: reader.channelMean, std: reader.channelStd, clip: 5)
            let tokens = Array(UnsafeBufferPointer(start: weights.values.withUnsafeBufferPointer {
                encoder.forward(weights: $0.baseAddress!, input: record, batch: 1, samples: 5000)
            }, count: 201 * 16))
            expectedTokens += tokens
            expectedWhole += (0..<16).map { d in (1..<201).reduce(Float(0)) { $0 + tokens[$1 * 16 + d] } / 200 }
            var windowMeans = [Float](repeating: 0, count: 16)
            for offset in CropPlan.ptbxl.evalOffsets {
                let crop = Array(record[(offset * 12)..<((offset + 1250) * 12)])
                let out = weights.values.withUnsafeBufferPointer { encoder.forward(weights: $0.baseAddress!, input: crop, batch: 1, samples: 1250) }
                for d in 0..<16 { windowMeans[d] += (1..<51).reduce(Float(0)) { $0 + out[$1 * 16 + d] } / 50 / 7 }
            }
            expectedCrops += windowMeans
        }
        let file = try H5File.open(path: dir + "/e.h5")
        XCTAssertEqual(try file.openDataset("embeddings").shape, [5, 16])
        XCTAssertEqual(try file.openDataset("tokens").shape, [5, 201, 16])
        assertClose(try file.openDataset("embeddings").read(as: Float.self), expectedWhole, rtol: 1e-5, "h5 embeddings")
        assertClose(try file.openDataset("tokens").read(as: Float.self), expectedTokens, rtol: 1e-5, "h5 tokens")
        XCTAssertEqual(try file.openDataset("record_ids").read(as: Int64.self), reader.recordIDs)
        XCTAssertEqual(try file.attributes.int32s("window_offsets"), [0])

        let npy = try readFileBytes(dir + "/e.npy")
        let floats = npy[128...].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(npy.count, 128 + 5 * 16 * 4, "a 2-D header fits in 128 bytes")
        assertClose(floats, expectedCrops, rtol: 1e-5, "npy: 7 windows of 2.5 s averaged")
        let tokenBytes = try readFileBytes(dir + "/e.tokens.npy")
        XCTAssertTrue(String(decoding: tokenBytes[10..<100], as: UTF8.self).contains("'shape': (5, 7, 51, 16)"))
        let ids = try readFileBytes(dir + "/e.record_ids.npy")
        XCTAssertEqual(ids[128...].withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }, reader.recordIDs)
    }

    func testFailuresLeaveNoOutput() throws {
        let corpus = dir + "/corpus.h5"
        _ = try SynthCorpus.write(path: corpus, records: 2, seed: 1, ranks: nil)
        let weights = EncoderCheckpoint.random(config: config, seed: 1)
        var options = EmbeddingOptions()
        options.cropSamples = 6000
        for out in ["/a.h5", "/a.npy"] {
            XCTAssertThrowsError(try EmbeddingJob.run(encoder: weights, checkpoint: "r", corpusPath: corpus, out: dir + out, options: options))
        }
        XCTAssertThrowsError(try EmbeddingJob.run(encoder: weights, checkpoint: "r", corpusPath: corpus, out: dir + "/a.csv",
                                                  options: EmbeddingOptions())) { XCTAssertTrue("\($0)".contains(".h5, .hdf5 or .npy")) }
        XCTAssertThrowsError(try EmbeddingJob.run(encoder: weights, checkpoint: "r", corpusPath: dir + "/none.h5", out: dir + "/b.h5",
                                                  options: EmbeddingOptions())) { XCTAssertTrue("\($0)".contains("none.h5")) }
        XCTAssertThrowsError(try EmbeddingJob.run(encoder: weights, checkpoint: "r", corpusPath: corpus, out: corpus,
                                                  options: EmbeddingOptions())) { XCTAssertTrue("\($0)".contains("would overwrite")) }
        // A model for other leads is refused before anything is written.
        var wide = config
        wide.channels = 8
        XCTAssertThrowsError(try EmbeddingJob.run(encoder: EncoderCheckpoint.random(config: wide, seed: 1), checkpoint: "r",
                                                  corpusPath: corpus, out: dir + "/c.h5", options: EmbeddingOptions())) {
            XCTAssertTrue("\($0)".contains("12 leads"), "\($0)")
        }
        XCTAssertEqual(files(), ["corpus.h5"], "no output and no temporary files")
    }
}
