"""Kata: causal attention with a key-padding mask.

Write `causal_attention(q, k, v, key_padding_mask=None) -> (output, weights)`.

Contract (the hidden suite checks every line):
- q, k, v: (B, H, L, d) — batch, heads, sequence length, head width (the same L and d for all
  three). L may be 1.
- Causal: query i attends to keys j with j <= i (itself and the past, never the future).
- weights = softmax(q @ kᵀ / √d) over the allowed keys, d = q.size(-1); output = weights @ v.
- Returns (output, weights): output (B, H, L, d), weights (B, H, L, L). Keys that are not
  allowed get weight exactly 0; every row with at least one allowed key sums to 1.
- key_padding_mask: optional bool tensor (B, L); True means "a real token", False "padding".
  It masks KEYS (columns of the weights): no query attends to a padded key. It does not mask
  queries: a padded query that still sees an earlier real key gets an ordinary row.
- Left padding (e.g. [False, False, True, True]) leaves the first queries with no allowed key
  at all: such a row gets all-zero weights and a zero output — never NaN.
- The dtype of the inputs is kept (float32, float64, bfloat16); the result is differentiable
  (gradients for q, k and v equal the reference's).
- Do not call torch's built-in attention (torch.nn.functional.scaled_dot_product_attention,
  torch.nn.functional.multi_head_attention_forward, torch.nn.MultiheadAttention): write it
  yourself.

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

import math  # noqa: F401  (you will need math.sqrt)
from typing import Optional

import torch


def causal_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_padding_mask: Optional[torch.Tensor] = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (output, weights); see the module docstring for the contract."""
    # TODO: scores = q kᵀ / √d                                        -> (B, H, L, L)
    # TODO: build the causal mask (True where key j <= query i)        -> (L, L)
    # TODO: combine it with key_padding_mask (True = real key), broadcast over heads and queries
    # TODO: mask before the softmax; rows with no allowed key must become zeros, not NaN
    # TODO: output = weights @ v                                       -> (B, H, L, d)
    raise NotImplementedError("write causal_attention")
