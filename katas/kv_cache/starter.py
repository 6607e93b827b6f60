"""Kata: causal self-attention with a key/value cache.

Write `class CachedSelfAttention(nn.Module)`.

Contract (the hidden suite checks every line):
- `__init__(self, d_model, num_heads, bias=True)` creates exactly four submodules, each
  `nn.Linear(d_model, d_model, bias=bias)`: `q_proj`, `k_proj`, `v_proj`, `out_proj`.
  (The suite loads weights by these names.) Raise ValueError when num_heads does not divide
  d_model. head_dim = d_model // num_heads.
- `forward(self, x, cache=None) -> (y, cache)`:
  - x (B, T, d_model): the T NEW tokens — a whole prompt, a chunk of it, or one decoding step.
  - cache: None (nothing seen yet) or a tuple (k, v), each (B, num_heads, L_past, head_dim):
    the PROJECTED keys and values (k_proj / v_proj outputs, split into heads like q) of all
    earlier tokens. Not x: the cache holds what attention reuses.
  - returns y (B, T, d_model) and the new cache (k, v), each (B, num_heads, L_past + T,
    head_dim): the old entries first, then the new tokens'.
  - the cache passed in is NOT modified (no in-place writes, no .data =, no set_): build the
    new one with torch.cat, so the caller can still reuse the old cache (e.g. to try two
    continuations of the same prompt).
  - causal over past + new: new token t is at absolute position L_past + t and attends the
    keys at positions 0 .. L_past + t (every cached token, and the chunk's tokens up to
    itself). Mask convention: bool, True = may attend. No query row is ever fully masked.
  - per head softmax(q kᵀ / √head_dim) over the keys, times v; heads merged back to
    (B, T, d_model); then out_proj — exactly as in the multihead kata.
  - Property: feeding a sequence in any split of chunks (each call gets the cache the previous
    call returned) gives the same outputs and final cache as one full pass with cache=None.
- Edge cases: T = 1 (one decoding step); a cache with L_past = 0 (tensors of shape
  (B, H, 0, head_dim)) behaves like cache=None; T = 0 returns y of shape (B, 0, d_model) and
  a cache equal in value to the one passed in.
- The dtype of x (and of the cache) is kept (float32, float64, bfloat16); gradients flow to x
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


class CachedSelfAttention(nn.Module):
    def __init__(self, d_model: int, num_heads: int, bias: bool = True) -> None:
        super().__init__()
        # TODO: check that num_heads divides d_model (ValueError otherwise)
        # TODO: self.q_proj, self.k_proj, self.v_proj, self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(
        self, x: torch.Tensor, cache: Optional[tuple[torch.Tensor, torch.Tensor]] = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        # TODO: project the new tokens, split heads -> (B, H, T, head_dim)
        # TODO: prepend the cached keys and values (new tensors; leave the cache passed in alone)
        # TODO: causal mask over past + new: new token t may see positions 0 .. L_past + t
        # TODO: attend, merge heads, out_proj; return (y, (k, v))
        raise NotImplementedError("write CachedSelfAttention.forward")
