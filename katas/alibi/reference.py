"""ALiBi (Attention with Linear Biases, Press et al. 2022): position enters attention only as a
per-head penalty that grows linearly with the distance between query and key."""

from __future__ import annotations

import math

import torch


def _power_of_two_slopes(n: int) -> list[float]:
    """2^(-8/n), 2^(-16/n), ..., 2^(-8): a geometric sequence whose ratio is its first term."""
    return [2 ** (-8 * (h + 1) / n) for h in range(n)]


def alibi_slopes(num_heads: int) -> torch.Tensor:
    """One slope per head, as in the paper's code.

    Steep slopes make a head local, gentle ones let it look far back. For a head count that is
    not a power of two, the heads beyond the largest power of two n take every other slope of 2n
    heads (the even indices): those fall geometrically halfway between the slopes of n heads.
    """
    if num_heads < 1:
        raise ValueError(f"num_heads must be at least 1, got {num_heads}")
    n = 2 ** math.floor(math.log2(num_heads))  # the largest power of two <= num_heads
    slopes = _power_of_two_slopes(n)
    if n < num_heads:
        slopes += _power_of_two_slopes(2 * n)[0::2][: num_heads - n]
    return torch.tensor(slopes, dtype=torch.float32)  # (num_heads,)


def alibi_bias(num_heads: int, length: int) -> torch.Tensor:
    """The causal ALiBi bias added to the attention scores: -slope_h * (i - j), -inf for j > i."""
    if length < 0:
        raise ValueError(f"length must be at least 0, got {length}")
    slopes = alibi_slopes(num_heads)  # (H,)
    i = torch.arange(length).view(length, 1)  # (L, 1): query positions
    j = torch.arange(length).view(1, length)  # (1, L): key positions
    distance = (i - j).float()  # (L, L): how far key j lies behind query i
    bias = -slopes.view(-1, 1, 1) * distance  # (H, L, L): the further back, the lower
    bias = bias.masked_fill(j > i, float("-inf"))  # causal: future keys are never attended
    return bias
