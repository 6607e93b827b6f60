"""Kata: ALiBi slopes and the causal ALiBi bias.

Write `alibi_slopes(num_heads) -> Tensor` and `alibi_bias(num_heads, length) -> Tensor`.

ALiBi (Press et al., "Train Short, Test Long") adds no position embedding: each head h adds
-slope_h * (distance to the key) to its attention scores, so far keys are penalised linearly.

Contract (the hidden suite checks every line):
- alibi_slopes(num_heads): a float32 tensor of shape (num_heads,), slope h for head h
  (h = 0 .. num_heads - 1), exactly as in the paper's reference code:
  - num_heads = n a power of two (1, 2, 4, 8, ...): slope_h = 2^(-8 (h + 1) / n), i.e. the
    geometric sequence 2^(-8/n), 2^(-16/n), ..., 2^(-8) (for n = 8: 1/2, 1/4, ..., 1/256).
    Head 0 has the LARGEST slope; the slopes decrease with h. num_heads = 1 gives [2^-8].
  - otherwise: let n' = 2^floor(log2(num_heads)), the largest power of two below it. The
    first n' slopes are those of n' heads; the remaining num_heads - n' slopes are the first
    num_heads - n' entries of the 2n'-head slopes taken at EVEN indices (slopes(2n')[0::2],
    i.e. 2n'-head slopes 0, 2, 4, ...). Example: 6 heads -> slopes(4) followed by
    [slopes(8)[0], slopes(8)[2]] = [2^-2, 2^-4, 2^-6, 2^-8, 2^-1, 2^-3].
    (This is NOT the power-of-two formula applied to 6, and the result is not sorted.)
  - num_heads < 1 (0, negative): raise ValueError.
- alibi_bias(num_heads, length): a float32 tensor of shape (num_heads, length, length) with,
  for query position i (rows) and key position j (columns),
      bias[h, i, j] = -slope_h * (i - j)   for j <= i   (0 on the diagonal, negative below)
      bias[h, i, j] = -inf                 for j > i    (causal: future keys, float('-inf'))
  The bias is added to the scores q kᵀ / √d before the softmax; it is never positive, and it
  is -inf (not a large negative number) above the diagonal. slope_h is alibi_slopes(num_heads)[h].
  - length = 1 gives zeros of shape (num_heads, 1, 1); length = 0 gives an empty tensor of
    shape (num_heads, 0, 0); length < 0 raises ValueError; num_heads < 1 raises ValueError.
- Both functions return float32 tensors on the CPU (no gradient is involved).

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

import math  # noqa: F401  (math.log2 and math.floor help with the head count)

import torch


def alibi_slopes(num_heads: int) -> torch.Tensor:
    """Return the (num_heads,) float32 slopes; see the module docstring for the contract."""
    # TODO: raise ValueError when num_heads < 1
    # TODO: slopes of a power of two n: 2^(-8 (h + 1) / n) for h = 0 .. n - 1
    # TODO: otherwise the slopes of n' = 2^floor(log2(num_heads)), then slopes(2n')[0::2][:num_heads - n']
    raise NotImplementedError("write alibi_slopes")


def alibi_bias(num_heads: int, length: int) -> torch.Tensor:
    """Return the (num_heads, length, length) float32 causal bias; see the module docstring."""
    # TODO: raise ValueError when length < 0
    # TODO: distance i - j between query i (rows) and key j (columns)        -> (L, L)
    # TODO: bias = -slope_h * distance for every head                         -> (H, L, L)
    # TODO: -inf where j > i
    raise NotImplementedError("write alibi_bias")
