#!/usr/bin/env python3
"""Alpha-beta model of ecg-dist's data-parallel step, calibrated with this machine's measurements.

A step on P ranks with global batch G: every rank computes G/P samples, then the gradients
(4 bytes x parameters, in buckets of `bucket` floats) are summed across ranks while backward runs.

  compute     T_c = (G / P) * t_sample                      t_sample: one core, measured (`ecg-dist bench`)
  all-reduce  T_ar = sum over buckets of  a(P) + 2 (P-1)/P * bytes_bucket / beta
              flat ring:     a(P) = 2 (P-1) alpha
              hierarchical:  a(P) = 2 (c-1) alpha_node + 2 (N-1) alpha      (N nodes of c ranks;
                             intra-node reduce-scatter + inter-node ring + intra-node all-gather;
                             the network term is the same 2 (N-1)/N * bytes / beta_nic per NIC)
  exposed     T_x = max(T_ar - f_bwd * T_c, T_last_bucket)  (buckets overlap backward, which is
                                                             f_bwd of the step's compute; the last
                                                             bucket is ready only when backward ends)
  update      T_u = u * parameters                          (AdamW + EMA on every rank, not sharded)
  step        T = T_c + T_x + T_u;   efficiency = T_c / T

alpha is the cost of one round of the collective. With the trainer's progress loop (MPI_Iallreduce
polled with MPI_Test every 10 µs, timer slack 1 µs) a round cannot finish faster than about one
poll plus MPI's own work: measured here, `ecg-dist commbench --poll-us 10 --timer-slack` at np=2
takes 85 µs for one float (two rounds), 42 µs a round, against 0.6 µs for a blocking
MPI_Allreduce (50 µs polls with the default slack: 290 µs). So "polling" uses alpha = 42 µs.

Usage:
  bench/scaling_model.py                 # the tables of docs/scaling.md (paper recipe, 16..512 ranks)
  bench/scaling_model.py --check FILE    # predicted vs measured for the runs in FILE (JSON list)
"""
import argparse
import json
import math

# Measured on this machine (2 cores, AMD EPYC family 26, OpenBLAS Haswell kernels, 1 thread):
# seconds per sample of the JEPA step (`ecg-dist bench --batches 8 --threads 1`), parameters
# (encoder + predictor, from the pretrain start line), and the share of the step's compute that is
# backward (`bench --phases`: predictor + context-encoder backward; the target encoder and the
# forwards cannot hide communication).
MODELS = {
    "vit-xs": {"t_sample": 1 / 20.14, "params": 4_528_224, "f_bwd": 0.39},
    "vit-s": {"t_sample": 1 / 5.98, "params": 17_977_536, "f_bwd": 0.385},
    "vit-b": {"t_sample": 1 / 1.044, "params": 107_047_296, "f_bwd": 0.38},
}
BUCKET_FLOATS = 1 << 19          # the trainer's default bucket (PretrainConfig.bucketFloats)
ALPHA_NET = 25e-6                # s per round over TCP/Ethernet between nodes (assumption, see doc)
ALPHA_NODE = 2e-6                # s per round within a node (shared memory)
ALPHA_POLL = 42e-6               # s per round when progress comes from MPI_Test every 10 µs (measured;
                                 # 145 µs with the 50 µs polls and default timer slack used before)
NIC_EFFICIENCY = 0.85            # share of the line rate TCP delivers to MPI
UPDATE_S_PER_PARAM = 3.5e-9      # AdamW + EMA + clipping per parameter and step, one core (measured, doc)


def allreduce_seconds(n_bytes, ranks, nodes, beta, hierarchical, alpha=ALPHA_NET, alpha_node=ALPHA_NODE):
    """One all-reduce of n_bytes over `ranks` ranks on `nodes` nodes, network bandwidth beta B/s."""
    if ranks <= 1:
        return 0.0
    per_node = ranks // max(nodes, 1)
    if hierarchical and nodes > 1:
        latency = 2 * (per_node - 1) * alpha_node + 2 * (nodes - 1) * alpha
        bandwidth = 2 * (nodes - 1) / nodes * n_bytes / beta
    else:
        # A flat ring laid out node by node: one hop in `per_node` crosses the network, and that hop
        # (2 (P-1)/P of the data through one NIC) sets the pace.
        hop = alpha if nodes > 1 else alpha_node
        latency = 2 * (ranks - 1) * hop
        bandwidth = 2 * (ranks - 1) / ranks * n_bytes / beta
    return latency + bandwidth


def step_time(model, global_batch, ranks, nodes, beta, hierarchical=False, bucket=BUCKET_FLOATS, alpha=ALPHA_NET,
              alpha_node=ALPHA_NODE):
    """(compute, all-reduce, exposed + update) seconds of one step."""
    m = MODELS[model]
    compute = global_batch / ranks * m["t_sample"]
    total_bytes = 4 * m["params"]
    full = total_bytes // (4 * bucket)
    sizes = [4 * bucket] * full + ([total_bytes - full * 4 * bucket] if total_bytes % (4 * bucket) else [])
    times = [allreduce_seconds(b, ranks, nodes, beta, hierarchical, alpha, alpha_node) for b in sizes]
    reduce_total = sum(times)
    exposed = max(reduce_total - m["f_bwd"] * compute, times[-1] if times else 0.0)
    return compute, reduce_total, exposed + UPDATE_S_PER_PARAM * m["params"]


def projection_tables(global_batch=2048, steps=100_000, cores_per_node=32):
    out = []
    out.append(f"Global batch {global_batch}, {cores_per_node} ranks (cores) per node, buckets of "
               f"{BUCKET_FLOATS} floats, alpha {ALPHA_NET * 1e6:.0f} µs between nodes, TCP at "
               f"{NIC_EFFICIENCY:.0%} of the line rate.\n")
    variants = [("polling", "Flat ring, progress by polling every 10 µs (the trainer today)", False, ALPHA_POLL),
                ("ring", "Flat ring, blocking progress (network latency only)", False, ALPHA_NET),
                ("hier", "Hierarchical (intra-node reduce + inter-node ring), blocking progress", True, ALPHA_NET)]
    for key, title, hierarchical, alpha in variants:
        out.append(f"### {title}\n")
        out.append("| model | ranks (nodes) | link | compute s | all-reduce s | exposed + update s | step s | efficiency |")
        out.append("|---|---|---|---|---|---|---|---|")
        for model in MODELS:
            for ranks in (16, 32, 64, 128, 256, 512):
                nodes = max(1, ranks // cores_per_node)
                for gbps in ((10, 25, 100) if ranks in (16, 512) else (25,)):
                    beta = gbps * 1e9 / 8 * NIC_EFFICIENCY
                    c, r, x = step_time(model, global_batch, ranks, nodes, beta, hierarchical, alpha=alpha)
                    out.append(f"| {model} | {ranks} ({nodes}) | {gbps} Gb/s | {c:.3f} | {r:.3f} | {x:.3f} | "
                               f"{c + x:.3f} | {c / (c + x):.0%} |")
        out.append("")
    out.append("### Bucket size (vit-xs, 512 ranks on 16 nodes, 25 Gb/s, flat ring, polling as today)\n")
    out.append("Each bucket pays the ring's latency 2 (P-1) alpha once, so at scale larger buckets win until the last one,")
    out.append("which cannot overlap backward, grows too large.\n")
    out.append("| bucket floats | buckets | all-reduce s | exposed s | step s | efficiency |")
    out.append("|---|---|---|---|---|---|")
    beta = 25e9 / 8 * NIC_EFFICIENCY
    for bucket in (1 << 17, 1 << 18, 1 << 19, 1 << 20, 1 << 21, 1 << 22, 1 << 23):
        c, r, x = step_time("vit-xs", global_batch, 512, 16, beta, False, bucket=bucket, alpha=ALPHA_POLL)
        n = math.ceil(MODELS["vit-xs"]["params"] / bucket)
        out.append(f"| {bucket} | {n} | {r:.3f} | {x:.3f} | {c + x:.3f} | {c / (c + x):.0%} |")
    out.append("")
    out.append(f"### The paper's recipe ({steps:,} steps, global batch {global_batch}) on 16 nodes × 32 cores\n")
    out.append("| model | link | all-reduce | step s | efficiency | wall time |")
    out.append("|---|---|---|---|---|---|")
    for model in MODELS:
        for gbps in (10, 25, 100):
            beta = gbps * 1e9 / 8 * NIC_EFFICIENCY
            for key, title, hierarchical, alpha in variants:
                c, r, x = step_time(model, global_batch, 512, 16, beta, hierarchical, alpha=alpha)
                hours = steps * (c + x) / 3600
                out.append(f"| {model} | {gbps} Gb/s | {key} | {c + x:.3f} | "
                           f"{c / (c + x):.0%} | {hours:.1f} h ({hours / 24:.1f} d) |")
    return "\n".join(out)


def check(path):
    """Each run: {"model", "ranks", "nodes", "global_batch", "beta_Bps", "alpha_s", "measured_samples_per_s", "label"},
    optionally "cpu_s_per_byte": CPU the kernel's TCP stack takes per gradient byte from the same
    cores as the compute (the namespace test bed: both "hosts" share this machine's 2 cores)."""
    runs = json.load(open(path))
    print("| run | predicted samples/s | measured samples/s | error |")
    print("|---|---|---|---|")
    for r in runs:
        c, _, x = step_time(r["model"], r["global_batch"], r["ranks"], r["nodes"], r["beta_Bps"],
                            alpha=r.get("alpha_s", ALPHA_NET), alpha_node=r.get("alpha_s", ALPHA_NODE))
        stack = r.get("cpu_s_per_byte", 0.0) * 4 * MODELS[r["model"]]["params"]
        predicted = r["global_batch"] / (c + x + stack)
        err = (predicted - r["measured_samples_per_s"]) / r["measured_samples_per_s"]
        print(f"| {r['label']} | {predicted:.2f} | {r['measured_samples_per_s']:.2f} | {err:+.0%} |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", help="JSON list of measured runs to compare with the model")
    a = ap.parse_args()
    if a.check:
        check(a.check)
    else:
        print(projection_tables())
