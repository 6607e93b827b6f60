"""Causal self-attention with a key/value cache: the layer that makes decoding fast."""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn


class CachedSelfAttention(nn.Module):
    """Multi-head causal self-attention that can be fed a sequence in chunks.

    Each call projects only the T new tokens; the keys and values of the earlier tokens come
    from the cache, so decoding one token costs O(L) instead of re-running the whole prefix.
    The cache holds projected, head-split keys and values (B, H, L_past, head_dim), never x.
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
        B, T, _ = t.shape
        return t.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, T, d)

    def forward(
        self, x: torch.Tensor, cache: Optional[tuple[torch.Tensor, torch.Tensor]] = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """x (B, T, d_model): the T new tokens; cache (k, v), each (B, H, L_past, d), or None.

        Returns y (B, T, d_model) and the new cache (k, v), each (B, H, L_past + T, d).
        """
        B, T, _ = x.shape
        q = self._split(self.q_proj(x))  # (B, H, T, d)
        k = self._split(self.k_proj(x))  # (B, H, T, d)
        v = self._split(self.v_proj(x))  # (B, H, T, d)
        L_past = 0
        if cache is not None:
            k_past, v_past = cache  # (B, H, L_past, d): the earlier tokens' keys and values
            L_past = k_past.size(2)
            k = torch.cat([k_past, k], dim=2)  # (B, H, L, d), L = L_past + T: new tensors
            v = torch.cat([v_past, v], dim=2)  # (B, H, L, d)
        # new token t sits at absolute position L_past + t: it may see keys 0 .. L_past + t
        q_pos = L_past + torch.arange(T, device=x.device)  # (T,)
        k_pos = torch.arange(L_past + T, device=x.device)  # (L,)
        causal = k_pos[None, :] <= q_pos[:, None]  # (T, L), True = may attend
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # (B, H, T, L)
        scores = scores.masked_fill(~causal, float("-inf"))
        y = torch.softmax(scores, dim=-1) @ v  # (B, H, T, d)
        y = y.transpose(1, 2).reshape(B, T, self.d_model)  # (B, T, d_model)
        return self.out_proj(y), (k, v)
