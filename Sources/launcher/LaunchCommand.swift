import ArgumentParser
import DistTrainer
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `ecg-dist launch mpirun -np 16 … -- pretrain …`: runs the MPI launcher with this binary and
/// turns a stop request (SIGTERM, SIGINT, SIGHUP) into the graceful one, so that the job ends
/// with a checkpoint and exit 0.
///
/// Why a wrapper: the stop has to reach the ranks as a signal the launcher *forwards*. OpenMPI's
/// mpirun treats SIGTERM/SIGINT as "abort": it sends SIGTERM to the ranks, SIGKILL one second
/// later (`odls_base_sigkill_timeout`), and exits 1 whatever the ranks did; srun answers SIGTERM
/// by killing the step. Both forward SIGUSR1 untouched, and on SIGUSR1 every rank stops at the
/// end of its current step, rank 0 writes a checkpoint and all exit 0. So the first stop signal
/// becomes SIGUSR1; a second one is passed on as SIGTERM (an immediate abort: no new checkpoint,
/// the newest one on disk stays intact because checkpoints are written atomically).
struct Launch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Run mpirun/srun with ecg-dist so that SIGTERM or Ctrl-C ends the job with a checkpoint and exit 0.",
        discussion: """
            Usage: ecg-dist launch LAUNCHER [LAUNCHER ARGS] -- SUBCOMMAND [ARGS]
              ecg-dist launch mpirun -np 16 --hostfile hosts -- pretrain --data corpus.h5 --out runs/xs
              ecg-dist launch srun --mpi=pmix -- pretrain --data corpus.h5 --out runs/xs
            The launcher starts this ecg-dist binary (by its absolute path) with SUBCOMMAND and ARGS. \
            The first SIGTERM, SIGINT or SIGHUP is sent on to the launcher as SIGUSR1, which mpirun and \
            srun forward to every rank: the ranks stop at the end of the current step, write a \
            checkpoint and exit 0, and so does `launch`. A second SIGTERM/SIGINT/SIGHUP is sent on as \
            SIGTERM: mpirun and srun then abort the job at once (no new checkpoint; the newest one \
            stays valid). SIGUSR1 and SIGUSR2 are passed on unchanged. The exit status is the \
            launcher's (128 + N when it died of signal N). The launcher runs in its own process group \
            with standard input from /dev/null, so a Ctrl-C in the terminal reaches only `launch`.
            """)

    @Argument(parsing: .captureForPassthrough, help: "LAUNCHER [ARGS] -- SUBCOMMAND [ARGS]")
    var commandLine: [String] = []

    func validate() throws {
        _ = try LaunchPlan(commandLine)
    }

    func run() throws {
        let plan = try LaunchPlan(commandLine)
        let status = try SignalForwardingChild.run(plan.argv(executable: try currentExecutablePath()))
        throw ExitCode(status)
    }
}

/// The command line split at `--`: what starts the ranks, and what each rank runs.
struct LaunchPlan {
    var launcher: [String]
    var subcommand: [String]

    init(_ arguments: [String]) throws {
        guard let separator = arguments.firstIndex(of: "--") else {
            throw ValidationError("launch: no `--` between the launcher and the ecg-dist subcommand "
                                  + "(e.g. ecg-dist launch mpirun -np 2 -- pretrain --data corpus.h5 --out runs/x)")
        }
        launcher = Array(arguments[..<separator])
        subcommand = Array(arguments[(separator + 1)...])
        guard let program = launcher.first, !program.hasPrefix("-") else {
            throw ValidationError("launch: name the launcher first (mpirun, mpiexec or srun), before `--`")
        }
        guard let first = subcommand.first, !first.hasPrefix("-") else {
            throw ValidationError("launch: name the ecg-dist subcommand after `--` (e.g. pretrain)")
        }
    }

    func argv(executable: String) -> [String] { launcher + [executable] + subcommand }
}

/// This binary's absolute path, so that every rank (local or remote, on a shared file system)
/// runs the same build as `launch` itself rather than whatever `ecg-dist` PATH finds.
func currentExecutablePath() throws -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard length > 0 else { throw LaunchError("launch: cannot resolve /proc/self/exe: \(String(cString: strerror(errno)))") }
    buffer[length] = 0
    return String(cString: buffer)
}

/// A failure while running (not a usage mistake, so no usage text after it).
struct LaunchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum SignalForwardingChild {
    static let stopSignals: Set<Int32> = [SIGTERM, SIGINT, SIGHUP]
    static let passedSignals: Set<Int32> = [SIGUSR1, SIGUSR2]

    /// Spawns `argv` and forwards signals until it exits; returns the exit status to use.
    static func run(_ argv: [String]) throws -> Int32 {
        // Every signal we handle is blocked and taken with sigtimedwait: no async handler runs,
        // so the forwarding logic is ordinary code. The child gets an empty mask and default
        // dispositions back.
        var handled = sigset_t()
        sigemptyset(&handled)
        for s in stopSignals.union(passedSignals).union([SIGCHLD]) { sigaddset(&handled, s) }
        var previousMask = sigset_t()
        pthread_sigmask(SIG_BLOCK, &handled, &previousMask)
        defer { pthread_sigmask(SIG_SETMASK, &previousMask, nil) }

        let child = try spawn(argv, defaultSignals: handled)
        var stopsForwarded = 0
        var timeout = timespec(tv_sec: 0, tv_nsec: 200_000_000)
        while true {
            var status: Int32 = 0
            let done = waitpid(child, &status, WNOHANG)
            if done == child { return exitStatus(status) }
            if done < 0 && errno != EINTR { throw LaunchError("launch: waitpid: \(String(cString: strerror(errno)))") }
            let s = sigtimedwait(&handled, nil, &timeout)
            guard s > 0 else { continue }   // timeout or EINTR: poll the child again
            if stopSignals.contains(s) {
                stopsForwarded += 1
                let graceful = stopsForwarded == 1
                kill(child, graceful ? SIGUSR1 : SIGTERM)
                let what = graceful
                    ? "asking every rank to checkpoint and stop (SIGUSR1 to \(argv[0])); send it again to abort at once"
                    : "aborting (SIGTERM to \(argv[0])); the newest checkpoint on disk stays valid"
                FileHandle.standardError.write(Data("ecg-dist launch: \(StopSignals.name(s)): \(what)\n".utf8))
            } else if passedSignals.contains(s) {
                kill(child, s)
            }
        }
    }

    static func spawn(_ argv: [String], defaultSignals: sigset_t) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = defaultSignals
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)   // own process group: terminal signals reach only us
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // mpirun and srun read standard input to pass it to the ranks; from a background process
        // group that read would stop them (SIGTTIN). The ranks never read it.
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)

        let cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, &attributes, cArguments, environ)
        guard rc == 0 else {
            throw LaunchError("launch: cannot start '\(argv[0])': \(String(cString: strerror(rc)))")
        }
        return pid
    }

    static func exitStatus(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
