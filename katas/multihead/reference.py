"""Multi-head self-attention, the layer the interview article gets wrong."""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn


class MultiHeadSelfAttention(nn.Module):
    """h heads of width d_model/h attend in parallel; out_proj mixes them back together.

    Splitting into heads lets each head attend to a different pattern at the cost of one
    full-width head; without out_proj the heads' outputs would just sit side by side.
    """

    def __init__(self, d_model: int, num_heads: int, bias: bool = True) -> None:
        super().__init__()
        if d_model % num_heads != 0:
            raise ValueError(f"num_heads ({num_heads}) must divide d_model ({d_model})")
        self.d_model = d_model
        self.num_heads = num_heads
        self.head_dim = d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        B, L, _ = t.shape
        return t.view(B, L, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, L, d)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """x (B, L, d_model), mask bool broadcastable to (B, H, L, L), True = may attend."""
        B, L, _ = x.shape
        q = self._split(self.q_proj(x))  # (B, H, L, d)
        k = self._split(self.k_proj(x))  # (B, H, L, d)
        v = self._split(self.v_proj(x))  # (B, H, L, d)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # (B, H, L, L)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)  # (B, H, L, L)
        if mask is not None:
            weights = weights.masked_fill(~mask, 0.0)  # a query allowed no key: NaN -> 0
        y = weights @ v  # (B, H, L, d)
        y = y.transpose(1, 2).reshape(B, L, self.d_model)  # (B, L, H * d): heads side by side
        return self.out_proj(y)  # (B, L, d_model)
