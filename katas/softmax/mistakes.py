"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "no_max_subtraction",
        "title": "no max subtraction: exp overflows to inf (inf / inf = NaN) for large logits",
        "title_zh": "没有减去最大值：logits 很大时 exp 溢出为 inf（inf / inf = NaN）",
        "fix": "Subtract the row maximum before exp: z = x - x.amax(dim=dim, keepdim=True); the result is unchanged and exp(z) <= 1.",
        "fix_zh": "在 exp 之前减去每行的最大值：z = x - x.amax(dim=dim, keepdim=True)；结果不变，且 exp(z) <= 1。",
        "patch": [("    return x - m\n", "    return x\n")],
    },
    {
        "name": "global_max_subtraction",
        "title": "subtracts the maximum of the whole tensor, not of each row (rows far below it underflow to 0 / 0)",
        "title_zh": "减去的是整个张量的最大值，而不是每一行的最大值（远低于该值的行会下溢为 0 / 0）",
        "fix": "Take the maximum along dim with keepdim=True, one per row: x.amax(dim=dim, keepdim=True).",
        "fix_zh": "沿 dim 取最大值并设置 keepdim=True，每行一个：x.amax(dim=dim, keepdim=True)。",
        "patch": [("m = x.amax(dim=dim, keepdim=True)", "m = x.amax()")],
    },
    {
        "name": "dim_ignored",
        "title": "wrong dim: always normalises over the last dimension, whatever dim says",
        "title_zh": "dim 用错：无论 dim 是多少，总是在最后一维上归一化",
        "fix": "Use the dim argument in every reduction: amax(dim=dim, keepdim=True) and sum(dim=dim, keepdim=True).",
        "fix_zh": "每次归约都使用 dim 参数：amax(dim=dim, keepdim=True) 和 sum(dim=dim, keepdim=True)。",
        "patch": [
            ("e = torch.exp(_shifted(x, dim))", "e = torch.exp(_shifted(x, -1))"),
            ("s = e.sum(dim=dim, keepdim=True)", "s = e.sum(dim=-1, keepdim=True)"),
            ("z = _shifted(x, dim)", "z = _shifted(x, -1)"),
            ("s = torch.exp(z).sum(dim=dim, keepdim=True)", "s = torch.exp(z).sum(dim=-1, keepdim=True)"),
        ],
    },
    {
        "name": "sum_without_keepdim",
        "title": "softmax sums without keepdim=True: the sums broadcast along the wrong axis (square inputs run, and are wrong)",
        "title_zh": "softmax 求和时没有 keepdim=True：求和结果沿错误的轴广播（方阵输入能运行，但结果是错的）",
        "fix": "Keep the reduced dimension: e.sum(dim=dim, keepdim=True), so each row is divided by its own sum.",
        "fix_zh": "保留被归约的维度：e.sum(dim=dim, keepdim=True)，使每一行除以它自己的和。",
        "patch": [("s = e.sum(dim=dim, keepdim=True)", "s = e.sum(dim=dim)")],
    },
    {
        "name": "log_of_softmax",
        "title": "log_softmax as log(softmax(x)): -inf where a probability underflows (log_softmax([0, -1e4]) must be [0, -1e4])",
        "title_zh": "用 log(softmax(x)) 实现 log_softmax：概率下溢处得到 -inf（log_softmax([0, -1e4]) 应为 [0, -1e4]）",
        "fix": "Stay in log space: (x - m) - torch.log(torch.exp(x - m).sum(dim=dim, keepdim=True)), with m the row maximum.",
        "fix_zh": "保持在对数空间中计算：(x - m) - torch.log(torch.exp(x - m).sum(dim=dim, keepdim=True))，其中 m 为每行的最大值。",
        "patch": [
            ("return z - torch.log(s.masked_fill(s == 0, 1.0))", "return torch.log(softmax(x, dim))"),
        ],
    },
    {
        "name": "log_softmax_max_not_subtracted",
        "title": "log_softmax returns x - log(sum(exp(x - m))): off by the row maximum m",
        "title_zh": "log_softmax 返回 x - log(sum(exp(x - m)))：差了一个行最大值 m",
        "fix": "logsumexp(x) = m + log(sum(exp(x - m))): return (x - m) - log(sum(exp(x - m))), not x - log(...).",
        "fix_zh": "logsumexp(x) = m + log(sum(exp(x - m)))：应返回 (x - m) - log(sum(exp(x - m)))，而不是 x - log(...)。",
        "patch": [("return z - torch.log(", "return x - torch.log(")],
    },
    {
        "name": "nan_on_all_neg_inf_row",
        "title": "NaN on a row of all -inf (its maximum is -inf, and -inf - -inf is NaN)",
        "title_zh": "整行全为 -inf 时出现 NaN（其最大值为 -inf，而 -inf - -inf 是 NaN）",
        "fix": "Replace a maximum of -inf by 0 before subtracting it: m = m.masked_fill(m == float('-inf'), 0.0).",
        "fix_zh": "在相减之前把为 -inf 的最大值替换为 0：m = m.masked_fill(m == float('-inf'), 0.0)。",
        "patch": [('m = m.masked_fill(m == float("-inf"), 0.0)', "pass")],
    },
]


def _randn(*shape: int, seed: int, scale: float = 1.0) -> Any:
    import torch

    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale


def _both(mod: Any, x: Any, dim: int) -> Any:
    return mod.softmax(x, dim), mod.log_softmax(x, dim)


def _square(mod: Any, ref: Any) -> Any:
    return _both(mod, _randn(2, 4, 4, seed=1, scale=2.0), -1)


def _dim0(mod: Any, ref: Any) -> Any:
    return _both(mod, _randn(3, 5, seed=2, scale=2.0), 0)


def _large(mod: Any, ref: Any) -> Any:
    import torch

    x = torch.tensor([[1000.0, 999.0, -1000.0], [-1e4, -1e4 + 1.0, -1e4 + 3.0]], dtype=torch.float64)
    return _both(mod, x, -1)


def _neg_inf(mod: Any, ref: Any) -> Any:
    import torch

    inf = float("inf")
    x = torch.tensor([[0.0, -inf, 1.0], [-inf, -inf, -inf], [2.0, 2.5, -inf]], dtype=torch.float64)
    return _both(mod, x, -1)


PROBES = {"square": _square, "dim0": _dim0, "large": _large, "neg_inf": _neg_inf}
