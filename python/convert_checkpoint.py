#!/usr/bin/env python3
"""Convert encoders between ecg-dist's export and the ECG-JEPA paper code's checkpoint layout.

  convert_checkpoint.py to-paper   ENCODER.safetensors OUT.pt [--prefix target_encoder|encoder]
  convert_checkpoint.py from-paper CHECKPOINT.pt OUT.safetensors [--which target|online]

ecg-dist side: what `ecg-dist checkpoint export` writes (docs/pytorch.md). Paper side: a
torch.save'd dict {"model": state dict, "config": dict of configs.pretrain.Config fields}, the
layout of the paper's pre-training checkpoints and of scripts/minify_pretrained_checkpoint.py
(only `target_encoder.*` kept), which its finetune.py loads. A paper fine-tuning checkpoint
(with "eval_config") holds the encoder under `encoder.*`; from-paper reads that too.

The two encoders compute the same function once these differences are bridged:
  * Positions: both use fixed sin-cos tables with the same frequencies, but ecg-dist puts every sin
    in the first half of the features and every cos in the second, the paper interleaves them
    (sin, cos, sin, ...). The tables are not parameters, so the converter permutes the residual
    feature axis of every tensor instead (paper feature 2i = ecg-dist feature i, 2i+1 = dim/2 + i).
    A permutation is exact: the round trip is bit-identical, and the paper module's output equals
    ecg-dist's with its features in the paper's order (the permutation is stored in the checkpoint
    as ecg_dist.channel_permutation; probes and pooling do not care).
  * Biases: ecg-dist's Linear and Conv1d layers have none, its LayerNorms have weight and bias. The
    paper's `bias` flag switches all of them together (qkv has its own `qkv_bias`). to-paper
    writes bias=False when every LayerNorm bias is zero, else bias=True with zero Linear/Conv
    biases. from-paper accepts Linear/Conv/qkv biases only when they are all zero and refuses
    otherwise; missing LayerNorm biases (bias=False) become zeros.
  * LayerScale (attn_ls / mlp_ls, layer_scale_eps > 0): from-paper folds the per-feature scales
    into the rows of attn.proj and mlp.fc2 (exact up to float rounding); to-paper writes none.
  * Registers: ecg-dist has exactly one; a paper checkpoint with num_registers != 1 is refused.
  * Leads: ecg-dist's conv input channels are I, II, III, aVR, aVL, aVF, V1-V6; a paper config
    listing the same 12 leads in another order is reordered, other lead sets are refused.
Everything else (norm_eps other than 1e-6, a non-integer mlp_ratio, sampling rates other than
500 Hz, unknown or missing tensors) is refused with a message naming the file and the problem.
Outputs are written to a temporary file and renamed: a refused or failed run writes nothing.
"""
import argparse
import json
import os
import struct
import sys

import torch

ECG_DIST_LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
PAPER_LEADS = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
LAYER_NORM_EPS = 1e-6
NAMED_CONFIGS = {   # ecg-dist's presets (Sources/Model/Config.swift): (dim, depth, heads, pred dim/depth/heads)
    "vit-xs": (192, 8, 4, 96, 8, 4), "vit-s": (384, 8, 6, 192, 8, 6),
    "vit-b": (768, 12, 12, 384, 12, 12), "vit-tiny": (64, 4, 2, 32, 2, 2),
}
# Training fields of the paper's Config that an encoder export does not carry: the paper's ViT-XS
# recipe (ecg-dist's pretrain defaults are the same), so configs.pretrain.Config(**config) works.
PAPER_TRAINING_FIELDS = {
    "min_block_size": 10, "min_keep_ratio": 0.15, "max_keep_ratio": 0.25, "datasets": {},
    "steps": 100_000, "batch_size": 2048, "encoder_momentum": 0.998, "final_encoder_momentum": 0.9995,
    "learning_rate": 1e-3, "final_learning_rate": 1e-6, "learning_rate_warmup_steps": 10_000,
    "weight_decay": 1e-2, "final_weight_decay": 1e-1, "opt_betas": [0.9, 0.99], "opt_eps": 1e-6,
    "gradient_clip": 0.0, "gradient_accumulation_steps": 1, "checkpoint_interval": 10_000,
}


class ConversionError(Exception):
    def __init__(self, path, message):
        super().__init__(f"{path}: {message}")


def channel_permutation(dim):
    """perm[c] = the ecg-dist feature that paper feature c holds (paper = ecg_dist[..., perm])."""
    half = dim // 2
    return torch.tensor([c // 2 if c % 2 == 0 else half + c // 2 for c in range(dim)])


def ecg_dist_names(depth):
    """Tensor names of an ecg-dist export in its file (= parameter layout) order."""
    names = ["patch_embed.weight", "reg_token"]
    for i in range(depth):
        names += [f"blocks.{i}.{n}" for n in ("norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.proj.weight",
                                              "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc2.weight")]
    return names + ["norm.weight", "norm.bias"]


# ---- safetensors in ecg-dist's byte layout (Sources/Model/Checkpoints/SafetensorsFormat.swift)

def json_string(s):
    """A JSON string literal escaped as ecg-dist's writer escapes it."""
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


def write_safetensors(path, tensors, metadata):
    """tensors: [(name, float32 tensor)] in file order. Header keys: metadata (sorted) first, then the
    tensors back to back, JSON without spaces, padded with spaces to a multiple of 8 bytes."""
    parts = []
    if metadata:
        parts.append('"__metadata__":{' + ",".join(f"{json_string(k)}:{json_string(metadata[k])}" for k in sorted(metadata)) + "}")
    blobs, offset = [], 0
    for name, t in tensors:
        data = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        shape = ",".join(str(d) for d in t.shape)
        parts.append(f'{json_string(name)}:{{"dtype":"F32","shape":[{shape}],"data_offsets":[{offset},{offset + len(data)}]}}')
        blobs.append(data)
        offset += len(data)
    header = ("{" + ",".join(parts) + "}").encode()
    header += b" " * ((8 - len(header) % 8) % 8)
    atomic_write(path, lambda f: (f.write(struct.pack("<Q", len(header))), f.write(header), [f.write(b) for b in blobs]))


def read_export(path):
    """(config fields, {name: tensor}, metadata) of an ecg-dist export, checked against its config."""
    from safetensors import safe_open
    try:
        with safe_open(path, framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except FileNotFoundError:
        raise ConversionError(path, "no such file") from None
    except Exception as e:
        raise ConversionError(path, f"not a readable safetensors file ({e})") from None
    if "model" not in metadata:
        raise ConversionError(path, "no `model` entry in the metadata: not an ecg-dist encoder export")
    config = json.loads(metadata["model"])
    expected = ecg_dist_names(config["depth"])
    missing = [n for n in expected if n not in tensors]
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ConversionError(path, f"not a {config['name']} encoder export: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for name, t in tensors.items():
        if t.dtype != torch.float32:
            raise ConversionError(path, f"tensor {name} is {t.dtype}; ecg-dist exports float32")
    return config, tensors, metadata


def atomic_write(path, write):
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---- ecg-dist → paper

def to_paper(src, out, prefix="target_encoder", channel_size=5000):
    config, t, metadata = read_export(src)
    dim, depth, hidden = config["dim"], config["depth"], config["dim"] * config["mlpRatio"]
    if config["channels"] != len(ECG_DIST_LEADS):
        raise ConversionError(src, f"{config['channels']} input channels; the paper layout names 12 leads")
    perm = channel_permutation(dim)
    ln_biases = [t["norm.bias"]] + [t[f"blocks.{i}.norm{k}.bias"] for i in range(depth) for k in (1, 2)]
    bias = any(bool(b.ne(0).any()) for b in ln_biases)
    state = {"patch_embed.proj.weight": t["patch_embed.weight"][perm]}
    if bias:
        state["patch_embed.proj.bias"] = torch.zeros(dim)
    state["registers"] = t["reg_token"][:, :, perm]

    def norm(paper, ours):
        state[f"{paper}.weight"] = t[f"{ours}.weight"][perm]
        if bias:
            state[f"{paper}.bias"] = t[f"{ours}.bias"][perm]

    for i in range(depth):
        b = f"blocks.{i}"
        norm(f"{b}.norm1", f"{b}.norm1")
        state[f"{b}.attn.qkv.weight"] = t[f"{b}.attn.qkv.weight"][:, perm]   # reads the residual stream
        state[f"{b}.attn.proj.weight"] = t[f"{b}.attn.proj.weight"][perm]    # writes it
        if bias:
            state[f"{b}.attn.proj.bias"] = torch.zeros(dim)
        norm(f"{b}.norm2", f"{b}.norm2")
        state[f"{b}.mlp.fc1.weight"] = t[f"{b}.mlp.fc1.weight"][:, perm]
        if bias:
            state[f"{b}.mlp.fc1.bias"] = torch.zeros(hidden)
        state[f"{b}.mlp.fc2.weight"] = t[f"{b}.mlp.fc2.weight"][perm]
        if bias:
            state[f"{b}.mlp.fc2.bias"] = torch.zeros(dim)
    norm("norm", "norm")
    paper_config = {
        "sampling_frequency": 500, "channels": list(PAPER_LEADS), "channel_size": channel_size,
        "patch_size": config["patchSize"], **{k: PAPER_TRAINING_FIELDS[k] for k in ("min_block_size", "min_keep_ratio", "max_keep_ratio", "datasets")},
        "dim": dim, "depth": depth, "num_heads": config["heads"], "pred_dim": config["predDim"],
        "pred_depth": config["predDepth"], "pred_num_heads": config["predHeads"], "mlp_ratio": float(config["mlpRatio"]),
        "qkv_bias": False, "dropout": 0.0, "attn_dropout": 0.0, "num_registers": 1, "bias": bias,
        "norm_eps": LAYER_NORM_EPS, "layer_scale_eps": 0.0,
        **{k: v for k, v in PAPER_TRAINING_FIELDS.items() if k not in ("min_block_size", "min_keep_ratio", "max_keep_ratio", "datasets")},
    }
    checkpoint = {
        "model": {f"{prefix}.{k}": v.clone().contiguous() for k, v in state.items()},
        "config": paper_config,
        # What from-paper needs to give back the export byte for byte; the paper code ignores it.
        "ecg_dist": {"format": 1, "metadata": dict(metadata), "channel_permutation": perm.tolist(), "prefix": prefix},
    }
    atomic_write(out, lambda f: torch.save(checkpoint, f))
    return paper_config


# ---- paper → ecg-dist

def paper_names(config):
    """Tensor names (without prefix) of the paper's VisionTransformer for `config`."""
    bias, ls = config["bias"], config.get("layer_scale_eps", 0) > 0
    names = ["patch_embed.proj.weight"] + (["patch_embed.proj.bias"] if bias else [])
    names += ["registers"] if config["num_registers"] > 0 else []
    for i in range(config["depth"]):
        b = f"blocks.{i}"
        names += [f"{b}.norm1.weight"] + ([f"{b}.norm1.bias"] if bias else [])
        names += [f"{b}.attn.qkv.weight"] + ([f"{b}.attn.qkv.bias"] if config["qkv_bias"] else [])
        names += [f"{b}.attn.proj.weight"] + ([f"{b}.attn.proj.bias"] if bias else [])
        names += [f"{b}.attn_ls.weight"] if ls else []
        names += [f"{b}.norm2.weight"] + ([f"{b}.norm2.bias"] if bias else [])
        names += [f"{b}.mlp.fc1.weight"] + ([f"{b}.mlp.fc1.bias"] if bias else [])
        names += [f"{b}.mlp.fc2.weight"] + ([f"{b}.mlp.fc2.bias"] if bias else [])
        names += [f"{b}.mlp_ls.weight"] if ls else []
    return names + ["norm.weight"] + (["norm.bias"] if bias else [])


def check_paper_config(src, c):
    needed = ["dim", "depth", "num_heads", "pred_dim", "pred_depth", "pred_num_heads", "mlp_ratio", "qkv_bias",
              "num_registers", "bias", "norm_eps", "patch_size", "channels", "sampling_frequency"]
    missing = [k for k in needed if k not in c]
    if missing:
        raise ConversionError(src, f"config lacks {', '.join(missing)}: not an ECG-JEPA checkpoint")
    if c["num_registers"] != 1:
        raise ConversionError(src, f"num_registers = {c['num_registers']}; ecg-dist's encoder has exactly one register token")
    if abs(c["norm_eps"] - LAYER_NORM_EPS) > 1e-12:
        raise ConversionError(src, f"norm_eps = {c['norm_eps']}; ecg-dist's LayerNorm uses {LAYER_NORM_EPS}")
    if float(c["mlp_ratio"]) != int(c["mlp_ratio"]) or int(c["mlp_ratio"]) < 1:
        raise ConversionError(src, f"mlp_ratio = {c['mlp_ratio']}; ecg-dist needs a whole number")
    if c["sampling_frequency"] != 500:
        raise ConversionError(src, f"sampling_frequency = {c['sampling_frequency']} Hz; ecg-dist corpora are 500 Hz")
    if c["dim"] % 2 or c["dim"] % c["num_heads"]:
        raise ConversionError(src, f"dim {c['dim']} must be even and divisible by num_heads {c['num_heads']}")
    leads = [str(x).upper() for x in c["channels"]]
    if sorted(leads) != sorted(PAPER_LEADS):
        raise ConversionError(src, f"channels {list(c['channels'])}: ecg-dist's encoder takes the 12 standard leads")


def pick_encoder(src, checkpoint, which):
    model = checkpoint["model"]
    if "eval_config" in checkpoint:   # a fine-tuning checkpoint: ViTClassifier with the encoder under encoder.*
        return "encoder."
    order = ["target_encoder.", "encoder."] if which == "target" else ["encoder."]
    for prefix in order:
        if any(k.startswith(prefix) for k in model):
            return prefix
    raise ConversionError(src, f"no {' or '.join(p + '*' for p in order)} tensors in checkpoint['model']")


def from_paper(src, out, which="target"):
    try:
        checkpoint = torch.load(src, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConversionError(src, "no such file") from None
    except Exception as e:
        raise ConversionError(src, f"not a readable torch checkpoint ({type(e).__name__}: {str(e)[:200]})") from None
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("model"), dict) or not isinstance(checkpoint.get("config"), dict):
        raise ConversionError(src, 'expected a dict with "model" (state dict) and "config" (dict): not an ECG-JEPA checkpoint')
    c = checkpoint["config"]
    check_paper_config(src, c)
    prefix = pick_encoder(src, checkpoint, which)
    p = {k[len(prefix):]: v for k, v in checkpoint["model"].items() if k.startswith(prefix)}
    expected = paper_names(c)
    missing, unexpected = [n for n in expected if n not in p], sorted(set(p) - set(expected))
    if missing or unexpected:
        raise ConversionError(src, f"{prefix}* does not match its config: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for name, v in p.items():
        if not v.is_floating_point():
            raise ConversionError(src, f"{prefix}{name} is {v.dtype}, not a float tensor")
    p = {k: v.detach().to(torch.float32) for k, v in p.items()}
    for name in [n for n in expected if n.endswith(".bias") and ("norm" not in n.split(".")[-2])]:
        if bool(p[name].ne(0).any()):
            raise ConversionError(src, f"{prefix}{name} is not zero: ecg-dist's Linear/Conv1d layers have no bias, "
                                       f"so this encoder cannot be represented")
    dim, depth = c["dim"], c["depth"]
    back = torch.argsort(channel_permutation(dim))   # ecg_dist = paper[..., back]
    leads = [str(x).upper() for x in c["channels"]]
    lead_order = torch.tensor([leads.index(name.upper()) for name in ECG_DIST_LEADS])
    ls = c.get("layer_scale_eps", 0) > 0

    def norm(name, count):
        weight = p[f"{name}.weight"][back]
        bias = p[f"{name}.bias"][back] if f"{name}.bias" in p else torch.zeros(count)
        return weight, bias

    tensors = [("patch_embed.weight", p["patch_embed.proj.weight"][back][:, lead_order]),
               ("reg_token", p["registers"][:, :, back])]
    for i in range(depth):
        b = f"blocks.{i}"
        proj, fc2 = p[f"{b}.attn.proj.weight"], p[f"{b}.mlp.fc2.weight"]
        if ls:   # x + ls ⊙ (W h) = x + (diag(ls) W) h: the scale goes into the output rows
            proj = proj * p[f"{b}.attn_ls.weight"][:, None]
            fc2 = fc2 * p[f"{b}.mlp_ls.weight"][:, None]
        n1w, n1b = norm(f"{b}.norm1", dim)
        n2w, n2b = norm(f"{b}.norm2", dim)
        tensors += [(f"{b}.norm1.weight", n1w), (f"{b}.norm1.bias", n1b),
                    (f"{b}.attn.qkv.weight", p[f"{b}.attn.qkv.weight"][:, back]),
                    (f"{b}.attn.proj.weight", proj[back]),
                    (f"{b}.norm2.weight", n2w), (f"{b}.norm2.bias", n2b),
                    (f"{b}.mlp.fc1.weight", p[f"{b}.mlp.fc1.weight"][:, back]),
                    (f"{b}.mlp.fc2.weight", fc2[back])]
    nw, nb = norm("norm", dim)
    tensors += [("norm.weight", nw), ("norm.bias", nb)]
    write_safetensors(out, tensors, export_metadata(src, checkpoint, c, prefix))
    return c


def vit_config_fields(c):
    """ecg-dist ViTConfig fields for a paper config (named after a preset when it is one)."""
    sizes = (c["dim"], c["depth"], c["num_heads"], c["pred_dim"], c["pred_depth"], c["pred_num_heads"])
    name = next((n for n, s in NAMED_CONFIGS.items() if s == sizes and c["patch_size"] == 25 and int(c["mlp_ratio"]) == 4), None)
    if name is None:
        name = "dim={},depth={},heads={},pred-dim={},pred-depth={},pred-heads={}".format(*sizes)
    return {"channels": 12, "depth": c["depth"], "dim": c["dim"], "heads": c["num_heads"], "mlpRatio": int(c["mlp_ratio"]),
            "name": name, "patchSize": c["patch_size"], "predDepth": c["pred_depth"], "predDim": c["pred_dim"],
            "predHeads": c["pred_num_heads"]}


def export_metadata(src, checkpoint, c, prefix):
    """The metadata `ecg-dist checkpoint export` would have written; the original one when the file came
    from to-paper (so the round trip gives the same bytes)."""
    stash = checkpoint.get("ecg_dist")
    if isinstance(stash, dict) and stash.get("format") == 1 and str(stash.get("prefix")) + "." == prefix:
        return dict(stash["metadata"])
    metadata = {"model": json.dumps(vit_config_fields(c), separators=(",", ":"), sort_keys=True),
                "source": os.path.basename(src), "encoder": "ema-target" if prefix == "target_encoder." else "online"}
    if "step" in checkpoint:
        metadata["step"] = str(checkpoint["step"])
    return metadata


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="direction", required=True)
    a = sub.add_parser("to-paper", help="ecg-dist export (.safetensors) -> paper checkpoint (.pt)")
    a.add_argument("src")
    a.add_argument("out")
    a.add_argument("--prefix", choices=["target_encoder", "encoder"], default="target_encoder",
                   help="state-dict prefix (target_encoder: what minify_pretrained_checkpoint.py keeps and finetune.py loads)")
    a.add_argument("--channel-size", type=int, default=5000, help="config channel_size (samples; sets the paper's position table length)")
    b = sub.add_parser("from-paper", help="paper checkpoint (.pt) -> ecg-dist export (.safetensors)")
    b.add_argument("src")
    b.add_argument("out")
    b.add_argument("--which", choices=["target", "online"], default="target",
                   help="pre-training checkpoints: the EMA target encoder (default, as the paper evaluates) or the online one")
    args = ap.parse_args()
    try:
        if args.direction == "to-paper":
            c = to_paper(args.src, args.out, args.prefix, args.channel_size)
            print(f"wrote {args.out}: paper layout, {args.prefix}.*, dim {c['dim']}, depth {c['depth']}, bias={c['bias']}")
        else:
            c = from_paper(args.src, args.out, args.which)
            print(f"wrote {args.out}: ecg-dist export, dim {c['dim']}, depth {c['depth']}"
                  f"{', LayerScale folded' if c.get('layer_scale_eps', 0) > 0 else ''}")
    except ConversionError as e:
        print(f"convert_checkpoint: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
