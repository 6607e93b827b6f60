"""A pre-LayerNorm decoder block (GPT-2 style): causal attention and an MLP, each in a residual."""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model: int, num_heads: int) -> None:
        super().__init__()
        if d_model % num_heads != 0:
            raise ValueError(f"num_heads ({num_heads}) must divide d_model ({d_model})")
        self.d_model = d_model
        self.num_heads = num_heads
        self.head_dim = d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        B, T, _ = t.shape
        return t.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, T, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, d_model) -> (B, T, d_model); position t attends to positions 0..t only."""
        B, T, _ = x.shape
        q = self._split(self.q_proj(x))  # (B, H, T, d)
        k = self._split(self.k_proj(x))  # (B, H, T, d)
        v = self._split(self.v_proj(x))  # (B, H, T, d)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # (B, H, T, T)
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()  # (T, T), True = may attend
        scores = scores.masked_fill(~causal, float("-inf"))
        y = torch.softmax(scores, dim=-1) @ v  # (B, H, T, d)
        y = y.transpose(1, 2).reshape(B, T, self.d_model)  # (B, T, d_model)
        return self.out_proj(y)


class MLP(nn.Module):
    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.fc = nn.Linear(d_model, d_ff)
        self.proj = nn.Linear(d_ff, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(F.gelu(self.fc(x)))  # exact (erf) GELU


class Block(nn.Module):
    """x + attn(ln1(x)), then x + mlp(ln2(x)).

    Pre-LN: the norms sit inside the residual branches, so the residual stream x itself is
    never normalised and a block whose branches output zero is the identity.
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: Optional[int] = None) -> None:
        super().__init__()
        d_ff = 4 * d_model if d_ff is None else d_ff
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, num_heads)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = MLP(d_model, d_ff)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, d_model) -> (B, T, d_model)."""
        x = x + self.attn(self.ln1(x))  # (B, T, d_model)
        x = x + self.mlp(self.ln2(x))  # (B, T, d_model)
        return x
