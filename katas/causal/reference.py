"""Causal (decoder) attention with a key-padding mask, as in every GPT-style layer."""

from __future__ import annotations

import math
from typing import Optional

import torch


def causal_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_padding_mask: Optional[torch.Tensor] = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q kᵀ / √d) v where query i sees keys j ≤ i that are real tokens.

    key_padding_mask (B, L) is True for a real token. With left padding a padded query may have
    no real key at or before it: its row would be 0/0 (NaN), so it gets zero weights instead.
    """
    L, d = q.size(-2), q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (B, H, L, L)
    mask = torch.ones(L, L, dtype=torch.bool, device=q.device).tril()  # (L, L): key j <= query i
    if key_padding_mask is not None:
        mask = mask & key_padding_mask[:, None, None, :]  # (B, 1, L, L): and key j is real
    scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # (B, H, L, L), each allowed row sums to 1
    weights = weights.masked_fill(~mask, 0.0)  # a row with no allowed key: NaN -> 0
    output = weights @ v  # (B, H, L, d)
    return output, weights
