"""Kata: a pre-LayerNorm transformer decoder block (GPT-2 style).

Write `class Block(nn.Module)`.

Contract (the hidden suite checks every line):
- `__init__(self, d_model, num_heads, d_ff=None)`; d_ff defaults to 4 * d_model. Raise
  ValueError when num_heads does not divide d_model. Submodules, by these names (the suite
  loads weights by name, so add no other parameters or persistent buffers — build the causal
  mask in forward, or register it with persistent=False):
  - `ln1`, `ln2`: `nn.LayerNorm(d_model)` (default eps; allowed here);
  - `attn`: a module of yours with `q_proj`, `k_proj`, `v_proj`, `out_proj`, each
    `nn.Linear(d_model, d_model)` with bias;
  - `mlp`: a module of yours with `fc = nn.Linear(d_model, d_ff)` and
    `proj = nn.Linear(d_ff, d_model)`, the exact GELU between them (F.gelu / nn.GELU(), the
    erf form — not approximate="tanh").
- `forward(self, x)`: x (B, T, d_model) -> (B, T, d_model), pre-LN:
      x = x + attn(ln1(x))
      x = x + mlp(ln2(x))
  The norms feed the branches only; the residual stream x is never normalised (so with
  out_proj and mlp.proj zeroed the block returns x unchanged).
- attn is multi-head CAUSAL self-attention: num_heads heads of width head_dim = d_model //
  num_heads, softmax(q kᵀ / √head_dim) over the keys, position t attends to positions 0..t
  (mask convention: bool, True = may attend; no row is ever fully masked), heads merged back
  to (B, T, d_model), then out_proj — as in the multihead kata.
- With the same weights the result equals
  `nn.TransformerEncoderLayer(d_model, num_heads, dim_feedforward=d_ff, norm_first=True,
  activation="gelu", batch_first=True, dropout=0.0)` called with a causal mask (its bool mask
  means the opposite: True = masked out).
- Edge cases: T = 1, B = 1, num_heads = 1, d_ff different from 4 * d_model.
- The dtype of x is kept (float32, float64, bfloat16); gradients flow to x and every weight.
- Do not call torch's built-in attention or layers (F.scaled_dot_product_attention,
  F.multi_head_attention_forward, nn.MultiheadAttention, nn.TransformerEncoderLayer,
  nn.TransformerDecoderLayer): write them yourself.

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

import math  # noqa: F401  (you will need math.sqrt)
from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F  # noqa: F401  (F.gelu)


class Block(nn.Module):
    def __init__(self, d_model: int, num_heads: int, d_ff: Optional[int] = None) -> None:
        super().__init__()
        # TODO: ValueError when num_heads does not divide d_model; d_ff = 4 * d_model by default
        # TODO: self.ln1, self.ln2 = nn.LayerNorm(d_model)
        # TODO: self.attn: causal multi-head attention with q_proj, k_proj, v_proj, out_proj
        # TODO: self.mlp: fc = nn.Linear(d_model, d_ff), exact GELU, proj = nn.Linear(d_ff, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TODO: x = x + attn(ln1(x)); x = x + mlp(ln2(x))
        raise NotImplementedError("write Block.forward")
