import XCTest
import CBLASShim
@testable import Model

/// The start-up choice of OpenBLAS kernels (BLASCore.decide is pure; the re-exec itself is tested
/// end to end by Tests/scripts/blas_core.sh, which starts the binary on Prescott kernels).
final class BLASCoreTests: XCTestCase {
    func state(_ core: String, cpu: Int, user: String? = nil, tried: [String] = []) -> BLASCore.State {
        BLASCore.State(loadedCore: core, cpuLevel: cpu, userCoreType: user, tried: tried)
    }

    func testWeakerCoreIsUpgradedToTheBestForTheCPU() {
        XCTAssertEqual(BLASCore.decide(state("Prescott", cpu: 4)), .reexec(core: "Cooperlake"))
        XCTAssertEqual(BLASCore.decide(state("Prescott", cpu: 3)), .reexec(core: "SkylakeX"))
        XCTAssertEqual(BLASCore.decide(state("Prescott", cpu: 2)), .reexec(core: "Haswell"))
        XCTAssertEqual(BLASCore.decide(state("Sandybridge", cpu: 3)), .reexec(core: "SkylakeX"))
        XCTAssertEqual(BLASCore.decide(state("Haswell", cpu: 4)), .reexec(core: "Cooperlake"))
    }

    func testKnownGoodCoresAndUserChoiceAreKept() {
        XCTAssertEqual(BLASCore.decide(state("Cooperlake", cpu: 4)), .keep)
        XCTAssertEqual(BLASCore.decide(state("SkylakeX", cpu: 3)), .keep)
        XCTAssertEqual(BLASCore.decide(state("Zen", cpu: 2)), .keep)
        XCTAssertEqual(BLASCore.decide(state("Prescott", cpu: 0)), .keep, "an SSE-only CPU has nothing better")
        XCTAssertEqual(BLASCore.decide(state("Prescott", cpu: 4, user: "Prescott")), .keep, "OPENBLAS_CORETYPE set by the user")
        XCTAssertEqual(BLASCore.decide(state("SomeFutureCore", cpu: 4)), .keep, "a core this table does not know is trusted")
    }

    /// A core missing from the installed OpenBLAS (it falls back to its own pick) leads to the next
    /// candidate, and when every candidate was tried, to no further re-exec.
    func testMissingCoreFallsBackWithoutLooping() {
        XCTAssertEqual(BLASCore.decide(state("Prescott", cpu: 4, tried: ["Cooperlake"])), .reexec(core: "SkylakeX"))
        XCTAssertEqual(BLASCore.decide(state("Prescott", cpu: 4, tried: ["Cooperlake", "SkylakeX"])), .reexec(core: "Haswell"))
        XCTAssertEqual(BLASCore.decide(state("Prescott", cpu: 4, tried: ["Cooperlake", "SkylakeX", "Haswell", "Sandybridge"])), .keep)
    }

    func testMarkerRoundTrip() throws {
        let m = try XCTUnwrap(BLASCore.parseMarker("from=Prescott;tried=Cooperlake,SkylakeX"))
        XCTAssertEqual(m.from, "Prescott")
        XCTAssertEqual(m.tried, ["Cooperlake", "SkylakeX"])
        XCTAssertNil(BLASCore.parseMarker(nil))
    }

    /// The CPUID level agrees with the flags the kernel reports.
    func testCPULevelAgreesWithProcCpuinfo() throws {
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let line = try XCTUnwrap(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") })
        let f = Set(line.split(separator: " ").map(String.init))
        let expected: Int
        if ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(f.contains) {
            expected = f.contains("avx512_bf16") ? 4 : 3
        } else if ["avx2", "fma"].allSatisfy(f.contains) { expected = 2 } else { expected = f.contains("avx") ? 1 : 0 }
        XCTAssertEqual(BLASCore.cpuLevel, expected)
    }
}
