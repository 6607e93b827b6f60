"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "one_key_too_many",
        "title": "one key too many (i - window <= j: window + 1 keys)",
        "title_zh": "多了一个 key（i - window <= j：共 window + 1 个 key）",
        "fix": "The lower edge is strict: j > i - window, so query i sees exactly min(window, i + 1) keys.",
        "fix_zh": "下边界是严格不等式：j > i - window，这样查询 i 恰好看到 min(window, i + 1) 个 key。",
        "patch": [("(j > i - window)", "(j >= i - window)")],
    },
    {
        "name": "one_key_too_few",
        "title": "one key too few (i - window + 1 < j: window - 1 keys, none at all for window = 1)",
        "title_zh": "少了一个 key（i - window + 1 < j：只有 window - 1 个 key，window = 1 时一个都没有）",
        "fix": "The band is i - window < j <= i: window keys, the query's own position included.",
        "fix_zh": "带状区域是 i - window < j <= i：共 window 个 key，包括查询自身的位置。",
        "patch": [("(j > i - window)", "(j > i - window + 1)")],
    },
    {
        "name": "not_causal",
        "title": "symmetric band |i - j| < window (not causal: sees window - 1 future keys)",
        "title_zh": "对称的带 |i - j| < window（不是因果的：会看到 window - 1 个未来的 key）",
        "fix": "Keep the band causal: (j <= i) & (j > i - window).",
        "fix_zh": "保持带状区域是因果的：(j <= i) & (j > i - window)。",
        "patch": [("band = (j <= i) & (j > i - window)", "band = (i - j).abs() < window")],
    },
    {
        "name": "future_not_masked",
        "title": "only the lower edge of the band (j > i - window): every future key is visible",
        "title_zh": "只有带的下边界（j > i - window）：所有未来的 key 都可见",
        "fix": "Add the causal edge: band = (j <= i) & (j > i - window).",
        "fix_zh": "加上因果边界：band = (j <= i) & (j > i - window)。",
        "patch": [("band = (j <= i) & (j > i - window)", "band = j > i - window")],
    },
    {
        "name": "window_after_softmax",
        "title": "window applied after the softmax (causal softmax, then weights outside the window zeroed)",
        "title_zh": "窗口在 softmax 之后才施加（先做因果 softmax，再把窗口外的权重置零）",
        "fix": "Mask the scores outside the band with -inf BEFORE the softmax, so the keys in the window share all the weight.",
        "fix_zh": "在 softmax 之前就用 -inf 掩码带外的分数，让窗口内的 key 分得全部权重。",
        "patch": [
            ('scores = scores.masked_fill(~band, float("-inf"))', 'scores = scores.masked_fill(j > i, float("-inf"))'),
            ("weights = torch.softmax(scores, dim=-1)", "weights = torch.softmax(scores, dim=-1).masked_fill(~band, 0.0)"),
        ],
    },
    {
        "name": "mask_after_softmax",
        "title": "whole mask applied after the softmax (softmax over all keys, then zeroed outside the band)",
        "title_zh": "整个掩码都在 softmax 之后才施加（先对所有 key 做 softmax，再把带外置零）",
        "fix": "Mask the scores outside the band with -inf BEFORE the softmax: rows must sum to 1 and the future must not leak.",
        "fix_zh": "在 softmax 之前就用 -inf 掩码带外的分数：每行之和必须为 1，且不能泄露未来信息。",
        "patch": [
            ('scores = scores.masked_fill(~band, float("-inf"))', "pass"),
            ("weights = torch.softmax(scores, dim=-1)", "weights = torch.softmax(scores, dim=-1).masked_fill(~band, 0.0)"),
        ],
    },
    {
        "name": "window_ignored",
        "title": "window ignored (plain causal attention)",
        "title_zh": "忽略了窗口（退化为普通因果注意力）",
        "fix": "Restrict each query to the last window keys: band = (j <= i) & (j > i - window).",
        "fix_zh": "把每个查询限制在最近的 window 个 key 上：band = (j <= i) & (j > i - window)。",
        "patch": [("band = (j <= i) & (j > i - window)", "band = j <= i")],
    },
    {
        "name": "no_scaling",
        "title": "no 1/√d scaling",
        "title_zh": "没有做 1/√d 缩放",
        "fix": "Divide the scores by math.sqrt(d), with d = q.size(-1), before the softmax.",
        "fix_zh": "在 softmax 之前把分数除以 math.sqrt(d)，其中 d = q.size(-1)。",
        "patch": [("q @ k.transpose(-2, -1) / math.sqrt(d)", "q @ k.transpose(-2, -1)")],
    },
    {
        "name": "no_window_check",
        "title": "window < 1 not rejected (empty band, NaN rows)",
        "title_zh": "没有拒绝 window < 1（带为空，出现 NaN 行）",
        "fix": "Start with: if window < 1: raise ValueError(...).",
        "fix_zh": "一开始就写：if window < 1: raise ValueError(...)。",
        "patch": [("if window < 1:", "if False:")],
    },
]


def _inputs(length: int, d: int, seed: int) -> Any:
    import torch

    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(2, 2, length, d, generator=g, dtype=torch.float64) for _ in range(3))


def _window_three(mod: Any, ref: Any) -> Any:
    return mod.sliding_window_attention(*_inputs(7, 4, 1), 3)


def _window_one(mod: Any, ref: Any) -> Any:
    return mod.sliding_window_attention(*_inputs(4, 4, 2), 1)


def _window_wide(mod: Any, ref: Any) -> Any:
    q, k, v = _inputs(5, 4, 3)
    return (*mod.sliding_window_attention(q, k, v, 5), *mod.sliding_window_attention(q, k, v, 8))


def _window_zero(mod: Any, ref: Any) -> Any:
    return mod.sliding_window_attention(*_inputs(3, 4, 4), 0)


PROBES = {"window_three": _window_three, "window_one": _window_one, "window_wide": _window_wide, "window_zero": _window_zero}
