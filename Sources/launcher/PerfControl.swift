import ArgumentParser
import Foundation
import Glibc

/// The control FIFOs of `perf record --control=fifo:CTL,ACK -D -1`: perf starts with its events
/// disabled and turns them on and off when told, so a profile covers exactly the steps it is
/// meant to (`bench --profile-steps … --perf-control CTL,ACK`, bench/profile_step.sh).
struct PerfControl {
    let control: String, ack: String

    /// "CTL,ACK": two FIFO paths.
    init(_ argument: String) throws {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw ValidationError("--perf-control: expected CTL,ACK (two FIFO paths), got '\(argument)'")
        }
        for path in parts {
            var info = stat()
            guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFIFO else {
                throw ValidationError("--perf-control: \(path) is not a FIFO (create it with mkfifo and pass it to perf record --control)")
            }
        }
        (control, ack) = (parts[0], parts[1])
    }

    func enable() throws { try send("enable") }
    func disable() throws { try send("disable") }

    /// Writes the command and waits for perf's "ack", so that nothing runs before the events
    /// are really on (or after they are off). Neither end blocks for good when no perf process
    /// holds the FIFOs: the write end fails at once, the ack is awaited for `ackSeconds`.
    private func send(_ command: String) throws {
        let out = open(control, O_WRONLY | O_NONBLOCK)
        guard out >= 0 else {
            let why = errno == ENXIO ? "no perf process is reading it" : String(cString: strerror(errno))
            throw ValidationError("--perf-control: cannot open \(control): \(why)")
        }
        let line = Array((command + "\n").utf8)
        let written = line.withUnsafeBytes { write(out, $0.baseAddress, $0.count) }
        close(out)
        guard written == line.count else { throw ValidationError("--perf-control: writing '\(command)' to \(control) failed") }
        let input = open(ack, O_RDONLY | O_NONBLOCK)
        guard input >= 0 else { throw ValidationError("--perf-control: cannot open \(ack): \(String(cString: strerror(errno)))") }
        defer { close(input) }
        var waiting = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
        var buffer = [UInt8](repeating: 0, count: 16)
        var got = 0
        if poll(&waiting, 1, Int32(Self.ackSeconds * 1000)) > 0 {
            got = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
        }
        guard got > 0, String(decoding: buffer[0..<got], as: UTF8.self).hasPrefix("ack") else {
            throw ValidationError("--perf-control: perf did not acknowledge '\(command)' on \(ack) within \(Self.ackSeconds) s")
        }
    }

    static let ackSeconds = 10
}
