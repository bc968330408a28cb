#!/usr/bin/env python3
"""Summarises a mixture pre-training run's metrics.jsonl against issue 13's three goals.

Usage: mixture_summary.py METRICS_JSONL WEIGHTS NAMES [LOADAVG_LOG]
  WEIGHTS  comma-separated --data weights in --data order, e.g. 0.7,0.3 (normalised here too)
  NAMES    comma-separated corpus names for the table, e.g. mimic,code15
  LOADAVG_LOG  optional file of "<unix time> <1-min> <5-min> <15-min>" lines sampled during the run

Prints mean step time, loader wait as % of the step time (mean and max over the logged intervals,
rank 0's own and the slowest rank's), RSS per rank at step 100 and at the last step with the
least-squares slope from step 100 on, and the realised share of each corpus against its weight.
Needs the fields `step_s`, `rss_mb`, `io_wait_s_ranks` and `samples_per_corpus` (ecg-dist after
the RankGauges change); exits 1 when they are missing.
"""
import json
import sys


def load_steps(path):
    """Training lines (not eval lines), last one per step (a resumed run may repeat steps)."""
    by_step = {}
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if "loss" in record:
                by_step[record["step"]] = record
    return [by_step[s] for s in sorted(by_step)]


def slope_per_1000_steps(points):
    """Least-squares slope of (step, value) pairs, in value units per 1,000 steps."""
    n = len(points)
    if n < 2:
        return float("nan")
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return 1000 * sxy / sxx if sxx else float("nan")


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rows = load_steps(sys.argv[1])
    weights = [float(w) for w in sys.argv[2].split(",")]
    weights = [w / sum(weights) for w in weights]
    names = sys.argv[3].split(",")
    needed = ["step_s", "rss_mb", "io_wait_s_ranks", "samples_per_corpus"]
    if not rows or any(k not in rows[-1] for k in needed):
        sys.exit(f"{sys.argv[1]}: no training lines with {', '.join(needed)}")

    last = rows[-1]
    step_s = [r["step_s"] for r in rows]
    print(f"logged intervals: {len(rows)} (steps {rows[0]['step']}..{last['step']}), ranks {last['ranks']}")
    steady = rows[1:] if len(rows) > 1 else rows  # the first interval also holds start-up reads
    print(f"step time: mean {1000 * sum(step_s) / len(step_s):.1f} ms over all intervals, "
          f"{1000 * sum(r['step_s'] for r in steady) / len(steady):.1f} ms without the first; "
          f"min {1000 * min(step_s):.1f} ms, max {1000 * max(step_s):.1f} ms")

    # Loader wait: rank 0's (io_wait_s) and the slowest rank's, each per step over the interval,
    # as a share of that interval's wall-clock step time.
    rank0 = [100 * r["io_wait_s"] / r["step_s"] for r in rows]
    slowest = [100 * max(r["io_wait_s_ranks"]) / r["step_s"] for r in rows]
    worst = max(range(len(rows)), key=lambda i: slowest[i])
    print(f"loader wait, % of step time: rank 0 mean {sum(rank0) / len(rank0):.3f} %, max {max(rank0):.3f} %; "
          f"slowest rank mean {sum(slowest) / len(slowest):.3f} %, max {slowest[worst]:.3f} % "
          f"(interval ending at step {rows[worst]['step']}); without the first interval: mean "
          f"{sum(slowest[1:]) / max(1, len(slowest) - 1):.3f} %, max {max(slowest[1:] or [0]):.3f} %")
    # Every interval holds the same number of steps, so the whole run's share is a ratio of sums.
    whole = [100 * sum(r["io_wait_s_ranks"][k] for r in rows) / sum(r["step_s"] for r in rows)
             for k in range(len(last["io_wait_s_ranks"]))]
    over = [r["step"] for r, share in zip(rows, slowest) if share >= 2]
    print(f"loader wait over the whole run, % of wall time per rank: {', '.join(f'{w:.3f} %' for w in whole)}; "
          f"intervals at or over 2 %: {len(over)} of {len(rows)}{' (ending at steps ' + ', '.join(map(str, over)) + ')' if over else ''}")
    if "io_wait_longest_s_ranks" in last:
        longest = max(rows, key=lambda r: max(r["io_wait_longest_s_ranks"]))
        typical = sorted(max(r["io_wait_longest_s_ranks"]) for r in rows)[len(rows) // 2]
        print(f"longest single wait: {1000 * max(longest['io_wait_longest_s_ranks']):.1f} ms (interval ending at step "
              f"{longest['step']}, step time there {1000 * longest['step_s']:.0f} ms); median over intervals of the "
              f"longest wait {1000 * typical:.2f} ms")
    print(f"  goal < 2 %: whole run {'met' if max(whole) < 2 else 'MISSED'}; every 10-step interval "
          f"{'met' if max(slowest) < 2 else 'MISSED'} (max over intervals and ranks {max(slowest):.2f} %)")

    # RSS per rank: from step 100 on (the engine's buffers have reached their size by then).
    base = next((r for r in rows if r["step"] >= 100), rows[0])
    ranks = len(last["rss_mb"])
    for rank in range(ranks):
        points = [(r["step"], r["rss_mb"][rank]) for r in rows if r["step"] >= base["step"]]
        values = [v for _, v in points]
        half = [(x, y) for x, y in points if x >= last["step"] / 2]
        print(f"RSS rank {rank}: step {base['step']} {base['rss_mb'][rank]:.1f} MB, step {last['step']} "
              f"{last['rss_mb'][rank]:.1f} MB (change {last['rss_mb'][rank] - base['rss_mb'][rank]:+.1f} MB), "
              f"range {min(values):.1f}..{max(values):.1f} MB, slope {slope_per_1000_steps(points):+.2f} MB/1000 steps "
              f"from step {base['step']}, {slope_per_1000_steps(half):+.2f} MB/1000 steps over the second half")

    counts = last["samples_per_corpus"]
    total = sum(counts)
    print(f"realised mixture over {total} samples (all ranks, steps 1..{last['step']}):")
    for name, weight, n in zip(names, weights, counts):
        share = n / total
        print(f"  {name:8s} weight {100 * weight:6.2f} %  realised {100 * share:8.4f} % ({n} samples)  "
              f"off by {100 * (share - weight):+.4f} points ({100 * (share - weight) / weight:+.4f} % of the weight)")

    if len(sys.argv) > 4:
        loads = [float(line.split()[1]) for line in open(sys.argv[4]) if line.strip()]
        if loads:
            print(f"load average (1-min) during the run: mean {sum(loads) / len(loads):.2f}, "
                  f"min {min(loads):.2f}, max {max(loads):.2f} over {len(loads)} samples")


if __name__ == "__main__":
    main()
