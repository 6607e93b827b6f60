"""Kata: causal linear attention — attention as a running sum, with no L × L matrix.

Write `causal_linear_attention(q, k, v, eps=1e-6) -> Tensor`.

Contract (the hidden suite checks every line):
- q, k: (B, H, L, d_k); v: (B, H, L, d_v) — batch, heads, positions, widths (d_v may differ
  from d_k). L >= 1; L = 1 is valid.
- Feature map φ(x) = elu(x) + 1 (F.elu with alpha = 1), elementwise: x + 1 for x > 0, exp(x)
  for x <= 0 — positive everywhere. Not relu, not softmax; and NO 1/√d_k scaling anywhere
  (φ is applied to q and k as they are).
- For every position i (causal: keys j <= i only, position i itself included):
      S_i = Σ_{j≤i} φ(k_j) v_jᵀ   (d_k × d_v)      z_i = Σ_{j≤i} φ(k_j)   (d_k)
      out_i = φ(q_i)ᵀ S_i / (φ(q_i)ᵀ z_i + eps)
  eps (a float >= 0, default 1e-6) is added to the denominator only, never to the numerator.
  This equals the quadratic form (A @ v) / (A.sum(-1) + eps) with A = (φ(q) φ(k)ᵀ).tril(),
  but must not be computed that way.
- Returns out: (B, H, L, d_v), in the dtype of the inputs (float32, float64, bfloat16; the
  three share one dtype). Differentiable: gradients w.r.t. q, k and v equal the reference's.
- Memory bound (checked): no tensor of L × L elements. At B = H = 1, L = 16384,
  d_k = d_v = 16 in float32, the call's peak extra memory must stay <= 128 MiB — an L × L
  matrix alone would be 1 GiB. Tensors of L × d_k × d_v elements are fine (16 MiB there): a
  cumsum over the positions of the outer products φ(k_j) v_jᵀ, a loop that carries S and z,
  or blocks of positions all fit.
- Do not call torch's attention (torch.nn.functional.scaled_dot_product_attention,
  torch.nn.functional.multi_head_attention_forward, torch.nn.MultiheadAttention).

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: F401  (you will need F.elu)


def causal_linear_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Return out (B, H, L, d_v); see the module docstring for the contract."""
    # TODO: φ(q), φ(k) = elu + 1                                               -> (B, H, L, d_k)
    # TODO: S_i = Σ_{j≤i} φ(k_j) v_jᵀ: a prefix sum over the positions       -> (B, H, L, d_k, d_v)
    # TODO: z_i = Σ_{j≤i} φ(k_j)                                              -> (B, H, L, d_k)
    # TODO: out_i = φ(q_i)ᵀ S_i / (φ(q_i)ᵀ z_i + eps)                          -> (B, H, L, d_v)
    raise NotImplementedError("write causal_linear_attention")
