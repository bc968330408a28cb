import Foundation

// Set from a signal handler, so it must be a plain global word (no locks, no allocation).
private var stopSignalNumber: sig_atomic_t = 0

/// SIGTERM (scancel, mpirun shutting down) and SIGUSR1 (Slurm's `--signal=USR1@120` warning before
/// the time limit) ask the run to checkpoint and exit cleanly at the end of the current step.
/// The flag is OR-reduced across ranks every step, so all ranks stop at the same step even when
/// only one of them got the signal.
public enum StopSignals {
    public static func install() {
        for sig in [SIGTERM, SIGUSR1, SIGINT] {
            signal(sig) { s in stopSignalNumber = s }
        }
    }

    /// The signal received, or 0.
    public static var received: Int32 { stopSignalNumber }

    public static func name(_ s: Int32) -> String {
        switch s {
        case SIGTERM: return "SIGTERM"
        case SIGUSR1: return "SIGUSR1"
        case SIGINT: return "SIGINT"
        default: return "signal \(s)"
        }
    }
}
