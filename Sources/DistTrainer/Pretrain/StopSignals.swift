import Foundation

// Set from a signal handler, so it must be a plain global word (no locks, no allocation).
private var stopSignalNumber: sig_atomic_t = 0

/// SIGTERM (scancel, mpirun shutting down) and SIGUSR1 (Slurm's `--signal=USR1@120` warning before
/// the time limit, `ecg-dist launch`'s translation of a stop request) ask the run to checkpoint and
/// exit cleanly at the end of the current step. The flag is OR-reduced across ranks every step, so
/// all ranks stop at the same step even when only one of them got the signal.
///
/// A second SIGTERM or SIGINT after any stop signal ends the process at once, by the signal's
/// default action: whoever sends it twice wants it gone now (a hung file system, a step that takes
/// too long). Nothing is lost that was saved: checkpoints are written to a temporary file and
/// renamed, so the newest one on disk is whole. Repeated SIGUSR1s only repeat the request.
public enum StopSignals {
    public static func install() {
        for sig in [SIGTERM, SIGUSR1, SIGINT] {
            // Only async-signal-safe calls in here: signal() and raise().
            signal(sig) { s in
                if stopSignalNumber != 0 && s != SIGUSR1 {
                    signal(s, SIG_DFL)
                    raise(s)
                    return
                }
                stopSignalNumber = s
            }
        }
    }

    /// The signal received, or 0.
    public static var received: Int32 { stopSignalNumber }

    public static func name(_ s: Int32) -> String {
        switch s {
        case SIGTERM: return "SIGTERM"
        case SIGUSR1: return "SIGUSR1"
        case SIGINT: return "SIGINT"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(s)"
        }
    }
}
