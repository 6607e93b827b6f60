"""Sinusoidal positional encodings, as in "Attention Is All You Need" (Vaswani et al., 2017)."""

from __future__ import annotations

import torch


def sinusoidal_positions(length: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    """The (length, d_model) table PE[p, 2i] = sin(p·ω_i), PE[p, 2i+1] = cos(p·ω_i), ω_i = base^(-2i/d_model).

    Each (sin, cos) column pair is a clock with its own frequency, from one radian per position
    (i = 0) down to nearly 1/base, so nearby positions differ in the fast pairs and distant ones
    in the slow pairs. Computed in float64, returned as float32 (the dtype it is added to).
    """
    if d_model % 2 != 0:
        raise ValueError(f"d_model must be even (the columns come in sin/cos pairs), got {d_model}")
    pos = torch.arange(length, dtype=torch.float64).unsqueeze(1)  # (L, 1): positions 0 .. L-1
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (d/2,): 0, 2, 4, ..., d-2
    inv_freq = 1.0 / base ** (two_i / d_model)  # (d/2,): ω_i, from 1 down towards 1/base
    angles = pos * inv_freq  # (L, d/2)
    pe = torch.empty(length, d_model, dtype=torch.float64)  # (L, d)
    pe[:, 0::2] = torch.sin(angles)  # even columns 2i
    pe[:, 1::2] = torch.cos(angles)  # odd columns 2i+1: the same frequency as the column before
    return pe.float()
