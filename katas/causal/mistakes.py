"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "diagonal_excluded",
        "title": "diagonal excluded (query i cannot see key i)",
        "title_zh": "排除了对角线（查询 i 看不到键 i）",
        "fix": "Use tril() (diagonal=0), not tril(-1): a position attends to itself and the past, j <= i.",
        "fix_zh": "使用 tril()（diagonal=0），而不是 tril(-1)：每个位置关注自身和过去，即 j <= i。",
        "patch": [(".tril()  # (L, L)", ".tril(-1)  # (L, L)")],
    },
    {
        "name": "mask_transposed",
        "title": "causal mask transposed (anti-causal: attends to the future, not the past)",
        "title_zh": "因果掩码被转置（反因果：关注的是未来而不是过去）",
        "fix": "Rows are queries, columns keys: keep the lower triangle, torch.ones(L, L).tril(), True where j <= i.",
        "fix_zh": "行是查询，列是键：保留下三角，torch.ones(L, L).tril()，在 j <= i 处为 True。",
        "patch": [(".tril()  # (L, L)", ".triu()  # (L, L)")],
    },
    {
        "name": "padding_on_queries",
        "title": "key-padding mask applied to the queries (rows) instead of the keys (columns)",
        "title_zh": "键填充掩码作用在了查询（行）上，而不是键（列）上",
        "fix": "Broadcast the (B, L) mask over the keys axis: key_padding_mask[:, None, None, :] -> (B, 1, 1, L).",
        "fix_zh": "将 (B, L) 掩码沿键所在的轴广播：key_padding_mask[:, None, None, :] -> (B, 1, 1, L)。",
        "patch": [("key_padding_mask[:, None, None, :]", "key_padding_mask[:, None, :, None]")],
    },
    {
        "name": "mask_after_softmax",
        "title": "mask applied after the softmax (rows no longer sum to 1, the future still leaks)",
        "title_zh": "在 softmax 之后才施加掩码（各行之和不再为 1，未来的信息仍会泄漏）",
        "fix": "Fill the scores with -inf where the mask is False BEFORE the softmax, so the allowed keys share all the weight.",
        "fix_zh": "在 softmax 之前，把掩码为 False 处的分数填充为 -inf，使允许的键分享全部权重。",
        "patch": [('scores = scores.masked_fill(~mask, float("-inf"))', "pass")],
    },
    {
        "name": "nan_on_left_padded_rows",
        "title": "NaN on left-padded rows (a query with no allowed key)",
        "title_zh": "左填充的行出现 NaN（查询没有任何可关注的键）",
        "fix": "After the softmax, zero the masked weights: weights.masked_fill(~mask, 0.0) turns 0/0 rows into zeros.",
        "fix_zh": "在 softmax 之后把被屏蔽的权重置零：weights.masked_fill(~mask, 0.0) 会把 0/0 的行变为全零。",
        "patch": [("weights = weights.masked_fill(~mask, 0.0)", "pass")],
    },
    {
        "name": "large_negative_not_zeroed",
        "title": "rows with no allowed key attend uniformly to every key (-1e9 fill, never zeroed)",
        "title_zh": "没有可关注键的行对所有键均匀关注（用 -1e9 填充，之后也没有置零）",
        "fix": "A query with no allowed key must get zero weights: zero the masked weights after the softmax.",
        "fix_zh": "没有可关注键的查询必须得到全零权重：在 softmax 之后把被屏蔽的权重置零。",
        "patch": [
            ('scores.masked_fill(~mask, float("-inf"))', "scores.masked_fill(~mask, -1e9)"),
            ("weights = weights.masked_fill(~mask, 0.0)", "pass"),
        ],
    },
    {
        "name": "padding_ignored",
        "title": "key-padding mask ignored",
        "title_zh": "忽略了键填充掩码",
        "fix": "Combine it with the causal mask: mask & key_padding_mask[:, None, None, :] (True = real key).",
        "fix_zh": "把它与因果掩码组合：mask & key_padding_mask[:, None, None, :]（True = 真实的键）。",
        "patch": [("mask = mask & key_padding_mask[:, None, None, :]", "pass")],
    },
    {
        "name": "no_scaling",
        "title": "no 1/√d scaling",
        "title_zh": "没有 1/√d 缩放",
        "fix": "Divide the scores by math.sqrt(d), with d = q.size(-1), before the softmax.",
        "fix_zh": "在 softmax 之前把分数除以 math.sqrt(d)，其中 d = q.size(-1)。",
        "patch": [("q @ k.transpose(-2, -1) / math.sqrt(d)", "q @ k.transpose(-2, -1)")],
    },
]


def _inputs(b: int, length: int, d: int, seed: int) -> Any:
    import torch

    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(b, 2, length, d, generator=g, dtype=torch.float64) for _ in range(3))


def _plain(mod: Any, ref: Any) -> Any:
    return mod.causal_attention(*_inputs(2, 5, 4, 1))


def _right_padded(mod: Any, ref: Any) -> Any:
    import torch

    pad = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]], dtype=torch.bool)
    return mod.causal_attention(*_inputs(2, 5, 4, 2), pad)


def _left_padded(mod: Any, ref: Any) -> Any:
    import torch

    pad = torch.tensor([[0, 1, 1, 1, 1], [0, 0, 1, 1, 1]], dtype=torch.bool)
    return mod.causal_attention(*_inputs(2, 5, 4, 3), pad)


PROBES = {"plain": _plain, "right_padded": _right_padded, "left_padded": _left_padded}
