"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
A mistake with "check" shows only in that resource-bound check (its values are right).
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "accumulator_not_rescaled",
        "title": "the accumulator is not rescaled when the running max rises (only the running sum is)",
        "title_zh": "运行最大值变大时没有重新缩放累加器（只缩放了运行和）",
        "fix": "Everything in acc was weighted by exp(score - m_old): multiply it by exp(m_old - m_new) before adding p @ v, exactly like l.",
        "fix_zh": "acc 里已有的内容都是按 exp(score - m_old) 加权的：在加上 p @ v 之前先乘以 exp(m_old - m_new)，与 l 的处理完全相同。",
        "patch": [("acc = acc * alpha.unsqueeze(-1) + p @ vj", "acc = acc + p @ vj")],
    },
    {
        "name": "not_normalised",
        "title": "the final normalisation is missing (output = acc, not acc / l)",
        "title_zh": "缺少最后的归一化（输出为 acc，而不是 acc / l）",
        "fix": "acc holds Σ exp(score - m) v; after the last key block divide it by l = Σ exp(score - m), the softmax's denominator.",
        "fix_zh": "acc 中保存的是 Σ exp(score - m) v；处理完最后一个 key 块之后，要除以 softmax 的分母 l = Σ exp(score - m)。",
        "patch": [("out[..., i0 : i0 + bq, :] = acc / l.unsqueeze(-1)", "out[..., i0 : i0 + bq, :] = acc")],
    },
    {
        "name": "lse_is_running_max",
        "title": "lse returned as the running max m (log l missing)",
        "title_zh": "把运行最大值 m 当作 lse 返回（缺少 log l）",
        "fix": "log Σ exp(s) = m + log Σ exp(s - m): return m + torch.log(l), not m alone.",
        "fix_zh": "log Σ exp(s) = m + log Σ exp(s - m)：应返回 m + torch.log(l)，而不是只返回 m。",
        "patch": [("lse[..., i0 : i0 + bq] = m + torch.log(l)", "lse[..., i0 : i0 + bq] = m")],
    },
    {
        "name": "causal_diagonal_off_by_one",
        "title": "the causal mask in the diagonal tile is off by one (query i also sees key i + 1)",
        "title_zh": "对角线块中的因果掩码差了一位（查询 i 还能看到 key i + 1）",
        "fix": "Use global positions in the tile, i = i0 + row and j = j0 + column, and mask exactly j > i.",
        "fix_zh": "在块内使用全局位置 i = i0 + 行号、j = j0 + 列号，并且恰好掩码 j > i。",
        "patch": [('s = s.masked_fill(j > i, float("-inf"))', 's = s.masked_fill(j > i + 1, float("-inf"))')],
    },
    {
        "name": "scaled_twice",
        "title": "the 1/√d scale applied twice (to q and again to the scores)",
        "title_zh": "1/√d 缩放做了两次（先缩放 q，又缩放了分数）",
        "fix": "Scale once: either q * scale before the tiles or q @ kᵀ * scale inside them, not both.",
        "fix_zh": "只缩放一次：要么在分块之前算 q * scale，要么在块内算 q @ kᵀ * scale，不能两者都做。",
        "patch": [("s = qi @ kj.transpose(-2, -1)  # (B, H, bq, bk)", "s = qi @ kj.transpose(-2, -1) * scale  # (B, H, bq, bk)")],
    },
    {
        "name": "last_partial_block_dropped",
        "title": "the last, shorter key block is skipped when block_k does not divide Lk",
        "title_zh": "当 block_k 不能整除 Lk 时，最后那个较短的 key 块被跳过了",
        "fix": "Step through every start: for j0 in range(0, Lk, block_k), and slice k[..., j0 : j0 + block_k, :] (slicing stops at Lk by itself).",
        "fix_zh": "遍历每一个起点：for j0 in range(0, Lk, block_k)，并取 k[..., j0 : j0 + block_k, :]（切片会自动停在 Lk）。",
        "patch": [("for j0 in range(0, end, block_k):", "for j0 in range(0, end // block_k * block_k, block_k):")],
    },
    {
        "name": "full_score_matrix",
        "title": "the full Lq × Lk score matrix is built (plain softmax attention): right values, memory grows as Lq · Lk",
        "title_zh": "构造了完整的 Lq × Lk 分数矩阵（普通 softmax 注意力）：数值正确，但内存随 Lq · Lk 增长",
        "fix": "Never hold more than one (block_q, block_k) tile of scores: loop over key blocks with a running max, sum and accumulator per query.",
        "fix_zh": "任何时候最多只保留一个 (block_q, block_k) 的分数块：按 key 块循环，为每个查询维护运行最大值、运行和与累加器。",
        "check": "bound_long_sequences",
        "patch": [
            (
                "out = torch.empty_like(q)",
                "s = q.to(work) @ k.to(work).transpose(-2, -1) * scale  # (B, H, Lq, Lk): the whole matrix\n"
                "    if causal:\n"
                '        s = s.masked_fill(torch.ones(Lq, Lk, dtype=torch.bool, device=q.device).triu(1), float("-inf"))\n'
                "    lse = torch.logsumexp(s, dim=-1)  # (B, H, Lq)\n"
                "    return (torch.softmax(s, dim=-1) @ v.to(work)).to(q.dtype), lse.to(q.dtype)\n"
                "    out = torch.empty_like(q)",
            )
        ],
    },
]


def _inputs(lq: int, lk: int, d: int, seed: int) -> Any:
    import torch

    g = torch.Generator().manual_seed(seed)
    q = torch.randn(2, 2, lq, d, generator=g, dtype=torch.float64)
    k = torch.randn(2, 2, lk, d, generator=g, dtype=torch.float64)
    v = torch.randn(2, 2, lk, d, generator=g, dtype=torch.float64)
    return q, k, v


def _plain(mod: Any, ref: Any) -> Any:
    """Non-causal, Lq != Lk, block_k not dividing Lk."""
    return mod.flash_attention(*_inputs(6, 13, 8, 1), block_q=4, block_k=5)


def _rising(mod: Any, ref: Any) -> Any:
    """Row maxima in later key blocks (block_k divides Lk): the running max moves."""
    import torch

    q, k, v = _inputs(5, 12, 8, 2)
    q[..., 0] = 2.0
    k[..., 0] = 0.4 * torch.arange(12, dtype=torch.float64)
    return mod.flash_attention(q, k, v, block_q=2, block_k=4)


def _causal(mod: Any, ref: Any) -> Any:
    """Causal, tiles of two sizes crossing the diagonal."""
    q, k, v = _inputs(10, 10, 8, 3)
    return mod.flash_attention(q, k, v, causal=True, block_q=4, block_k=3)


PROBES = {"plain": _plain, "rising": _rising, "causal": _causal}
