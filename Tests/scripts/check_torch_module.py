#!/usr/bin/env python3
"""Checks of python/ecg_dist_torch.py and python/convert_checkpoint.py against ecg-dist
(run by Tests/scripts/torch_module.test.sh; each subcommand exits non-zero on a failed check).

  module EXPORT CORPUS EMB.h5 [--npy EMB.npy --crop-samples N]
      the module (strict load) vs `ecg-dist embed`: tokens, embeddings, ids; then the same
      comparison with one weight perturbed must FAIL (the check can tell models apart)
  roundtrip EXPORT WORK CORPUS
      export -> paper layout -> export is byte-identical; the paper file loads strict into the
      re-created paper module and gives ecg-dist's embeddings (features in the paper's order)
  make-paper OUT.pt CORPUS REF.npy
      a paper-layout checkpoint the paper code could have written (LayerScale, bias=True with zero
      Linear biases, non-zero LayerNorm biases, leads in another order) and its reference
      module's embeddings of CORPUS (un-permuted to ecg-dist's feature order)
  compare REF.npy EMB.h5   max |diff| of two embedding sets (limit 1e-4)
  refusals WORK            from-paper refuses what ecg-dist cannot represent, writing nothing
"""
import argparse
import copy
import os
import subprocess
import sys

import h5py
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, HERE)
import convert_checkpoint as conv  # noqa: E402
from ecg_dist_torch import ECGDistEncoder, load_corpus  # noqa: E402
from paper_reference_vit import PaperVisionTransformer, load_paper_encoder  # noqa: E402

LIMIT = 1e-4
# The fields of the paper's configs.pretrain.Config dataclass (none has a default, so
# Config(**checkpoint["config"]) needs every one and no other).
PAPER_CONFIG_FIELDS = {
    "sampling_frequency", "channels", "channel_size", "patch_size", "min_block_size", "min_keep_ratio", "max_keep_ratio",
    "datasets", "dim", "depth", "num_heads", "pred_dim", "pred_depth", "pred_num_heads", "mlp_ratio", "qkv_bias", "dropout",
    "attn_dropout", "num_registers", "bias", "norm_eps", "layer_scale_eps", "steps", "batch_size", "encoder_momentum",
    "final_encoder_momentum", "learning_rate", "final_learning_rate", "learning_rate_warmup_steps", "weight_decay",
    "final_weight_decay", "opt_betas", "opt_eps", "gradient_clip", "gradient_accumulation_steps", "checkpoint_interval",
}
CONVERTER = os.path.join(ROOT, "python", "convert_checkpoint.py")


def check(ok, message):
    print(("ok    " if ok else "FAIL  ") + message)
    return ok


def maxdiff(a, b):
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())


def module_check(a):
    model = ECGDistEncoder.from_safetensors(a.export).eval()   # raises on any name/shape mismatch
    print(f"strict load of {os.path.basename(a.export)}: {len(model.state_dict())} tensors, names = the export's")
    x, ids = load_corpus(a.corpus)
    x = torch.from_numpy(x)
    ok = True
    with h5py.File(a.h5) as f:
        emb, tokens, rids = f["embeddings"][:], f["tokens"][:] if "tokens" in f else None, f["record_ids"][:]
    with torch.no_grad():
        ours = model.embed(x).numpy()
        d = maxdiff(ours, emb)
        ok &= check(d <= LIMIT, f"embed .h5 embeddings {emb.shape} vs PyTorch module: max |diff| {d:.2e} (limit {LIMIT:.0e})")
        if tokens is not None:
            d = maxdiff(model(x).numpy(), tokens)
            ok &= check(d <= LIMIT, f"embed .h5 tokens {tokens.shape} vs PyTorch module: max |diff| {d:.2e}")
        ok &= check(np.array_equal(rids, ids), "record_ids equal the corpus's")
        if a.npy:
            npy = np.load(a.npy)
            ours_crops = model.embed(x, a.crop_samples).numpy()
            d = maxdiff(ours_crops, npy)
            ok &= check(d <= LIMIT, f"embed .npy ({a.crop_samples}-sample windows averaged) {npy.shape} vs module: max |diff| {d:.2e}")
            side = np.load(a.npy[:-4] + ".record_ids.npy")
            ok &= check(side.dtype == np.int64 and np.array_equal(side, ids), "STEM.record_ids.npy equals the corpus ids")
        # Negative control: a model that differs in one weight must not pass the same comparison.
        other = copy.deepcopy(model)
        other.blocks[0].mlp.fc2.weight.data[0, 0] += 0.5
        d = maxdiff(other.embed(x).numpy(), emb)
        ok &= check(d > LIMIT, f"negative control: one weight changed by 0.5 -> max |diff| {d:.2e} exceeds the limit")
    return ok


def roundtrip_check(a):
    paper, back = os.path.join(a.work, "paper.pt"), os.path.join(a.work, "back.safetensors")
    conv.to_paper(a.export, paper)
    conv.from_paper(paper, back)
    original, again = open(a.export, "rb").read(), open(back, "rb").read()
    ok = check(original == again, f"export -> paper -> export: {len(again)} bytes, byte-identical = {original == again}")
    _, t0, _ = conv.read_export(a.export)
    _, t1, _ = conv.read_export(back)
    ok &= check(all(torch.equal(t0[k], t1[k]) for k in t0), f"all {len(t0)} tensors bit-identical")
    reference, checkpoint = load_paper_encoder(paper)   # strict=True inside
    fields = set(checkpoint["config"])
    ok &= check(fields == PAPER_CONFIG_FIELDS, "paper config has exactly the fields of the paper's configs.pretrain.Config"
                + ("" if fields == PAPER_CONFIG_FIELDS else f" (extra {fields - PAPER_CONFIG_FIELDS}, missing {PAPER_CONFIG_FIELDS - fields})"))
    reference = reference.double().eval()
    print(f"strict load of the paper layout into the re-created paper module: {len(reference.state_dict())} tensors"
          f" (bias={checkpoint['config']['bias']}, registers {checkpoint['config']['num_registers']})")
    model = ECGDistEncoder.from_safetensors(a.export, dtype=torch.float64).eval()
    x = torch.from_numpy(load_corpus(a.corpus)[0]).double()
    perm = torch.tensor(checkpoint["ecg_dist"]["channel_permutation"])
    with torch.no_grad():
        theirs = reference(x.transpose(1, 2))            # (B, patches, dim), registers dropped, paper order
        ours = model(x)[:, 1:, perm]                     # patch tokens in the paper's feature order
        d_tokens = maxdiff(theirs, ours)
        d_emb = maxdiff(theirs.mean(1), model.embed(x)[:, perm])
    ok &= check(d_tokens <= LIMIT, f"paper module vs ecg-dist module, patch tokens: max |diff| {d_tokens:.2e}")
    ok &= check(d_emb <= LIMIT, f"paper module vs ecg-dist module, mean-pooled embeddings: max |diff| {d_emb:.2e}")
    with torch.no_grad():   # the permutation is needed: without it the outputs do not match
        d_raw = maxdiff(theirs.mean(1), model.embed(x))
    ok &= check(d_raw > LIMIT, f"without undoing the feature permutation the embeddings differ ({d_raw:.2e})")
    return ok


def paper_config(dim=32, depth=2, heads=2, **changes):
    c = {"sampling_frequency": 500, "channels": ["V1", "V2", "V3", "V4", "V5", "V6", "I", "II", "III", "AVR", "AVL", "AVF"],
         "channel_size": 5000, "patch_size": 25, "dim": dim, "depth": depth, "num_heads": heads, "pred_dim": 16,
         "pred_depth": 2, "pred_num_heads": 2, "mlp_ratio": 4.0, "qkv_bias": False, "dropout": 0.0, "attn_dropout": 0.0,
         "num_registers": 1, "bias": True, "norm_eps": 1e-6, "layer_scale_eps": 0.1, **conv.PAPER_TRAINING_FIELDS}
    c.update(changes)
    return c


def random_paper_state(c, seed=0):
    """A paper module with every parameter random (LayerNorm biases, LayerScale included) except the
    Linear/Conv biases, which ecg-dist can only take as zeros."""
    torch.manual_seed(seed)
    model = PaperVisionTransformer(c)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias") and "norm" not in name:
                p.zero_()
            elif name.endswith("_ls.weight"):
                p.uniform_(0.05, 0.5)
            elif "norm" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.05 * torch.randn_like(p))
    return model


def make_paper(a):
    c = paper_config()
    model = random_paper_state(c).eval()   # float32, as the paper code saves it
    torch.save({"model": {f"target_encoder.{k}": v for k, v in model.state_dict().items()}, "config": c, "step": 7}, a.out)
    x = torch.from_numpy(load_corpus(a.corpus)[0]).double()
    upper = [lead.upper() for lead in conv.ECG_DIST_LEADS]
    order = [upper.index(lead) for lead in c["channels"]]   # paper input channel j = corpus lead order[j]
    with torch.no_grad():
        paper_out = model.double()(x[:, :, order].transpose(1, 2)).mean(1)
    back = torch.argsort(conv.channel_permutation(c["dim"]))
    np.save(a.ref, paper_out[:, back].numpy())
    print(f"wrote {a.out}: paper layout with LayerScale, bias=True (zero Linear biases), leads {c['channels'][:3]}...")
    return True


def compare(a):
    ref = np.load(a.ref)
    with h5py.File(a.h5) as f:
        emb = f["embeddings"][:]
    d = maxdiff(ref, emb)
    return check(d <= LIMIT, f"paper module (LayerScale, biases, reordered leads) vs ecg-dist embed of the from-paper file:"
                             f" max |diff| {d:.2e}")


def refusals(a):
    ok = True
    cases = {
        "two registers": (paper_config(num_registers=2), None),
        "non-zero qkv bias": (paper_config(qkv_bias=True), lambda s: s["blocks.0.attn.qkv.bias"].fill_(0.1)),
        "non-zero fc1 bias": (paper_config(), lambda s: s["blocks.1.mlp.fc1.bias"].fill_(0.1)),
        "norm_eps 1e-5": (paper_config(norm_eps=1e-5), None),
        "mlp_ratio 2.5": (paper_config(mlp_ratio=2.5), None),
        "8 leads": (paper_config(channels=["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]), None),
    }
    expected = {"two registers": "exactly one register", "non-zero qkv bias": "attn.qkv.bias is not zero",
                "non-zero fc1 bias": "mlp.fc1.bias is not zero", "norm_eps 1e-5": "norm_eps",
                "mlp_ratio 2.5": "mlp_ratio", "8 leads": "12 standard leads"}
    for i, (label, (c, edit)) in enumerate(cases.items()):
        model = PaperVisionTransformer(c)
        state = {k: v.clone() for k, v in model.state_dict().items()}
        with torch.no_grad():
            for k, v in state.items():
                if k.endswith(".bias") and "norm" not in k:
                    v.zero_()
            if edit:
                edit(state)
        src, out = os.path.join(a.work, f"bad{i}.pt"), os.path.join(a.work, f"bad{i}.safetensors")
        torch.save({"model": {f"target_encoder.{k}": v for k, v in state.items()}, "config": c}, src)
        r = subprocess.run([sys.executable, CONVERTER, "from-paper", src, out], capture_output=True, text=True)
        message = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
        good = r.returncode != 0 and expected[label] in message and src in message and not os.path.exists(out)
        good &= not any(n.startswith(os.path.basename(out) + ".tmp") for n in os.listdir(a.work))
        ok &= check(good, f"refused {label}: {message}")
    for label, path, want in [("missing file", os.path.join(a.work, "none.pt"), "no such file"),
                              ("not a checkpoint", __file__, "not a readable torch checkpoint")]:
        out = os.path.join(a.work, "none.safetensors")
        r = subprocess.run([sys.executable, CONVERTER, "from-paper", path, out], capture_output=True, text=True)
        ok &= check(r.returncode != 0 and want in r.stderr and not os.path.exists(out), f"refused {label}: {r.stderr.strip()[:120]}")
    r = subprocess.run([sys.executable, CONVERTER, "to-paper", __file__, os.path.join(a.work, "x.pt")], capture_output=True, text=True)
    ok &= check(r.returncode != 0 and "safetensors" in r.stderr and not os.path.exists(os.path.join(a.work, "x.pt")),
                f"to-paper refused a non-export: {r.stderr.strip()[:120]}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("module")
    m.add_argument("export"), m.add_argument("corpus"), m.add_argument("h5")
    m.add_argument("--npy"), m.add_argument("--crop-samples", type=int, default=1250)
    r = sub.add_parser("roundtrip")
    r.add_argument("export"), r.add_argument("work"), r.add_argument("corpus")
    p = sub.add_parser("make-paper")
    p.add_argument("out"), p.add_argument("corpus"), p.add_argument("ref")
    c = sub.add_parser("compare")
    c.add_argument("ref"), c.add_argument("h5")
    f = sub.add_parser("refusals")
    f.add_argument("work")
    a = ap.parse_args()
    run = {"module": module_check, "roundtrip": roundtrip_check, "make-paper": make_paper, "compare": compare, "refusals": refusals}
    return 0 if run[a.cmd](a) else 1


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main())
