"""Kata: rotary position embeddings (RoPE), half-split pairing as in GPT-NeoX and Hugging Face Llama.

Write `apply_rope(x, positions, base=10000.0) -> Tensor`.

Contract (the hidden suite checks every line):
- x: a floating tensor (..., L, d) — any number of leading dims (none, (B,), (B, H), ...), L
  positions, d components (queries or keys of one head). d must be even; an odd d raises
  ValueError.
- positions: a long tensor of shape (L,), the ABSOLUTE position of each of the L rows, shared by
  every leading index. Not necessarily arange(L): a decode step at position t passes x with
  L = 1 and positions = tensor([t]); a chunk after a 100-token prefix passes 100, 101, ...;
  packed sequences restart at 0; the suite goes up to position 8191.
- base: θ's base, 10000.0 by default (the suite also uses 100.0 and 500000.0).
- PAIRING (libraries differ, this contract is fixed): component i is paired with component
  i + d/2, for i = 0 .. d/2 - 1 — the "rotate_half" layout of GPT-NeoX and Hugging Face Llama.
  NOT the adjacent pairs (x[2i], x[2i+1]) of GPT-J and Meta's original Llama code.
- Pair i at position p is rotated counterclockwise by the angle φ = p · θ_i, with
  θ_i = base^(-2i/d) (θ_0 = 1, then decreasing):
      out[..., i]         = x[..., i] · cos φ - x[..., i + d/2] · sin φ
      out[..., i + d/2]   = x[..., i] · sin φ + x[..., i + d/2] · cos φ
  Equivalently out = x · cos + rotate_half(x) · sin, with rotate_half(x) = cat(-x2, x1) for the
  halves x1 = x[..., :d/2], x2 = x[..., d/2:], and cos, sin of the angles repeated on both halves.
- Returns a NEW tensor of x's shape and dtype (float32, float64, bfloat16); x itself is not
  modified. Differentiable w.r.t. x (the gradient is the inverse rotation of the upstream one).
- Precision: compute positions, θ, the angles and their cos/sin in float32 or better for EVERY
  input dtype — never in bfloat16, whose 8 bits turn position 1001 into 1000 and angles of
  thousands of radians into noise. float32 angles are fine even for a float64 x: the suite adds
  to its usual per-dtype tolerance an angle error of 2^-21 · (p + 1) radians at position p.
  Rotating in x's dtype with cos/sin cast to it (as Hugging Face does) is fine too.
- Properties: norms are kept (each pair is rotated), position 0 leaves x unchanged, and
  ⟨apply_rope(q, m), apply_rope(k, n)⟩ depends only on m - n.
- Edge cases: L = 1 (one decode step); L = 0 (x of shape (..., 0, d), positions of shape (0,))
  returns an empty tensor of x's shape; d = 2 (a single pair).

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

import torch


def apply_rope(x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Return x with each half-split pair rotated; see the module docstring for the contract."""
    # TODO: raise ValueError when the last dim d is odd
    # TODO: θ_i = base^(-2i/d), i = 0 .. d/2 - 1, in float32 or better       -> (d/2,)
    # TODO: angles = positions · θ_i (absolute positions, float32 or better)  -> (L, d/2)
    # TODO: split x into halves x1 = x[..., :d/2], x2 = x[..., d/2:]          -> (..., L, d/2) each
    # TODO: rotate each pair (x1[i], x2[i]) by its angle; concatenate; cast to x.dtype -> (..., L, d)
    raise NotImplementedError("write apply_rope")
