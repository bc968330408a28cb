import XCTest
import CBLASShim
@testable import Model

/// The start-up ISA check decodes CPUID itself (it must run before any AVX-512 code); its answer
/// must agree with the flags the kernel reports in /proc/cpuinfo, and this machine must pass the
/// check for the ISA the tests were compiled for.
final class KernelISATests: XCTestCase {
    func testCPUIDCheckAgreesWithProcCpuinfo() throws {
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let line = try XCTUnwrap(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") })
        let flags = Set(line.split(separator: " ").map(String.init))
        let avx2 = ["avx", "avx2", "fma"].allSatisfy(flags.contains)
        let avx512 = avx2 && ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
        XCTAssertEqual(shim_cpu_supports_isa(2) != 0, avx2, "AVX2/FMA")
        XCTAssertEqual(shim_cpu_supports_isa(3) != 0, avx512, "AVX-512")
    }

    func testThisCPUSupportsTheCompiledISA() {
        XCTAssertTrue(KernelISA.supportedByThisCPU, KernelISA.name)
        #if ECG_ISA_AVX512
        XCTAssertEqual(KernelISA.level, 3)
        #elseif ECG_ISA_AVX2
        XCTAssertEqual(KernelISA.level, 2)
        #endif
    }
}
