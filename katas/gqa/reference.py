"""Grouped-query attention (GQA): fewer key/value heads than query heads, as in Llama 2/3."""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn


class GroupedQueryAttention(nn.Module):
    """num_heads query heads share num_kv_heads key/value heads, in consecutive groups.

    Query head h reads KV head h // group with group = num_heads // num_kv_heads: heads 0..group-1
    share KV head 0, the next group KV head 1, and so on. The KV cache shrinks by that factor.
    num_kv_heads = 1 is multi-query attention (MQA); num_kv_heads = num_heads is plain MHA.
    """

    def __init__(self, d_model: int, num_heads: int, num_kv_heads: int, bias: bool = False) -> None:
        super().__init__()
        if d_model % num_heads != 0:
            raise ValueError(f"num_heads ({num_heads}) must divide d_model ({d_model})")
        if num_kv_heads <= 0 or num_heads % num_kv_heads != 0:
            raise ValueError(f"num_kv_heads ({num_kv_heads}) must divide num_heads ({num_heads})")
        self.d_model = d_model
        self.num_heads = num_heads
        self.num_kv_heads = num_kv_heads
        self.head_dim = d_model // num_heads
        kv_dim = num_kv_heads * self.head_dim
        self.q_proj = nn.Linear(d_model, num_heads * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(d_model, kv_dim, bias=bias)
        self.v_proj = nn.Linear(d_model, kv_dim, bias=bias)
        self.out_proj = nn.Linear(num_heads * self.head_dim, d_model, bias=bias)

    def _split(self, t: torch.Tensor, heads: int) -> torch.Tensor:
        B, L, _ = t.shape
        return t.view(B, L, heads, self.head_dim).transpose(1, 2)  # (B, heads, L, d)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """x (B, L, d_model), mask bool broadcastable to (B, H, L, L), True = may attend."""
        B, L, _ = x.shape
        q = self._split(self.q_proj(x), self.num_heads)  # (B, H, L, d)
        k = self._split(self.k_proj(x), self.num_kv_heads)  # (B, Hkv, L, d)
        v = self._split(self.v_proj(x), self.num_kv_heads)  # (B, Hkv, L, d)
        group = self.num_heads // self.num_kv_heads  # query heads per KV head
        k = k.repeat_interleave(group, dim=1)  # (B, H, L, d): query head h reads KV head h // group
        v = v.repeat_interleave(group, dim=1)  # (B, H, L, d)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # (B, H, L, L)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)  # (B, H, L, L)
        if mask is not None:
            weights = weights.masked_fill(~mask, 0.0)  # a query allowed no key: NaN -> 0
        y = weights @ v  # (B, H, L, d)
        y = y.transpose(1, 2).reshape(B, L, self.num_heads * self.head_dim)  # (B, L, H * d)
        return self.out_proj(y)  # (B, L, d_model)
