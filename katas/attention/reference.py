"""Scaled dot-product attention, the core of every transformer layer."""

from __future__ import annotations

import math
from typing import Optional

import torch


def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Optional[torch.Tensor] = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q kᵀ / √d_k) v, with an optional boolean mask (True = may attend).

    Dividing by √d_k keeps the logits' variance near 1 whatever the width, so the softmax does
    not saturate. A query row whose mask allows no key would be 0/0 (NaN); it gets zero weights
    instead, which is what a padded row should contribute.
    """
    d_k = q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., Lq, Lk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # (..., Lq, Lk), each row sums to 1
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)  # fully masked rows: NaN -> 0
    output = weights @ v  # (..., Lq, d_v)
    return output, weights
