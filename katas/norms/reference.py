"""LayerNorm and RMSNorm, the normalisations around every transformer block."""

from __future__ import annotations

import torch
from torch import nn


class LayerNorm(nn.Module):
    """Normalise each vector over its last dim to mean 0 and variance 1, then scale and shift.

    The variance is the biased one (divide by d, not d - 1) and eps sits inside the square
    root, exactly like nn.LayerNorm: a nearly constant vector is divided by about √eps, not by ~0.
    """

    def __init__(self, d: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))  # (d,) gain
        self.bias = nn.Parameter(torch.zeros(d))  # (d,) shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., d) -> (..., d)."""
        mean = x.mean(dim=-1, keepdim=True)  # (..., 1)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)  # (..., 1) biased: divided by d
        x_hat = (x - mean) / torch.sqrt(var + self.eps)  # (..., d)
        return x_hat * self.weight + self.bias


class RMSNorm(nn.Module):
    """Divide each vector by its root mean square over the last dim, then scale; no centring, no bias."""

    def __init__(self, d: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))  # (d,) gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., d) -> (..., d)."""
        ms = x.pow(2).mean(dim=-1, keepdim=True)  # (..., 1) mean square
        return x / torch.sqrt(ms + self.eps) * self.weight
