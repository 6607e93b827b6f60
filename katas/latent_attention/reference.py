"""Multi-head latent attention (DeepSeek-V2's MLA, without its decoupled RoPE): cache a small
latent per token instead of every head's keys and values."""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn


class LatentAttention(nn.Module):
    """Causal multi-head attention whose keys and values are expanded from a shared latent.

    kv_down compresses each token to d_latent numbers; k_up and v_up expand that latent into
    every head's keys and values. Only the latent is cached: d_latent numbers per token instead
    of the 2 · d_model a key/value cache holds, which is what lets MLA decode long contexts.
    """

    def __init__(self, d_model: int, num_heads: int, d_latent: int) -> None:
        super().__init__()
        if d_model % num_heads != 0:
            raise ValueError(f"num_heads ({num_heads}) must divide d_model ({d_model})")
        self.d_model = d_model
        self.num_heads = num_heads
        self.head_dim = d_model // num_heads
        self.d_latent = d_latent
        self.q_proj = nn.Linear(d_model, d_model)
        self.kv_down = nn.Linear(d_model, d_latent)  # token -> latent (the only thing cached)
        self.k_up = nn.Linear(d_latent, d_model)  # latent -> keys of all heads
        self.v_up = nn.Linear(d_latent, d_model)  # latent -> values of all heads
        self.out_proj = nn.Linear(d_model, d_model)

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        B, L, _ = t.shape
        return t.view(B, L, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, L, hd)

    def forward(
        self, x: torch.Tensor, cache: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, d_model): the T new tokens; cache (B, L_past, d_latent) or None.

        Returns y (B, T, d_model) and the new cache (B, L_past + T, d_latent).
        """
        B, T, _ = x.shape
        latent = self.kv_down(x)  # (B, T, d_latent)
        if cache is not None:
            latent = torch.cat([cache, latent], dim=1)  # (B, L, d_latent), L = L_past + T: a new tensor
        L = latent.size(1)
        L_past = L - T
        q = self._split(self.q_proj(x))  # (B, H, T, hd)
        k = self._split(self.k_up(latent))  # (B, H, L, hd)
        v = self._split(self.v_up(latent))  # (B, H, L, hd)
        # new token t sits at absolute position L_past + t: it may see keys 0 .. L_past + t
        q_pos = L_past + torch.arange(T, device=x.device)  # (T,)
        k_pos = torch.arange(L, device=x.device)  # (L,)
        causal = k_pos[None, :] <= q_pos[:, None]  # (T, L), True = may attend
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # (B, H, T, L)
        scores = scores.masked_fill(~causal, float("-inf"))
        y = torch.softmax(scores, dim=-1) @ v  # (B, H, T, hd)
        y = y.transpose(1, 2).reshape(B, T, self.d_model)  # (B, T, d_model)
        return self.out_proj(y), latent
