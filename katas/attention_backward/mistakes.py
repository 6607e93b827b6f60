"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
Each probe returns (out, grad_q, grad_k, grad_v) for fixed float64 inputs and upstream gradient:
through h.grad in the worker for the learner, through autograd here for the reference and the
mistake variants.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "softmax_backward_no_row_sum",
        "title": "softmax backward without the row sum (grad_S = P ⊙ grad_P)",
        "title_zh": "softmax 反向传播少了行和（grad_S = P ⊙ grad_P）",
        "fix": "Every weight of a row depends on every score of that row: grad_S = P * (grad_P - (P * grad_P).sum(dim=-1, keepdim=True)).",
        "fix_zh": "同一行的每个权重都依赖这一行的所有分数：grad_S = P * (grad_P - (P * grad_P).sum(dim=-1, keepdim=True))。",
        "patch": [("grad_s = p * (grad_p - row)", "grad_s = p * grad_p")],
    },
    {
        "name": "row_sum_without_p",
        "title": "softmax backward subtracts the plain row sum of grad_P (Σ grad_P instead of Σ P ⊙ grad_P)",
        "title_zh": "softmax 反向传播减去的是 grad_P 的普通行和（Σ grad_P 而不是 Σ P ⊙ grad_P）",
        "fix": "The subtracted term is the P-weighted sum: (P * grad_P).sum(dim=-1, keepdim=True).",
        "fix_zh": "要减去的是以 P 加权的和：(P * grad_P).sum(dim=-1, keepdim=True)。",
        "patch": [("row = (p * grad_p).sum(dim=-1, keepdim=True)", "row = grad_p.sum(dim=-1, keepdim=True)")],
    },
    {
        "name": "row_sum_over_queries",
        "title": "softmax backward sums over the queries (dim=-2) instead of over the keys",
        "title_zh": "softmax 反向传播沿查询维度（dim=-2）求和，而不是沿 key 维度",
        "fix": "The softmax normalises each query's row, so its backward sums over the keys: .sum(dim=-1, keepdim=True).",
        "fix_zh": "softmax 对每个查询的那一行做归一化，所以反向传播沿 key 求和：.sum(dim=-1, keepdim=True)。",
        "patch": [("row = (p * grad_p).sum(dim=-1, keepdim=True)", "row = (p * grad_p).sum(dim=-2, keepdim=True)")],
    },
    {
        "name": "grad_q_unscaled",
        "title": "1/√d missing in grad_q",
        "title_zh": "grad_q 中缺少 1/√d",
        "fix": "The scores are q kᵀ times 1/√d, so grad_q = grad_S @ k * scale.",
        "fix_zh": "分数是 q kᵀ 乘以 1/√d，所以 grad_q = grad_S @ k * scale。",
        "patch": [("grad_q = grad_s @ k * scale", "grad_q = grad_s @ k")],
    },
    {
        "name": "grad_k_unscaled",
        "title": "1/√d missing in grad_k",
        "title_zh": "grad_k 中缺少 1/√d",
        "fix": "The scale multiplies q kᵀ as a whole, so grad_k carries it too: grad_k = grad_S.transpose(-2, -1) @ q * scale.",
        "fix_zh": "缩放系数乘的是整个 q kᵀ，所以 grad_k 里也要有它：grad_k = grad_S.transpose(-2, -1) @ q * scale。",
        "patch": [("grad_k = grad_s.transpose(-2, -1) @ q * scale", "grad_k = grad_s.transpose(-2, -1) @ q")],
    },
    {
        "name": "grad_v_not_transposed",
        "title": "grad_v = P grad_out (P not transposed)",
        "title_zh": "grad_v = P grad_out（P 没有转置）",
        "fix": "Value j is used by every query i with weight P_ij, so grad_v = P.transpose(-2, -1) @ grad_out.",
        "fix_zh": "value j 被每个查询 i 以权重 P_ij 使用，所以 grad_v = P.transpose(-2, -1) @ grad_out。",
        "patch": [("grad_v = p.transpose(-2, -1) @ grad_out", "grad_v = p @ grad_out")],
    },
    {
        "name": "grad_k_not_transposed",
        "title": "grad_k from grad_S instead of grad_Sᵀ (grad_k = grad_S q)",
        "title_zh": "grad_k 用的是 grad_S 而不是 grad_Sᵀ（grad_k = grad_S q）",
        "fix": "Key j collects from every query i through S_ij: grad_k = grad_S.transpose(-2, -1) @ q * scale.",
        "fix_zh": "key j 通过 S_ij 从每个查询 i 汇集梯度：grad_k = grad_S.transpose(-2, -1) @ q * scale。",
        "patch": [("grad_k = grad_s.transpose(-2, -1) @ q * scale", "grad_k = grad_s @ q * scale")],
    },
    {
        "name": "softmax_overflows",
        "title": "softmax as exp(S) / Σ exp(S) without subtracting the row max (inf / inf = NaN for large scores)",
        "title_zh": "softmax 写成 exp(S) / Σ exp(S)，没有先减去行最大值（分数很大时 inf / inf = NaN）",
        "fix": "Subtract each row's max before exp (the softmax does not change), or use torch.softmax(scores, dim=-1).",
        "fix_zh": "在 exp 之前先减去每行的最大值（softmax 的结果不变），或者直接用 torch.softmax(scores, dim=-1)。",
        "patch": [("p = torch.softmax(scores, dim=-1)", "p = scores.exp() / scores.exp().sum(dim=-1, keepdim=True)")],
    },
]


def _inputs(shape: tuple[int, ...], seed: int) -> Any:
    import torch

    g = torch.Generator().manual_seed(seed)
    q, k, v, up = (torch.randn(*shape, generator=g, dtype=torch.float64) for _ in range(4))
    return 2.0 * q, k, v, up


def _grads(mod: Any, q: Any, k: Any, v: Any, up: Any) -> Any:
    """(out, grad_q, grad_k, grad_v) of mod.attention for the upstream gradient `up`."""
    import torch
    from attnquiz.grading.proxy import Remote

    if isinstance(mod, Remote):  # the learner's module: gradients are taken in the worker
        from attnquiz.grading.suite import Helpers

        got = Helpers().grad(mod.attention, q, k, v, upstream=up, wrt=(0, 1, 2))
        return (got.output, *got.inputs)
    qq, kk, vv = (t.clone().requires_grad_(True) for t in (q, k, v))
    out = mod.attention(qq, kk, vv)
    return (out, *torch.autograd.grad(out, (qq, kk, vv), up, allow_unused=True))


def _square(mod: Any, ref: Any) -> Any:
    return _grads(mod, *_inputs((4, 3), 1))


def _batched(mod: Any, ref: Any) -> Any:
    return _grads(mod, *_inputs((2, 2, 5, 4), 2))


def _one_token(mod: Any, ref: Any) -> Any:
    return _grads(mod, *_inputs((2, 1, 3), 3))


def _large_scores(mod: Any, ref: Any) -> Any:
    q, k, v, up = _inputs((2, 3, 4), 4)
    return _grads(mod, 1000.0 * q, k, v, up)


PROBES = {"square": _square, "batched": _batched, "one_token": _one_token, "large_scores": _large_scores}
