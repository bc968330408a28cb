import FuzzDriver
import FuzzTargets
import Foundation
import Model
import ModelIO

// The libFuzzer entry point of every target; ECG_FUZZ_TARGET picks one (scripts/fuzz.sh sets it).
// Built with -sanitize=fuzzer,address. SwiftPM links a debug executable's main as `ecg_fuzz_main`,
// so that is where libFuzzer's driver is started; a release build gets libFuzzer's own main, which
// calls LLVMFuzzerTestOneInput.

let selectedTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["ECG_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let known = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("ecg-fuzz: set ECG_FUZZ_TARGET to one of: \(known) (got '\(name)')\n".utf8))
        exit(2)
    }
    return target
}()

/// ECG_FUZZ_WRITE_SEEDS=<folder> writes the generated seed files there and exits.
func writeSeedsIfAsked() {
    guard let seedDirectory = ProcessInfo.processInfo.environment["ECG_FUZZ_WRITE_SEEDS"] else { return }
    do { try FuzzSeeds.write(to: seedDirectory) } catch {
        FileHandle.standardError.write(Data("ecg-fuzz: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = selectedTarget.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

@_cdecl("ecg_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    writeSeedsIfAsked()
    _ = selectedTarget
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzOneInput(data, size) }
}
