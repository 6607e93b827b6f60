"""Kata: sliding-window causal attention.

Write `sliding_window_attention(q, k, v, window) -> (output, weights)`.

Contract (the hidden suite checks every line):
- q, k, v: (B, H, L, d) — batch, heads, sequence length, head width (the same L and d for all
  three). L may be 1.
- window: an int >= 1. Query i attends to keys j with i - window < j <= i: itself and the
  window - 1 keys before it, i.e. min(window, i + 1) keys. Never a future key (j > i), never
  a key window or more positions back (j <= i - window).
  window = 1: each query sees only itself (output = v). window >= L: plain causal attention.
- window < 1 (0, negative): raise ValueError.
- weights = softmax(q @ kᵀ / √d) over the keys in the window, d = q.size(-1);
  output = weights @ v.
- Returns (output, weights): output (B, H, L, d), weights (B, H, L, L) — the full square, with
  weight exactly 0 outside the band; every row sums to 1 (no row is ever empty: the band
  always holds the diagonal).
- The dtype of the inputs is kept (float32, float64, bfloat16); the result is differentiable
  (gradients for q, k and v equal the reference's).
- Do not call torch's built-in attention (torch.nn.functional.scaled_dot_product_attention,
  torch.nn.functional.multi_head_attention_forward, torch.nn.MultiheadAttention): write it
  yourself.

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

import math  # noqa: F401  (you will need math.sqrt)

import torch


def sliding_window_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (output, weights); see the module docstring for the contract."""
    # TODO: raise ValueError when window < 1
    # TODO: scores = q kᵀ / √d                                          -> (B, H, L, L)
    # TODO: band mask, True where i - window < j <= i (query i, key j)   -> (L, L)
    # TODO: mask the scores outside the band BEFORE the softmax; softmax over the keys
    # TODO: output = weights @ v                                         -> (B, H, L, d)
    raise NotImplementedError("write sliding_window_attention")
