"""Kata: scaled dot-product attention.

Write `scaled_dot_product_attention(q, k, v, mask=None) -> (output, weights)`.

Contract (the hidden suite checks every line):
- q: (..., Lq, d_k), k: (..., Lk, d_k), v: (..., Lk, d_v). Any number of leading batch
  dimensions (none, one, several); Lq may differ from Lk and d_v from d_k.
- weights = softmax(q @ kᵀ / √d_k) over the keys; output = weights @ v.
- Returns (output, weights): output (..., Lq, d_v), weights (..., Lq, Lk).
- mask: optional bool tensor broadcastable to (..., Lq, Lk); True means "may attend".
  Masked keys get weight exactly 0.
- A query row whose mask allows no key gets all-zero weights and a zero output — never NaN.
- The dtype of the inputs is kept (float32, float64, bfloat16); the result is differentiable
  (gradients for q, k and v equal the reference's).
- Do not call torch's built-in attention (torch.nn.functional.scaled_dot_product_attention,
  torch.nn.MultiheadAttention, ...): the point is to write it yourself.

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

import math  # noqa: F401  (you will need math.sqrt)
from typing import Optional

import torch


def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Optional[torch.Tensor] = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (output, weights); see the module docstring for the contract."""
    # TODO: scores = q kᵀ scaled by 1/√d_k                      -> (..., Lq, Lk)
    # TODO: apply the mask (True = may attend) before the softmax
    # TODO: softmax over the keys; rows with no allowed key must become zeros, not NaN
    # TODO: output = weights @ v                                -> (..., Lq, d_v)
    raise NotImplementedError("write scaled_dot_product_attention")
