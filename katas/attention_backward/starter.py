"""Kata: attention's backward pass, written by hand.

Write `class AttentionFunction(torch.autograd.Function)` and `attention(q, k, v)`.

Contract (the hidden suite checks every line):
- q, k, v: floating tensors of one and the same shape (..., L, d): any number of leading batch
  dims, none included ((L, d) works), shared by all three (no broadcasting between them).
  L >= 1 and d >= 1. No mask and not causal: every query attends to every key.
- `AttentionFunction.forward(ctx, q, k, v)` returns out = softmax(q @ kᵀ / √d) @ v, shape
  (..., L, d), d = q.size(-1), the softmax over the keys (the last dim). Scores may be large
  (hundreds): the softmax must not overflow (torch.softmax is safe). forward saves what backward
  needs: tensors with ctx.save_for_backward(...), plain numbers as attributes (ctx.scale = ...).
  Keeping the weights P or recomputing them in backward are both fine.
- `AttentionFunction.backward(ctx, grad_out)`: grad_out is ∂loss/∂out, shape (..., L, d).
  Return the tuple (grad_q, grad_k, grad_v), each shaped like its input: the exact gradients of
  the loss w.r.t. q, k and v — the numbers autograd would give for the forward above.
  Compute them BY HAND with tensor ops (matmul, transpose, sum, *): no autograd inside
  backward. Forbidden: torch.autograd.grad, torch.autograd.backward, Tensor.backward(),
  torch.func / torch.autograd.functional (vjp, grad), and torch's built-in attention
  (F.scaled_dot_product_attention, F.multi_head_attention_forward, nn.MultiheadAttention).
  You may return None for an input whose ctx.needs_input_grad[i] is False (a tensor is fine too).
  backward need not be differentiable itself (no double backward is asked for).
- `attention(q, k, v)` returns AttentionFunction.apply(q, k, v). The suite takes gradients
  through attention() and through AttentionFunction.apply directly.
- Edge case L = 1: the single weight is 1, so out = v, grad_v = grad_out, and grad_q and
  grad_k are exactly zero (moving q or k changes nothing).
- dtypes: float32, float64 and bfloat16 in; out and the gradients in the input's dtype
  (computing in that dtype is fine).
- Checked against autograd of a float64 reference, and by a gradcheck: your backward against
  finite differences of your own forward (the suite stacks perturbed inputs along a leading
  batch dim, so leading dims must work).

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

import math  # noqa: F401  (you will need math.sqrt)
from typing import Any

import torch


class AttentionFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        # TODO: scores = q kᵀ / √d                         -> (..., L, L)
        # TODO: P = softmax over the keys (dim=-1)          -> (..., L, L)
        # TODO: save what backward needs (ctx.save_for_backward(...), ctx.scale = ...)
        # TODO: return P @ v                                -> (..., L, d)
        raise NotImplementedError("write AttentionFunction.forward")

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # TODO: read back what forward saved (ctx.saved_tensors)
        # TODO: grad_v and the gradient of the weights P, from out = P @ v
        # TODO: the gradient of the scores, through the softmax (row by row)
        # TODO: grad_q and grad_k, from scores = q kᵀ / √d
        raise NotImplementedError("write AttentionFunction.backward")


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q kᵀ / √d) v, differentiated by AttentionFunction.backward."""
    # TODO: return AttentionFunction.apply(q, k, v)
    raise NotImplementedError("write attention")
