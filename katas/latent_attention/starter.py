"""Kata: multi-head latent attention (MLA) with a latent cache.

Write `class LatentAttention(nn.Module)`: the key/value compression of DeepSeek-V2's
multi-head latent attention, WITHOUT its decoupled RoPE (no positional encoding here at all),
without its query compression and without the norm on the latent.

Contract (the hidden suite checks every line):
- `__init__(self, d_model, num_heads, d_latent)` creates exactly five submodules (the suite
  loads weights by these names), each an nn.Linear with a bias (the default):
    q_proj   = nn.Linear(d_model, d_model)
    kv_down  = nn.Linear(d_model, d_latent)    token -> latent, the only thing cached
    k_up     = nn.Linear(d_latent, d_model)    latent -> the keys of all heads
    v_up     = nn.Linear(d_latent, d_model)    latent -> the values of all heads
    out_proj = nn.Linear(d_model, d_model)
  Raise ValueError when num_heads does not divide d_model. head_dim = d_model // num_heads.
  d_latent is any positive int (smaller than d_model in practice: that is the point).
- `forward(self, x, cache=None) -> (y, cache)`:
  - x (B, T, d_model): the T NEW tokens — a whole prompt, a chunk of it, or one decoding step.
  - cache: None (nothing seen yet) or ONE tensor (B, L_past, d_latent): the latents
    kv_down(x) of all earlier tokens, in order. Not x, and not keys or values: the latent is
    all MLA keeps, d_latent numbers per token instead of 2 · d_model.
  - returns y (B, T, d_model) and the new cache, one tensor (B, L_past + T, d_latent): the
    cache passed in, then kv_down of the new tokens, concatenated along dim 1.
  - the cache passed in is NOT modified (build the new one with torch.cat).
  - keys and values of ALL L_past + T positions come from the latent: per head,
    k = k_up(latent), v = v_up(latent), q = q_proj(x), split into num_heads heads of head_dim
    as in the multihead kata ((B, H, ·, head_dim)). Expanding the whole latent on every call,
    or folding k_up into the queries ("weight absorption"), are both fine: same numbers.
  - causal over past + new: new token t is at absolute position L_past + t and attends the
    keys at positions 0 .. L_past + t. Mask convention: bool, True = may attend. No query row
    is ever fully masked.
  - per head softmax(q kᵀ / √head_dim) over the keys (head_dim, not d_latent), times v; heads
    merged back to (B, T, d_model); then out_proj.
  - Property: feeding a sequence in any split of chunks (each call gets the cache the previous
    call returned) gives the same outputs and final cache as one full pass with cache=None.
  - With the same weights it equals causal multi-head attention whose key projection is
    k_up ∘ kv_down and whose value projection is v_up ∘ kv_down (low-rank k and v).
- Edge cases: T = 1 (one decoding step); a cache with L_past = 0 (shape (B, 0, d_latent))
  behaves like cache=None; T = 0 returns y of shape (B, 0, d_model) and a cache equal in value
  to the one passed in.
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


class LatentAttention(nn.Module):
    def __init__(self, d_model: int, num_heads: int, d_latent: int) -> None:
        super().__init__()
        # TODO: check that num_heads divides d_model (ValueError otherwise)
        # TODO: self.q_proj, self.kv_down, self.k_up, self.v_up, self.out_proj (nn.Linear, see the contract)

    def forward(
        self, x: torch.Tensor, cache: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # TODO: latent of the new tokens, kv_down(x); append it to the cache (a new tensor)  -> (B, L, d_latent)
        # TODO: q from x; k and v from the whole latent, split into heads  -> (B, H, ., head_dim)
        # TODO: causal mask over past + new: new token t may see positions 0 .. L_past + t
        # TODO: attend, merge heads, out_proj; return (y, latent)
        raise NotImplementedError("write LatentAttention.forward")
