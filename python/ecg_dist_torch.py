"""ecg-dist's ECG Vision Transformer encoder as a PyTorch module.

Loads what `ecg-dist checkpoint export` writes (an encoder .safetensors) with
`load_state_dict(strict=True)` and reproduces ecg-dist's encoder output and `ecg-dist embed`'s
embeddings. Needs torch only (safetensors to read the file, h5py for `load_corpus`).

    from ecg_dist_torch import ECGDistEncoder, load_corpus
    encoder = ECGDistEncoder.from_safetensors("encoder.safetensors").eval()
    signals, record_ids = load_corpus("ptbxl.h5")            # normalized (N, 5000, 12) float32
    with torch.no_grad():
        emb = encoder.embed(torch.from_numpy(signals[:16]))  # (16, dim), as `ecg-dist embed`

The architecture (Sources/Model/ViT.swift, Block.swift):
  * input time-major (batch, samples, 12), normalized per lead (see `normalize`);
  * patch embedding: Conv1d(12, dim, kernel 25, stride 25, no bias) = one token per 50 ms;
  * fixed 1-D sin-cos positions, sin in the first half of the features, cos in the second;
  * one learned register token (`reg_token`, no position) in front of the patch tokens;
  * pre-norm blocks: x += proj(attn(LN1(x))); x += fc2(GELU(fc1(LN2(x)))), Linear layers
    without bias, LayerNorms with weight and bias (eps 1e-6), exact (erf) GELU;
  * final LayerNorm. Output (batch, 1 + samples // 25, dim), the register first.
"""
import json
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

LAYER_NORM_EPS = 1e-6
CLIP_SIGMA = 5.0
SAMPLING_RATE = 500


@dataclass(frozen=True)
class EncoderConfig:
    """The fields of ecg-dist's ViTConfig (the `model` metadata JSON of an export)."""
    name: str
    dim: int
    depth: int
    heads: int
    pred_dim: int
    pred_depth: int
    pred_heads: int
    patch_size: int = 25
    channels: int = 12
    mlp_ratio: int = 4

    _json_keys = {"name": "name", "dim": "dim", "depth": "depth", "heads": "heads", "predDim": "pred_dim",
                  "predDepth": "pred_depth", "predHeads": "pred_heads", "patchSize": "patch_size",
                  "channels": "channels", "mlpRatio": "mlp_ratio"}

    @classmethod
    def from_json(cls, text, source="model metadata"):
        try:
            fields = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{source}: the `model` metadata is not JSON ({e})") from None
        missing = [k for k in cls._json_keys if k not in fields]
        if missing:
            raise ValueError(f"{source}: the `model` metadata lacks {', '.join(missing)}")
        return cls(**{ours: fields[theirs] for theirs, ours in cls._json_keys.items()})

    def to_json_fields(self):
        return {theirs: getattr(self, ours) for theirs, ours in self._json_keys.items()}


def sincos_positions(patches, dim, dtype=torch.float32):
    """(patches, dim) table: row p = [sin(p·ω_0..ω_{h-1}), cos(p·ω_0..ω_{h-1})], ω_i = 10000^(-i/h),
    h = dim/2; computed in float64 like ecg-dist (Kernels/Elementwise.swift), then cast."""
    half = dim // 2
    omega = 1.0 / np.power(10000.0, np.arange(half, dtype=np.float64) / half)
    angles = np.outer(np.arange(patches, dtype=np.float64), omega)
    return torch.from_numpy(np.concatenate([np.sin(angles), np.cos(angles)], axis=1)).to(dtype)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim, bias=False)

    def forward(self, x):
        batch, tokens, dim = x.shape
        q, k, v = self.qkv(x).reshape(batch, tokens, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        # Explicit softmax attention (not scaled_dot_product_attention): the same sums in any build.
        weights = torch.softmax((q @ k.transpose(-2, -1)) * (dim // self.heads) ** -0.5, dim=-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(batch, tokens, dim))


class MLP(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    # Attribute order = ecg-dist's parameter order, so state_dict() lists the export's tensors in file order.
    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.mlp = MLP(dim, dim * mlp_ratio)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ECGDistEncoder(nn.Module):
    """ecg-dist's encoder; parameter names are exactly those of `ecg-dist checkpoint export`."""

    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.config = config
        c = config
        self.patch_embed = nn.Conv1d(c.channels, c.dim, kernel_size=c.patch_size, stride=c.patch_size, bias=False)
        self.reg_token = nn.Parameter(torch.zeros(1, 1, c.dim))
        self.blocks = nn.ModuleList([Block(c.dim, c.heads, c.mlp_ratio) for _ in range(c.depth)])
        self.norm = nn.LayerNorm(c.dim, eps=LAYER_NORM_EPS)
        self._positions = {}   # (patches, dtype, device) -> table; fixed, so not in the state dict

    def positions(self, patches, like):
        key = (patches, like.dtype, like.device)
        if key not in self._positions:
            self._positions[key] = sincos_positions(patches, self.config.dim, like.dtype).to(like.device)
        return self._positions[key]

    def forward(self, signal):
        """signal (batch, samples, channels), time-major and normalized -> (batch, 1 + samples // patch, dim).
        Samples after the last whole patch are dropped, as in ecg-dist."""
        if signal.dim() != 3 or signal.shape[-1] != self.config.channels:
            raise ValueError(f"expected (batch, samples, {self.config.channels}) time-major input, got {tuple(signal.shape)}")
        patches = self.patch_embed(signal.transpose(1, 2)).transpose(1, 2)
        patches = patches + self.positions(patches.shape[1], patches)
        x = torch.cat([self.reg_token.expand(signal.shape[0], 1, -1).to(patches.dtype), patches], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def embed(self, signal, crop_samples=None, stride_samples=None):
        """`ecg-dist embed`'s per-record embedding: the mean over patch tokens (register left out) of
        the whole record, or with `crop_samples` the mean over the windows of `window_offsets`."""
        if crop_samples is None:
            return self.forward(signal)[:, 1:].mean(dim=1)
        offsets = window_offsets(signal.shape[1], crop_samples, stride_samples)
        crops = torch.stack([signal[:, o:o + crop_samples] for o in offsets], dim=1)   # (B, W, crop, C)
        tokens = self.forward(crops.reshape(-1, crop_samples, signal.shape[-1]))
        return tokens[:, 1:].mean(dim=1).reshape(signal.shape[0], len(offsets), -1).mean(dim=1)

    @classmethod
    def from_safetensors(cls, path, dtype=torch.float32):
        """Builds the module from an export's `model` metadata and loads it with strict=True."""
        from safetensors import safe_open
        from safetensors.torch import load_file
        with safe_open(path, framework="pt") as f:
            metadata = f.metadata() or {}
        if "model" not in metadata:
            raise ValueError(f"{path}: no `model` entry in the safetensors metadata (not an ecg-dist export?)")
        module = cls(EncoderConfig.from_json(metadata["model"], source=path))
        module.load_state_dict(load_file(path), strict=True)
        module.export_metadata = metadata
        return module.to(dtype)


def window_offsets(record_samples, crop_samples, stride_samples=None):
    """Window starts of ecg-dist's evaluation crops (CropPlan.evalOffsets): 0, stride, ... up to the
    last whole window, plus one window ending at the record's end when the stride misses it.
    The default stride is half a window (1.25 s for the evaluation's 2.5-s crops)."""
    stride = stride_samples or max(1, crop_samples // 2)
    last = record_samples - crop_samples
    if crop_samples <= 0 or last < 0 or stride <= 0:
        raise ValueError(f"no {crop_samples}-sample windows with stride {stride} in {record_samples} samples")
    offsets = list(range(0, last + 1, stride))
    if offsets[-1] != last:
        offsets.append(last)
    return offsets


def normalize(signals, mean, std, clip=CLIP_SIGMA):
    """ecg-dist's input normalization (ECGData/Preprocess/Normalize.swift): per lead
    (x - mean) · (1 / std), clipped to ±clip, in float32; a flat lead (std ≤ 1e-8) is only centred.
    `signals` (..., leads) in mV; `mean`/`std` the corpus's `channel_mean`/`channel_std` attributes
    (training-fold statistics)."""
    x = np.asarray(signals, dtype=np.float32)
    std = np.asarray(std, dtype=np.float32)
    usable = std > 1e-8
    inverse = np.where(usable, np.float32(1) / np.where(usable, std, np.float32(1)), np.float32(1)).astype(np.float32)
    return np.clip((x - np.asarray(mean, dtype=np.float32)) * inverse, -clip, clip).astype(np.float32)


def load_corpus(path, rows=None):
    """Normalized signals (N, samples, 12) float32 and record ids of a corpus file
    (docs/hdf5-layout.md); `rows` selects records (a slice or sorted indices)."""
    import h5py
    with h5py.File(path, "r") as f:
        if "signals" not in f or "channel_mean" not in f.attrs or "channel_std" not in f.attrs:
            raise ValueError(f"{path}: not an ecg-dist corpus (needs /signals and channel_mean/channel_std attributes)")
        selection = slice(None) if rows is None else rows
        signals = f["signals"][selection]
        ids = f["record_ids"][selection]
        return normalize(signals, f.attrs["channel_mean"], f.attrs["channel_std"]), ids


def parameter_count(config: EncoderConfig):
    """Floats in the encoder (for sanity checks against `ecg-dist checkpoint info`)."""
    d, h = config.dim, config.dim * config.mlp_ratio
    per_block = 4 * d + 3 * d * d + d * d + 2 * d * h
    return d * config.channels * config.patch_size + d + config.depth * per_block + 2 * d


if __name__ == "__main__":   # python3 python/ecg_dist_torch.py encoder.safetensors: what the file holds
    import sys
    if len(sys.argv) != 2:
        sys.exit("usage: ecg_dist_torch.py ENCODER.safetensors")
    m = ECGDistEncoder.from_safetensors(sys.argv[1])
    n = sum(p.numel() for p in m.parameters())
    print(f"{sys.argv[1]}: {m.config.name} encoder, dim {m.config.dim}, depth {m.config.depth}, "
          f"{n:,} parameters, loaded strict; metadata {json.dumps(m.export_metadata)}")
    print(f"10-s record -> {1 + 5000 // m.config.patch_size} tokens; {math.ceil(n * 4 / 2**20)} MiB float32")
