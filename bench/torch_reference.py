#!/usr/bin/env python3
"""PyTorch reference for ecg-dist's hand-written ViT / JEPA step.

check mode (default): loads a dump written by `ecg-dist bench --dump DIR` (raw float32 files +
meta.json), rebuilds the same model functionally in float64 from the dumped flat parameter
buffer, and compares
  * the context-free encoder forward (all tokens, eval path)    -> max |diff| < 1e-4
  * the JEPA L1 loss                                            -> |diff| < 1e-5 relative
  * every parameter gradient (encoder + predictor)              -> ||g - g_ref|| / ||g_ref|| < 1e-3
bench mode (--bench): times the same JEPA step (float32, autograd) and a forward-only encoder pass
(no grad, eval-style 2.5-s crops by default) with torch.set_num_threads(t), so `ecg-dist bench`
numbers can be compared on the same machine (bench/compare_torch.sh interleaves both).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def sincos_table(positions, dim, dtype):
    half = dim // 2
    omega = 1.0 / 10000 ** (np.arange(half, dtype=np.float64) / half)
    angles = np.outer(np.arange(positions, dtype=np.float64), omega)
    return torch.tensor(np.concatenate([np.sin(angles), np.cos(angles)], axis=1), dtype=dtype)


def block(x, P, pre, heads):
    B, N, D = x.shape
    hd = D // heads
    h = F.layer_norm(x, (D,), P[pre + "norm1.weight"], P[pre + "norm1.bias"], eps=1e-6)
    qkv = (h @ P[pre + "attn.qkv.weight"].T).reshape(B, N, 3, heads, hd).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    att = torch.softmax((q @ k.transpose(-2, -1)) * hd ** -0.5, dim=-1)
    o = (att @ v).transpose(1, 2).reshape(B, N, D)
    x = x + o @ P[pre + "attn.proj.weight"].T
    h = F.layer_norm(x, (D,), P[pre + "norm2.weight"], P[pre + "norm2.bias"], eps=1e-6)
    return x + F.gelu(h @ P[pre + "mlp.fc1.weight"].T) @ P[pre + "mlp.fc2.weight"].T


def select(x, idx):
    """Rows idx of every sample of x [B, N, D]: idx a list (the same rows for every sample, a
    shared mask) or a LongTensor [B, n] (a mask per sample)."""
    if isinstance(idx, list):
        return x[:, idx]
    return torch.gather(x, 1, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def count(idx):
    return len(idx) if isinstance(idx, list) else idx.shape[-1]


def encoder(signal, P, cfg, pos, patch_indices=None, pre="encoder."):
    """signal [B, T, 12] time-major -> [B, 1 + n, dim] after the final LayerNorm."""
    tokens = F.conv1d(signal.transpose(1, 2), P[pre + "patch_embed.weight"], stride=cfg["patch_size"]).transpose(1, 2)
    tokens = tokens + pos[: tokens.shape[1]]
    if patch_indices is not None:
        tokens = select(tokens, patch_indices)
    reg = P[pre + "reg_token"].expand(signal.shape[0], 1, cfg["dim"])
    x = torch.cat([reg, tokens], dim=1)
    for i in range(cfg["depth"]):
        x = block(x, P, f"{pre}blocks.{i}.", cfg["heads"])
    return F.layer_norm(x, (cfg["dim"],), P[pre + "norm.weight"], P[pre + "norm.bias"], eps=1e-6)


def predictor(ctx_out, P, cfg, pos_pred, ctx, tgt, pre="predictor."):
    B = ctx_out.shape[0]
    e = ctx_out @ P[pre + "embed.weight"].T
    e = torch.cat([e[:, :1], e[:, 1:] + pos_pred[ctx]], dim=1)
    m = P[pre + "mask_token"].expand(B, count(tgt), cfg["pred_dim"]) + pos_pred[tgt]
    z = torch.cat([e, m], dim=1)
    for i in range(cfg["pred_depth"]):
        z = block(z, P, f"{pre}blocks.{i}.", cfg["pred_heads"])
    z = z[:, 1 + count(ctx):]
    z = F.layer_norm(z, (cfg["pred_dim"],), P[pre + "norm.weight"], P[pre + "norm.bias"], eps=1e-6)
    return z @ P[pre + "proj.weight"].T


def jepa_loss(signal, P, T, cfg, ctx, tgt, pos, pos_pred):
    with torch.no_grad():
        out = encoder(signal, T, cfg, pos)
        target = select(out, [1 + i for i in tgt] if isinstance(tgt, list) else tgt + 1)
    pred = predictor(encoder(signal, P, cfg, pos, ctx), P, cfg, pos_pred, ctx, tgt)
    return (pred - target).abs().mean()


def unflatten(flat, specs, dtype, requires_grad):
    P = {}
    for s in specs:
        n = int(np.prod(s["shape"]))
        t = torch.tensor(flat[s["offset"]: s["offset"] + n].reshape(s["shape"]), dtype=dtype)
        P[s["name"]] = t.requires_grad_(requires_grad)
    return P


def load(d, name, count=None):
    a = np.fromfile(os.path.join(d, name), dtype="<f4")
    assert count is None or a.size == count, f"{name}: {a.size} floats, expected {count}"
    return a


def check(d):
    meta = json.load(open(os.path.join(d, "meta.json")))
    cfg, B, S = meta["config"], meta["batch"], meta["samples"]
    ctx, tgt = meta["context"], meta["target"]
    if "contexts" in meta:   # a mask per sample
        ctx, tgt = torch.tensor(meta["contexts"]), torch.tensor(meta["targets"])
        print(f"per-sample masks: {len(meta['contexts'])} samples, {ctx.shape[1]} context / {tgt.shape[1]} target patches each")
    specs = meta["params"]
    dt = torch.float64
    params, grads = load(d, "params.bin", meta["param_count"]), load(d, "grads.bin", meta["param_count"])
    target_flat = load(d, "target.bin", meta["target_count"])
    signal = torch.tensor(load(d, "input.bin").reshape(B, S, cfg["channels"]), dtype=dt)
    n_patches = S // cfg["patch_size"]
    pos, pos_pred = sincos_table(n_patches, cfg["dim"], dt), sincos_table(n_patches, cfg["pred_dim"], dt)
    P = unflatten(params, specs, dt, True)
    T = unflatten(target_flat, [s for s in specs if s["name"].startswith("encoder.")], dt, False)
    ok = True

    with torch.no_grad():
        out = encoder(signal, P, cfg, pos).numpy()
    swift_out = load(d, "encoder_out.bin").reshape(out.shape)
    fwd_err = float(np.abs(out - swift_out).max())
    print(f"encoder forward [{B}x{out.shape[1]}x{out.shape[2]}]: max |swift - torch| = {fwd_err:.2e} (limit 1e-4)")
    ok &= fwd_err < 1e-4

    loss = jepa_loss(signal, P, T, cfg, ctx, tgt, pos, pos_pred)
    (loss * meta["grad_scale"]).backward()
    loss_err = abs(loss.item() - meta["loss"]) / abs(loss.item())
    print(f"JEPA L1 loss: swift {meta['loss']:.8f} torch {loss.item():.8f} rel diff {loss_err:.2e} (limit 1e-5)")
    ok &= loss_err < 1e-5

    worst_name, worst = "", 0.0
    for s in specs:
        ref = P[s["name"]].grad
        n = int(np.prod(s["shape"]))
        g = grads[s["offset"]: s["offset"] + n].reshape(s["shape"]).astype(np.float64)
        r = ref.numpy() if ref is not None else np.zeros_like(g)
        rel = np.linalg.norm(g - r) / max(np.linalg.norm(r), 1e-30)
        if rel > worst:
            worst, worst_name = rel, s["name"]
        if rel >= 1e-3:
            print(f"  MISMATCH {s['name']}: relative error {rel:.2e}")
            ok = False
    print(f"parameter gradients ({len(specs)} tensors): worst relative error {worst:.2e} ({worst_name}) (limit 1e-3)")
    print("OK" if ok else "FAILED")
    return ok


def bench(batch, threads, repeats, config, fwd_samples=1250, fwd_factor=4, machine=False, per_sample=False):
    cfgs = {"vit-xs": (192, 8, 4, 96, 8, 4), "vit-s": (384, 8, 6, 192, 8, 6)}
    dim, depth, heads, pd, pdepth, pheads = cfgs[config]
    cfg = dict(dim=dim, depth=depth, heads=heads, pred_dim=pd, pred_depth=pdepth, pred_heads=pheads,
               patch_size=25, channels=12, mlp_ratio=4)
    g = torch.Generator().manual_seed(0)

    def rnd(*shape, std=0.02):
        return (torch.randn(*shape, generator=g) * std)

    def params(pre, d, n, h, extra):
        P = {pre + "patch_embed.weight": rnd(d, 12, 25), pre + "reg_token": rnd(1, 1, d)} if extra else {}
        for i in range(n):
            b = f"{pre}blocks.{i}."
            P.update({b + "norm1.weight": torch.ones(d), b + "norm1.bias": torch.zeros(d), b + "attn.qkv.weight": rnd(3 * d, d),
                      b + "attn.proj.weight": rnd(d, d), b + "norm2.weight": torch.ones(d), b + "norm2.bias": torch.zeros(d),
                      b + "mlp.fc1.weight": rnd(4 * d, d), b + "mlp.fc2.weight": rnd(d, 4 * d)})
        P[pre + "norm.weight"], P[pre + "norm.bias"] = torch.ones(d), torch.zeros(d)
        return P

    P = params("encoder.", dim, depth, heads, True)
    P.update(params("predictor.", pd, pdepth, pheads, False))
    P["predictor.embed.weight"], P["predictor.mask_token"], P["predictor.proj.weight"] = rnd(pd, dim), rnd(1, 1, pd), rnd(dim, pd)
    T = {k: v.clone() for k, v in P.items() if k.startswith("encoder.")}
    for v in P.values():
        v.requires_grad_(True)
    torch.set_num_threads(threads)
    rng = np.random.default_rng(1)
    perm = rng.permutation(200)
    ctx = sorted(perm[:40].tolist())
    tgt = sorted(perm[40:].tolist())
    if per_sample:   # a mask per sample, as ecg-dist bench --masks per-sample and the trainer
        perms = [np.random.default_rng(1000 + b).permutation(200) for b in range(batch)]
        ctx = torch.tensor([sorted(p[:40].tolist()) for p in perms])
        tgt = torch.tensor([sorted(p[40:].tolist()) for p in perms])
    pos, pos_pred = sincos_table(200, dim, torch.float32), sincos_table(200, pd, torch.float32)
    signal = torch.randn(batch, 5000, 12, generator=g)

    def timed(fn):
        """Best wall and best process-CPU seconds of `repeats` runs (after one warm-up)."""
        wall = cpu = math.inf
        for i in range(repeats + 1):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            if i > 0:
                wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
        return wall, cpu

    def step():
        loss = jepa_loss(signal, P, T, cfg, ctx, tgt, pos, pos_pred)
        loss.backward()
        for v in P.values():
            v.grad = None

    fb = batch * fwd_factor
    crops = torch.randn(fb, fwd_samples, 12, generator=g)
    pos_fwd = sincos_table(fwd_samples // 25, dim, torch.float32)

    def forward():
        with torch.no_grad():
            encoder(crops, T, cfg, pos_fwd)

    sw, sc = timed(step)
    fw, fc = timed(forward)
    print(f"torch {torch.__version__} {config} batch {batch} threads {threads}: step {batch / sw:.2f} samples/s wall"
          f" ({batch / sc:.2f} by CPU time); forward-only {fwd_samples}-sample crops batch {fb}: {fb / fw:.1f} samples/s wall"
          f" ({fb / fc:.1f} by CPU time) (best of {repeats})")
    if machine:
        print(f"RESULT torch {config} batch {batch} threads {threads} step_wall {batch / sw:.3f} step_cpu {batch / sc:.3f}"
              f" fwd_batch {fb} fwd_wall {fb / fw:.3f} fwd_cpu {fb / fc:.3f} masks {'per-sample' if per_sample else 'shared'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dump", nargs="?", help="directory written by `ecg-dist bench --dump DIR`")
    ap.add_argument("--bench", action="store_true", help="time the PyTorch JEPA step instead")
    ap.add_argument("--batch", type=str, default="32", help="comma-separated batch sizes")
    ap.add_argument("--threads", type=str, default="1,2")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--config", default="vit-xs")
    ap.add_argument("--forward-samples", type=int, default=1250, help="crop length of the forward-only pass")
    ap.add_argument("--forward-batch-factor", type=int, default=4, help="forward-only batch = this x --batch")
    ap.add_argument("--machine", action="store_true", help="also print machine-readable RESULT lines")
    ap.add_argument("--masks", choices=["shared", "per-sample"], default="shared", help="one mask for the batch or one per sample")
    a = ap.parse_args()
    if a.bench:
        for t in [int(x) for x in a.threads.split(",")]:
            for b in [int(x) for x in str(a.batch).split(",")]:
                bench(b, t, a.repeats, a.config, a.forward_samples, a.forward_batch_factor, a.machine, a.masks == "per-sample")
        return 0
    if not a.dump:
        ap.error("give a dump directory or --bench")
    return 0 if check(a.dump) else 1


if __name__ == "__main__":
    sys.exit(main())
