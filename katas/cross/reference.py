"""Cross-attention: queries from one sequence (the decoder's x), keys and values from another
(the encoder's memory)."""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn


class CrossAttention(nn.Module):
    """Multi-head attention where x asks and memory answers.

    q comes from x (width d_model); k and v come from memory (width d_memory), projected to
    d_model so that each head compares head_dim-wide vectors. The memory mask marks which memory
    positions are real (True) or padding (False): it masks the KEY axis, the same for every query.
    """

    def __init__(self, d_model: int, num_heads: int, d_memory: Optional[int] = None, bias: bool = True) -> None:
        super().__init__()
        if d_model % num_heads != 0:
            raise ValueError(f"num_heads ({num_heads}) must divide d_model ({d_model})")
        self.d_model = d_model
        self.d_memory = d_memory or d_model
        self.num_heads = num_heads
        self.head_dim = d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(self.d_memory, d_model, bias=bias)
        self.v_proj = nn.Linear(self.d_memory, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        B, L, _ = t.shape
        return t.view(B, L, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, L, d)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, memory_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """x (B, Lq, d_model), memory (B, Lk, d_memory), memory_mask bool (B, Lk), True = real."""
        B, Lq, _ = x.shape
        q = self._split(self.q_proj(x))  # (B, H, Lq, d)
        k = self._split(self.k_proj(memory))  # (B, H, Lk, d)
        v = self._split(self.v_proj(memory))  # (B, H, Lk, d)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # (B, H, Lq, Lk)
        if memory_mask is not None:
            mask = memory_mask[:, None, None, :]  # (B, 1, 1, Lk): the same keys for every head and query
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)  # (B, H, Lq, Lk)
        if memory_mask is not None:
            weights = weights.masked_fill(~mask, 0.0)  # memory with no real position: NaN -> 0
        y = weights @ v  # (B, H, Lq, d)
        y = y.transpose(1, 2).reshape(B, Lq, self.d_model)  # (B, Lq, H * d)
        return self.out_proj(y)  # (B, Lq, d_model)
