"""FlashAttention's forward pass on the CPU: exact attention without the Lq × Lk matrix."""

from __future__ import annotations

import math

import torch


def flash_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool = False,
    block_q: int = 64,
    block_k: int = 64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q kᵀ / √d) v and the logsumexp of each query's scores, one tile at a time.

    For each block of queries we sweep the key/value blocks once, keeping per query a running
    max m, a running sum l of exp(score - m) and an accumulator acc of exp(score - m) @ v. When
    a new block raises the max, everything summed so far was measured against the old max, so
    l and acc are multiplied by exp(m_old - m_new) first. Memory: one (block_q, block_k) tile.
    """
    if block_q < 1 or block_k < 1:
        raise ValueError(f"block sizes must be at least 1, got block_q={block_q}, block_k={block_k}")
    Lq, Lk, d = q.size(-2), k.size(-2), q.size(-1)
    if causal and Lq != Lk:
        raise ValueError(f"causal attention needs Lq == Lk, got Lq={Lq}, Lk={Lk}")
    scale = 1.0 / math.sqrt(d)
    work = torch.promote_types(q.dtype, torch.float32)  # float32 accumulators for bf16/fp16 inputs
    out = torch.empty_like(q)  # (B, H, Lq, d): written one query tile at a time
    lse = torch.empty(q.shape[:-1], dtype=q.dtype, device=q.device)  # (B, H, Lq)
    for i0 in range(0, Lq, block_q):
        qi = q[..., i0 : i0 + block_q, :].to(work) * scale  # (B, H, bq, d), scaled once here
        bq = qi.size(-2)
        m = torch.full(qi.shape[:-1], float("-inf"), dtype=work, device=q.device)  # (B, H, bq)
        l = torch.zeros_like(m)  # (B, H, bq): sum of exp(score - m) so far
        acc = torch.zeros(*qi.shape[:-1], v.size(-1), dtype=work, device=q.device)  # (B, H, bq, d)
        # causal: keys after this block's last query are masked for all of its rows, skip them
        end = min(Lk, i0 + bq) if causal else Lk
        for j0 in range(0, end, block_k):
            kj = k[..., j0 : j0 + block_k, :].to(work)  # (B, H, bk, d)
            vj = v[..., j0 : j0 + block_k, :].to(work)  # (B, H, bk, d)
            s = qi @ kj.transpose(-2, -1)  # (B, H, bq, bk)
            if causal and j0 + kj.size(-2) - 1 > i0:  # the tile crosses the diagonal: mask j > i
                i = torch.arange(i0, i0 + bq, device=q.device).view(bq, 1)  # (bq, 1) query positions
                j = torch.arange(j0, j0 + kj.size(-2), device=q.device).view(1, -1)  # (1, bk) key positions
                s = s.masked_fill(j > i, float("-inf"))
            m_new = torch.maximum(m, s.amax(dim=-1))  # (B, H, bq); finite: key 0 is always seen first
            alpha = torch.exp(m - m_new)  # (B, H, bq): 0 on the first tile (m = -inf)
            p = torch.exp(s - m_new.unsqueeze(-1))  # (B, H, bq, bk)
            l = l * alpha + p.sum(dim=-1)
            acc = acc * alpha.unsqueeze(-1) + p @ vj
            m = m_new
        out[..., i0 : i0 + bq, :] = acc / l.unsqueeze(-1)  # divide by the softmax's denominator once
        lse[..., i0 : i0 + bq] = m + torch.log(l)  # log Σ exp(score) = m + log Σ exp(score - m)
    return out, lse
