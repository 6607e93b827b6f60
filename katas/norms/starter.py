"""Kata: LayerNorm and RMSNorm.

Write `class LayerNorm(nn.Module)` and `class RMSNorm(nn.Module)`.

Contract (the hidden suite checks every line):
- `LayerNorm(d, eps=1e-5)` has exactly two parameters, `weight` (d,) initialised to ones and
  `bias` (d,) initialised to zeros (the suite loads weights by these names).
  forward(x): x is (..., d) with any number of leading dims; returns the same shape:
      mean = mean of x over the last dim
      var  = mean of (x - mean)² over the last dim   (biased: divide by d, not d - 1)
      y    = (x - mean) / sqrt(var + eps) * weight + bias   (eps INSIDE the square root)
  With the same weights it equals torch.nn.LayerNorm(d, eps=eps).
- `RMSNorm(d, eps=1e-6)` has exactly one parameter, `weight` (d,) initialised to ones; no bias.
  forward(x): x is (..., d); returns the same shape:
      y = x / sqrt(mean of x² over the last dim + eps) * weight   (no mean subtracted)
  With the same weights it equals torch.nn.RMSNorm(d, eps=eps).
- Statistics are per vector: over the last dim only, never over the batch or the sequence.
- Edge cases: a vector whose entries are (nearly) equal has variance (nearly) 0; eps keeps the
  result finite (LayerNorm returns about `bias` there, a zero vector gives 0 from RMSNorm).
  d = 1 is allowed (LayerNorm then returns `bias`). eps is used as given, eps=0.0 included.
- The dtype of x is kept when the module has that dtype (float32, float64, bfloat16, via
  `.to(dtype)`); gradients flow to x, `weight` and `bias` and equal the reference's.
- Do not call torch's normalisations (torch.nn.functional.layer_norm, torch.layer_norm,
  torch.nn.LayerNorm, torch.nn.functional.rms_norm, torch.rms_norm, torch.nn.RMSNorm):
  mean, pow, sqrt / rsqrt are yours to use.

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

import torch
from torch import nn


class LayerNorm(nn.Module):
    def __init__(self, d: int, eps: float = 1e-5) -> None:
        super().__init__()
        # TODO: keep eps; self.weight = nn.Parameter(ones(d)), self.bias = nn.Parameter(zeros(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TODO: mean and biased variance over the last dim (keepdim=True)
        # TODO: (x - mean) / sqrt(var + eps), then * weight + bias   -> (..., d)
        raise NotImplementedError("write LayerNorm.forward")


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float = 1e-6) -> None:
        super().__init__()
        # TODO: keep eps; self.weight = nn.Parameter(ones(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TODO: x / sqrt(mean(x²) over the last dim + eps) * weight   -> (..., d)
        raise NotImplementedError("write RMSNorm.forward")
