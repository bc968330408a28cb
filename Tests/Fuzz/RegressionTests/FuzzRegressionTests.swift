import Foundation
import FileIO
import FuzzTargets
import XCTest

/// Replays every seed and every input the fuzzer ever crashed on (Tests/Fuzz/regressions/<target>/)
/// through the same code the fuzzer runs: each must come back as accepted or as an error that
/// names the file, never crash. Seeds are valid files and must be accepted.
final class FuzzRegressionTests: XCTestCase {
    static let fuzzFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    func inputs(_ kind: String, _ target: FuzzTarget) throws -> [URL] {
        let folder = Self.fuzzFolder.appendingPathComponent(kind).appendingPathComponent(target.rawValue)
        guard FileManager.default.fileExists(atPath: folder.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }.sorted { $0.path < $1.path }
    }

    func testEverySeedIsAccepted() throws {
        for target in FuzzTarget.allCases {
            let seeds = try inputs("seeds", target)
            XCTAssertFalse(seeds.isEmpty, "no seeds for \(target.rawValue)")
            for seed in seeds {
                let error = target.run(try readFileBytes(seed.path))
                XCTAssertNil(error, "\(target.rawValue) seed \(seed.lastPathComponent) rejected")
            }
        }
    }

    func testEveryCrashInputNowEndsInAnErrorNamingTheFile() throws {
        for target in FuzzTarget.allCases {
            for input in try inputs("regressions", target) {
                // Reaching the next line at all is the test: these inputs used to trap or crash.
                guard let error = target.run(try readFileBytes(input.path)) else { continue }
                XCTAssertTrue(error.contains(target.sourceName),
                              "\(target.rawValue) \(input.lastPathComponent): error does not name the file: \(error)")
            }
        }
    }
}
