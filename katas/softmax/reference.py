"""Softmax and log-softmax, written so that no input a transformer produces breaks them."""

from __future__ import annotations

import torch


def _shifted(x: torch.Tensor, dim: int) -> torch.Tensor:
    """x minus its maximum along dim: the largest entry becomes 0, so exp never overflows."""
    m = x.amax(dim=dim, keepdim=True)  # (..., 1, ...) the row maximum
    m = m.masked_fill(m == float("-inf"), 0.0)  # a row of all -inf: -inf - -inf would be NaN
    return x - m


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """exp(x) / sum(exp(x)) along dim; a row of all -inf gives zeros."""
    e = torch.exp(_shifted(x, dim))  # every entry in [0, 1], the maximum exactly 1
    s = e.sum(dim=dim, keepdim=True)  # >= 1, or 0 for a row of all -inf
    return e / s.masked_fill(s == 0, 1.0)  # all -inf row: 0 / 1 = 0, not 0 / 0


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """x - logsumexp(x) along dim, computed as (x - max) - log(sum(exp(x - max)))."""
    z = _shifted(x, dim)
    s = torch.exp(z).sum(dim=dim, keepdim=True)  # >= 1, or 0 for a row of all -inf
    return z - torch.log(s.masked_fill(s == 0, 1.0))  # finite wherever x is; all -inf row stays -inf
