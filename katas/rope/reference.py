"""Rotary position embeddings (RoPE, Su et al., 2021), with the half-split pairing of GPT-NeoX and Llama."""

from __future__ import annotations

import torch


def apply_rope(x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Rotate each pair (x[..., i], x[..., i + d/2]) by the angle positions · θ_i, θ_i = base^(-2i/d).

    Applied to queries and keys, the rotations make q·k depend only on the offset between the two
    positions. positions are absolute, so a decode step passes tensor([t]), not arange(1). The
    angles grow to thousands of radians, so they are computed in float32 or better, never in bf16.
    """
    d = x.size(-1)
    if d % 2 != 0:
        raise ValueError(f"the last dim of x must be even (pairs are rotated), got {d}")
    half = d // 2
    compute = torch.promote_types(x.dtype, torch.float32)  # float32 or better: angles need the bits
    two_i = torch.arange(0, d, 2, device=x.device, dtype=compute)  # (d/2,): 0, 2, ..., d-2
    theta = base ** (-two_i / d)  # (d/2,): θ_i, from 1 down towards 1/base
    angles = positions.to(compute)[:, None] * theta[None, :]  # (L, d/2)
    cos, sin = angles.cos(), angles.sin()  # (L, d/2) each, broadcast over the leading dims
    x1, x2 = x[..., :half].to(compute), x[..., half:].to(compute)  # (..., L, d/2): pair i is (x1[i], x2[i])
    out = torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)  # (..., L, d)
    return out.to(x.dtype)
