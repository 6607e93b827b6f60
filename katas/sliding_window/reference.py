"""Sliding-window (local) causal attention, as in Mistral and Longformer's causal variant."""

from __future__ import annotations

import math

import torch


def sliding_window_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q kᵀ / √d) v where query i sees only the last `window` keys: i - window < j <= i.

    The band always holds the diagonal, so no row is ever empty; near the start (i < window)
    it holds all i + 1 keys, exactly as causal attention.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    L, d = q.size(-2), q.size(-1)
    i = torch.arange(L, device=q.device).view(L, 1)  # (L, 1): query positions
    j = torch.arange(L, device=q.device).view(1, L)  # (1, L): key positions
    band = (j <= i) & (j > i - window)  # (L, L): the window, diagonal included
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (B, H, L, L)
    scores = scores.masked_fill(~band, float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # (B, H, L, L), each row sums to 1
    output = weights @ v  # (B, H, L, d)
    return output, weights
