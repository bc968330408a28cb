"""Test stand-in for the ECG-JEPA paper code's encoder (kweimann/ECG-JEPA, models/vision_transformer.py
and models/modules.py), written here from a reading of that code so the converter can be tested
without the paper's repository or weights. What matters is what a checkpoint sees: module and
parameter names, shapes, and the forward computation:

  * input channels-first (batch, 12, samples); patch_embed.proj = Conv1d(12, dim, 25, stride 25),
    bias when config["bias"];
  * fixed sin-cos positions as a non-persistent buffer, sin at even features, cos at odd ones,
    frequency 10000^(-2i/dim) for features 2i and 2i+1;
  * `registers` (1, num_registers, dim) in front of the tokens when num_registers > 0, dropped from
    the output unless keep_registers;
  * blocks: norm1 → attn (qkv with qkv_bias, proj with bias) → attn_ls (LayerScale when
    layer_scale_eps > 0) → residual; norm2 → mlp (fc1, GELU, fc2, with bias) → mlp_ls → residual;
    LayerNorms carry a bias only when config["bias"], eps config["norm_eps"];
  * final norm.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def interleaved_sincos(patches, dim):
    table = torch.zeros(1, patches, dim)
    pos = torch.arange(patches, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table[0, :, 0::2] = torch.sin(pos * freq)
    table[0, :, 1::2] = torch.cos(pos * freq)
    return table


class LayerScale(nn.Module):
    def __init__(self, dim, init):
        super().__init__()
        self.weight = nn.Parameter(torch.full((dim,), float(init)))

    def forward(self, x):
        return x * self.weight


class PaperAttention(nn.Module):
    def __init__(self, dim, heads, qkv_bias, bias):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=bias)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.heads), dim=-1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, n, d))


class PaperMLP(nn.Module):
    def __init__(self, dim, hidden, bias):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden, bias=bias)
        self.fc2 = nn.Linear(hidden, dim, bias=bias)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class PaperBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        dim = c["dim"]
        self.norm1 = nn.LayerNorm(dim, eps=c["norm_eps"], bias=c["bias"])
        self.attn = PaperAttention(dim, c["num_heads"], c["qkv_bias"], c["bias"])
        self.attn_ls = LayerScale(dim, c["layer_scale_eps"]) if c["layer_scale_eps"] else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=c["norm_eps"], bias=c["bias"])
        self.mlp = PaperMLP(dim, int(dim * c["mlp_ratio"]), c["bias"])
        self.mlp_ls = LayerScale(dim, c["layer_scale_eps"]) if c["layer_scale_eps"] else nn.Identity()

    def forward(self, x):
        x = x + self.attn_ls(self.attn(self.norm1(x)))
        return x + self.mlp_ls(self.mlp(self.norm2(x)))


class PatchEmbedding(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.proj = nn.Conv1d(len(c["channels"]), c["dim"], kernel_size=c["patch_size"], stride=c["patch_size"], bias=c["bias"])

    def forward(self, x):
        return self.proj(x).transpose(1, 2)


class PaperVisionTransformer(nn.Module):
    def __init__(self, c, keep_registers=False):
        super().__init__()
        self.c = c
        self.keep_registers = keep_registers
        self.patch_embed = PatchEmbedding(c)
        self.register_buffer("pos_embed", interleaved_sincos(c["channel_size"] // c["patch_size"], c["dim"]), persistent=False)
        if c["num_registers"] > 0:
            self.registers = nn.Parameter(torch.zeros(1, c["num_registers"], c["dim"]))
        self.blocks = nn.ModuleList([PaperBlock(c) for _ in range(c["depth"])])
        self.norm = nn.LayerNorm(c["dim"], eps=c["norm_eps"], bias=c["bias"])

    def forward(self, x):
        x = self.patch_embed(x)
        x = x + self.pos_embed[:, :x.shape[1]].to(x.dtype)
        r = self.c["num_registers"]
        if r > 0:
            x = torch.cat([self.registers.expand(x.shape[0], -1, -1), x], dim=1)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        return x if self.keep_registers or r == 0 else x[:, r:]


def load_paper_encoder(path, prefix="target_encoder."):
    """The reference module for a paper-layout checkpoint, loaded with strict=True."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model = PaperVisionTransformer(checkpoint["config"])
    state = {k[len(prefix):]: v for k, v in checkpoint["model"].items() if k.startswith(prefix)}
    model.load_state_dict(state, strict=True)
    return model, checkpoint
