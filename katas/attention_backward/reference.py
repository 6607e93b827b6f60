"""Attention with a hand-written backward pass: what autograd does for softmax(q kᵀ/√d) v."""

from __future__ import annotations

import math
from typing import Any

import torch


class AttentionFunction(torch.autograd.Function):
    """softmax(q kᵀ / √d) v, with its gradients written out by hand.

    Forward keeps q, k, v and the weights P; backward is four matmuls plus the softmax's
    vector-Jacobian product, which never builds the (L, L, L) Jacobian of the softmax.
    """

    @staticmethod
    def forward(ctx: Any, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        scale = 1.0 / math.sqrt(q.size(-1))
        scores = q @ k.transpose(-2, -1) * scale  # (..., L, L)
        p = torch.softmax(scores, dim=-1)  # (..., L, L), each row sums to 1
        ctx.save_for_backward(q, k, v, p)
        ctx.scale = scale
        return p @ v  # (..., L, d)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q, k, v, p = ctx.saved_tensors
        scale = ctx.scale
        grad_v = p.transpose(-2, -1) @ grad_out  # (..., L, d): dV = Pᵀ dO
        grad_p = grad_out @ v.transpose(-2, -1)  # (..., L, L): dP = dO Vᵀ
        # softmax backward, row by row: dS_ij = P_ij (dP_ij - Σ_l P_il dP_il)
        row = (p * grad_p).sum(dim=-1, keepdim=True)  # (..., L, 1)
        grad_s = p * (grad_p - row)  # (..., L, L)
        grad_q = grad_s @ k * scale  # (..., L, d): S = scale · Q Kᵀ
        grad_k = grad_s.transpose(-2, -1) @ q * scale  # (..., L, d)
        return grad_q, grad_k, grad_v


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q kᵀ / √d) v whose gradients come from AttentionFunction.backward."""
    return AttentionFunction.apply(q, k, v)
