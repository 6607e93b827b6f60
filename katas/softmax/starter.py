"""Kata: a numerically stable softmax and log-softmax.

Write `softmax(x, dim=-1)` and `log_softmax(x, dim=-1)`.

Contract (the hidden suite checks every line):
- x: a floating-point tensor with at least one dimension; dim: any valid dimension, negative
  or positive (dim=0 of a (B, L, V) tensor normalises over the batch). The result has x's shape
  and dtype (float32, float64, bfloat16).
- softmax(x, dim)[i] = exp(x_i) / Σ_j exp(x_j) along dim: every slice along dim is ≥ 0 and
  sums to 1. log_softmax(x, dim) = x - log Σ_j exp(x_j), i.e. log(softmax(x, dim)), computed
  without ever taking the log of an underflowed 0.
- Stable: float32 and float64 inputs up to ±1e4 (rows with very different scales in the same
  tensor included) give no inf and no NaN. Subtract the maximum of each slice along dim before
  exp (the result does not change: softmax(x + c) = softmax(x)).
- log_softmax is finite wherever x is finite: log_softmax([0, -1e4]) = [0, -1e4], not
  [0, -inf].
- An entry of -inf gets probability exactly 0 (log-probability -inf). A slice that is all -inf
  gives all zeros from softmax and all -inf from log_softmax — never NaN.
- A slice of length 1 gives 1 (log 0); a tensor with no slices (a size-0 dimension other than
  dim) gives an empty result of the same shape.
- Differentiable: gradients w.r.t. x equal the reference's (finite inputs).
- Do not call torch's softmax, log_softmax or logsumexp in any spelling (torch.softmax,
  torch.nn.functional.softmax, torch.special.softmax, x.softmax(...), torch.nn.Softmax, the same
  for log_softmax and logsumexp, torch.special.logsumexp, torch.nn.LogSoftmax): torch.exp,
  torch.log, sum and amax/max are yours to use.

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

import torch


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Probabilities along dim; see the module docstring for the contract."""
    # TODO: subtract the maximum along dim (keepdim=True); a slice of all -inf must not give NaN
    # TODO: exponentiate, then divide by the sum along dim (keepdim=True)
    raise NotImplementedError("write softmax")


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Log-probabilities along dim; see the module docstring for the contract."""
    # TODO: (x - max) - log(sum(exp(x - max))), never log(softmax(x))
    raise NotImplementedError("write log_softmax")
