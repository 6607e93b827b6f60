"""Kata: multi-head self-attention.

Write `class MultiHeadSelfAttention(nn.Module)`.

Contract (the hidden suite checks every line):
- `__init__(self, d_model, num_heads, bias=True)` creates exactly four submodules, each
  `nn.Linear(d_model, d_model, bias=bias)`: `q_proj`, `k_proj`, `v_proj`, `out_proj`.
  (The suite loads weights by these names.) Raise ValueError when num_heads does not divide
  d_model.
- `forward(self, x, mask=None)`: x is (B, L, d_model); returns (B, L, d_model).
  1. project x to q, k, v;
  2. split each into num_heads heads of width head_dim = d_model // num_heads: (B, H, L, head_dim);
  3. per head, softmax(q kᵀ / √head_dim) over the keys, times v;
  4. merge the heads back to (B, L, d_model) and apply out_proj.
- mask: optional bool tensor broadcastable to (B, num_heads, L, L); True means "may attend".
  A query row that may attend to no key gets a zero attention output (so the module returns
  out_proj's bias there) — never NaN.
- With the same weights the result equals torch.nn.MultiheadAttention (batch_first=True,
  in_proj_weight = cat of the q, k, v weights). Note its bool mask means the opposite
  (True = masked out). One exception: for a fully masked query row nn.MultiheadAttention
  may return NaN (torch 2.x does with need_weights=True and on its inference fast path);
  this contract asks for out_proj's bias there, as above.
- The dtype of x is kept; gradients flow to x and every weight.
- Do not call torch's built-in attention (F.scaled_dot_product_attention,
  nn.MultiheadAttention, F.multi_head_attention_forward): write it yourself.

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

import math  # noqa: F401  (you will need math.sqrt)
from typing import Optional

import torch
from torch import nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, d_model: int, num_heads: int, bias: bool = True) -> None:
        super().__init__()
        # TODO: check that num_heads divides d_model (ValueError otherwise)
        # TODO: self.q_proj, self.k_proj, self.v_proj, self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        # TODO: project, split heads -> (B, H, L, head_dim), attend per head, merge, out_proj
        raise NotImplementedError("write MultiHeadSelfAttention.forward")
