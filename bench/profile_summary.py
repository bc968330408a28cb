#!/usr/bin/env python3
"""Where the CPU time of the profiled JEPA steps goes, from `perf script` output on stdin.

Reads the samples of `perf record --call-graph dwarf` (bench/profile_step.sh records exactly the
steps of `ecg-dist bench --profile-steps`) and prints each kind of work's share: the OpenBLAS
kernel and its packing split by the engine function that called sgemm, the engine's own kernels
(GELU, softmax, LayerNorm, ...), libc memset/memcpy, the OS, the thread pool. Each
sample also gets its part of the step (encoder/predictor, forward/backward): from its stack on
the engine's thread, from the time on a pool worker's.
DWARF unwinding is needed: OpenBLAS has no frame pointers, so with -g its samples lose their
callers. Dev tool only (the trainer never runs Python).
"""
import bisect
import collections
import re
import sys

MODULE = re.compile(r"\$s(\d+)([A-Za-z_]\w*)")


def swift_name(symbol):
    """'$s5Model16TransformerStackC12forwardBlock…' -> 'TransformerStack.forwardBlock' (the first
    one or two identifiers after the module; enough to tell the engine's functions apart)."""
    m = MODULE.match(symbol)
    if not m:
        return None
    rest = symbol[m.end(1) + int(m.group(1)):]   # after the module name
    names = []
    while rest and len(names) < 2:
        n = re.match(r"(\d+)", rest)
        if not n:
            break
        length = int(n.group(1))
        names.append(rest[n.end():n.end() + length])
        rest = rest[n.end() + length:]
        if not rest or rest[0] not in "CVO":   # class / struct / enum: a member name follows
            break
        rest = rest[1:]
    return ".".join(names) if names else None


KERNEL = "OpenBLAS kernel"
SMALL_KERNEL = "OpenBLAS small-matrix kernel (unpacked)"


def kind_of(leaf, address):
    """What kind of work the innermost frame does."""
    if address.startswith("ffffffff"):
        return "OS (page faults, scheduling, syscalls)"
    if leaf.startswith("sgemm_kernel"):
        return KERNEL
    # The SkylakeX/Cooperlake cores multiply small products (m·n·k up to about 10^6, e.g. a
    # width-24 head's 201×201 scores) straight from the operands, without packing: GEMM arithmetic
    # all the same, so it counts with the kernel in the parts table.
    if leaf.startswith("sgemm_small_kernel"):
        return SMALL_KERNEL
    if re.match(r"sgemm_[io][nt]copy", leaf):
        return "OpenBLAS packing"
    if leaf.startswith("sgemm_beta"):
        return "OpenBLAS beta scaling (C ·= beta)"
    if leaf.startswith(("sgemm_", "cblas_", "blas_", "exec_blas", "gotoblas")):
        return "OpenBLAS driver"
    if leaf.startswith(("__memset", "memset")):
        return "libc memset"
    if leaf.startswith(("__memmove", "__memcpy", "memcpy", "memmove")):
        return "libc memcpy/memmove"
    if leaf.startswith("shim_stream_copy"):
        return "streaming copy (saved attention)"
    if leaf.startswith(("sched_yield", "__sched_yield", "futex", "__futex", "pthread_cond", "__pthread")):
        return "thread pool (waiting)"
    name = swift_name(leaf) or ""
    lowered = name.lower()
    for key, kind in (("gelu", "GELU"), ("softmax", "softmax"), ("layernorm", "LayerNorm"),
                      ("attention", "attention (elementwise)"), ("scalerow", "attention (elementwise)"),
                      ("l1loss", "L1 loss"), ("dropout", "dropout"), ("workerpool", "thread pool (waiting)"),
                      ("accumulate", "add/accumulate"), ("zerorows", "libc memset")):
        if key in lowered:
            return kind
    if name:
        return "other engine code"
    return "other"


# Vector helpers and standard-library generics that perf sees as frames of their own when not
# inlined: their time belongs to the kernel that called them.
HELPERS = {"hsum", "hmax", "vmax", "load16", "store16", "tailMask", "loadPartial", "storePartial"}


def innermost_own_frame(frames, addresses):
    for symbol, address in zip(frames, addresses):
        if symbol.startswith(("$sS", "$ss")) or swift_name(symbol) in HELPERS:
            continue
        return symbol, address
    return frames[0], addresses[0]


PARTS = (("PredictorC8backward", "predictor backward"), ("PredictorC7forward", "predictor forward"),
         ("ViTEncoderC8backward", "encoder backward"), ("ViTEncoderC7forward", "encoder forward (target + context)"))


def part_of(frames):
    """The part of the step in a sample of the engine's own thread, None in a pool worker's (its
    stack starts at the pool; main() gives it the part the engine thread was in at that time)."""
    joined = " ".join(frames)
    if "JEPAModelC4step" not in joined:
        return None if "WorkerPool" in joined else "outside the step"
    for key, part in PARTS:
        if key in joined:
            return part
    return "loss and the rest of the step"


def blas_caller(frames):
    """The engine function that issued the sgemm (skipping the sgemm wrapper itself)."""
    for symbol in frames:
        name = swift_name(symbol)
        if name and not name.startswith(("sgemm", "splitSGEMM", "parallelChunks")):
            return "a GEMM split over the pool (worker side)" if name.startswith("WorkerPool") else name
    return "?"


def samples(stream):
    block = []
    for line in stream:
        line = line.rstrip("\n")
        if line.strip():
            block.append(line)
        elif block:
            yield block
            block = []
    if block:
        yield block


def main():
    kinds, callers, parts, part_kinds = (collections.Counter() for _ in range(4))
    total = 0
    engine_times, engine_parts, worker_samples = [], [], []   # (time, part) of the engine thread
    for block in samples(sys.stdin):
        header = block[0].split()
        time = float(header[2].rstrip(":")) if len(header) > 2 else 0.0
        frames, addresses = [], []
        for line in block[1:]:
            fields = line.split(None, 1)
            if len(fields) < 2:
                continue
            addresses.append(fields[0])
            frames.append(re.sub(r"\+0x[0-9a-f]+.*$", "", fields[1]).strip())
        if not frames:
            continue
        total += 1
        kind = kind_of(*innermost_own_frame(frames, addresses))
        kinds[kind] += 1
        if kind.startswith("OpenBLAS"):
            callers[(kind, blas_caller(frames[1:]))] += 1
        part = part_of(frames)
        if part is None:
            worker_samples.append((time, kind))
            continue
        if part != "outside the step":
            engine_times.append(time)
            engine_parts.append(part)
        parts[part] += 1
        part_kinds[(part, kind)] += 1
    # A pool worker runs only inside a region the engine thread opened: its sample belongs to the
    # part the engine thread's nearest sample in time was in (perf samples ~every ms, parts last
    # tens to hundreds of ms).
    order = sorted(range(len(engine_times)), key=engine_times.__getitem__)
    times = [engine_times[i] for i in order]
    for time, kind in worker_samples:
        i = bisect.bisect_left(times, time)
        near = [j for j in (i - 1, i) if 0 <= j < len(times)]
        part = engine_parts[order[min(near, key=lambda j: abs(times[j] - time))]] if near else "outside the step"
        parts[part] += 1
        part_kinds[(part, kind)] += 1
    if total == 0:
        sys.exit("profile_summary: no samples on stdin (was perf record run with --call-graph dwarf?)")

    def pct(n, of=total):
        return 100.0 * n / of

    print(f"{total} samples")
    print(f"\n{'kind of work':44s} {'share':>7s}")
    for kind, n in kinds.most_common():
        print(f"  {kind:42s} {pct(n):6.1f} %")
        if kind.startswith("OpenBLAS"):
            for (k, caller), m in callers.most_common():
                if k == kind and pct(m) >= 0.3:
                    print(f"      {'from ' + caller:38s} {pct(m):6.1f} %")
    print(f"\n{'part of the step':44s} {'share':>7s}  {'OpenBLAS kernels within it':>26s}")
    for part, n in parts.most_common():
        kernel = part_kinds[(part, KERNEL)] + part_kinds[(part, SMALL_KERNEL)]
        print(f"  {part:42s} {pct(n):6.1f} %  {pct(kernel, n):24.1f} %")
    arithmetic = kinds[KERNEL] + kinds[SMALL_KERNEL]
    print(f"\nOpenBLAS kernels (packed and small-matrix) {pct(arithmetic):.1f} %, everything else {100 - pct(arithmetic):.1f} %")


if __name__ == "__main__":
    main()
