"""Causal linear attention (Katharopoulos et al., 2020): attention as a running sum, O(L) in time."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def causal_linear_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """out_i = φ(q_i)ᵀ S_i / (φ(q_i)ᵀ z_i + eps), φ(x) = elu(x) + 1, with the prefix sums
    S_i = Σ_{j≤i} φ(k_j) v_jᵀ and z_i = Σ_{j≤i} φ(k_j).

    Replacing exp(q·k) by the kernel φ(q)·φ(k) lets the sum over keys be reassociated: each
    query reads a d_k × d_v state instead of an L × L row of weights, so no L × L tensor exists.
    """
    q, k = F.elu(q) + 1.0, F.elu(k) + 1.0  # φ(q), φ(k): (B, H, L, d_k), positive everywhere
    S = (k.unsqueeze(-1) * v.unsqueeze(-2)).cumsum(dim=-3)  # (B, H, L, d_k, d_v): Σ_{j≤i} φ(k_j) v_jᵀ
    z = k.cumsum(dim=-2)  # (B, H, L, d_k): Σ_{j≤i} φ(k_j)
    num = (q.unsqueeze(-2) @ S).squeeze(-2)  # (B, H, L, d_v): φ(q_i)ᵀ S_i
    den = (q * z).sum(dim=-1, keepdim=True)  # (B, H, L, 1): φ(q_i)ᵀ z_i, > 0
    return num / (den + eps)
