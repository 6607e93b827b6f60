"""Kata: multi-head cross-attention (the decoder attending to the encoder's memory).

Write `class CrossAttention(nn.Module)`.

Contract (the hidden suite checks every line):
- `__init__(self, d_model, num_heads, d_memory=None, bias=True)` creates exactly four
  submodules (the suite loads weights by these names), all with bias=bias:
    q_proj   = nn.Linear(d_model, d_model)         queries from x
    k_proj   = nn.Linear(d_memory, d_model)        keys from memory
    v_proj   = nn.Linear(d_memory, d_model)        values from memory
    out_proj = nn.Linear(d_model, d_model)
  d_memory=None means d_memory = d_model. Raise ValueError when num_heads does not divide d_model.
- `forward(self, x, memory, memory_mask=None)`: x is (B, Lq, d_model), memory is
  (B, Lk, d_memory); Lq and Lk may differ (either may be 1). Returns (B, Lq, d_model).
  1. q = q_proj(x); k = k_proj(memory); v = v_proj(memory);
  2. split each into num_heads heads of width head_dim = d_model // num_heads: (B, H, L, head_dim);
  3. per head, softmax(q kᵀ / √head_dim) over the memory positions (keys), times v;
  4. merge the heads back to (B, Lq, d_model) and apply out_proj.
- memory_mask: optional bool tensor of shape (B, Lk); True = a real memory position (may be
  attended to), False = padding. It masks the KEY axis: the same for every head and every query.
  Padded positions get weight exactly 0, so their content never changes the result.
- A batch element whose memory has no real position: every one of its queries gets a zero
  attention output, so the module returns out_proj's bias there — never NaN.
- With the same weights the result equals torch.nn.MultiheadAttention(d_model, num_heads,
  kdim=d_memory, vdim=d_memory, batch_first=True) called as mha(x, memory, memory,
  key_padding_mask=~memory_mask). Note its key_padding_mask means the opposite (True = ignore),
  and with kdim != d_model it keeps separate q_proj_weight / k_proj_weight / v_proj_weight.
  (For a batch element with no real memory position it may return NaN; this contract asks for
  out_proj's bias, as above.)
- The dtype of x and memory is kept (float32, float64, bfloat16); gradients flow to x, memory
  and every weight.
- Do not call torch's built-in attention (F.scaled_dot_product_attention,
  nn.MultiheadAttention, F.multi_head_attention_forward): write it yourself.

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

import math  # noqa: F401  (you will need math.sqrt)
from typing import Optional

import torch
from torch import nn


class CrossAttention(nn.Module):
    def __init__(self, d_model: int, num_heads: int, d_memory: Optional[int] = None, bias: bool = True) -> None:
        super().__init__()
        # TODO: check that num_heads divides d_model (ValueError otherwise)
        # TODO: d_memory defaults to d_model
        # TODO: self.q_proj, self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        # TODO: self.k_proj, self.v_proj = nn.Linear(d_memory, d_model, bias=bias)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, memory_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        # TODO: q from x, k and v from memory; split heads -> (B, H, L, head_dim)
        # TODO: scores (B, H, Lq, Lk); mask the key axis with memory_mask (True = real position)
        # TODO: softmax over the keys, no NaN when no memory position is real; merge heads; out_proj
        raise NotImplementedError("write CrossAttention.forward")
