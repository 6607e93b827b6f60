"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (the torch-free parent reads it with ast.literal_eval). Each
patch is a list of (old, new) replacements; every `old` occurs exactly once in reference.py.
PROBES run `probe(module, reference)` on fixed float64 inputs; the diagnosis names the mistake whose probe outputs
match the learner's wherever the learner differs from the reference. A mistake whose output is
right but whose algorithm breaks a resource bound (the naive one) adds `"check": "bound_NAME"`:
when every probe agrees with the reference, the mistakes whose check failed are named. Probe
outputs are compared with rtol 1e-5, atol 1e-7; a kata may set PROBE_TOLERANCE = (rtol, atol).
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "no_scaling",
        "title": "no 1/√d_k scaling",
        "title_zh": "没有 1/√d_k 缩放",
        "fix": "Divide the scores by math.sqrt(d_k), with d_k = q.size(-1), before the softmax.",
        "fix_zh": "在 softmax 之前把分数除以 math.sqrt(d_k)，其中 d_k = q.size(-1)。",
        "patch": [("q @ k.transpose(-2, -1) / math.sqrt(d_k)", "q @ k.transpose(-2, -1)")],
    },
    {
        "name": "scaled_by_d_k",
        "title": "scores divided by d_k instead of √d_k",
        "title_zh": "分数除以了 d_k 而不是 √d_k",
        "fix": "Divide by math.sqrt(d_k), not by d_k.",
        "fix_zh": "应除以 math.sqrt(d_k)，而不是 d_k。",
        "patch": [("/ math.sqrt(d_k)", "/ d_k")],
    },
    {
        "name": "softmax_wrong_axis",
        "title": "softmax over the queries (dim=-2) instead of the keys",
        "title_zh": "softmax 在查询维度（dim=-2）上计算，而不是在键维度上",
        "fix": "Use torch.softmax(scores, dim=-1): each query's weights over the keys must sum to 1.",
        "fix_zh": "使用 torch.softmax(scores, dim=-1)：每个查询在所有键上的权重之和必须为 1。",
        "patch": [("torch.softmax(scores, dim=-1)", "torch.softmax(scores, dim=-2)")],
    },
    {
        "name": "mask_inverted",
        "title": "mask inverted (True treated as 'masked out')",
        "title_zh": "掩码取反了（把 True 当成“被屏蔽”）",
        "fix": "True means 'may attend': fill with -inf where the mask is False, i.e. masked_fill(~mask, ...).",
        "fix_zh": "True 表示“可以关注”：在掩码为 False 的位置填充 -inf，即 masked_fill(~mask, ...)。",
        "patch": [
            ('scores.masked_fill(~mask, float("-inf"))', 'scores.masked_fill(mask, float("-inf"))'),
            ("weights.masked_fill(~mask, 0.0)", "weights.masked_fill(mask, 0.0)"),
        ],
    },
    {
        "name": "mask_ignored",
        "title": "mask ignored",
        "title_zh": "忽略了掩码",
        "fix": "Apply the mask to the scores before the softmax: scores.masked_fill(~mask, float('-inf')).",
        "fix_zh": "在 softmax 之前对分数施加掩码：scores.masked_fill(~mask, float('-inf'))。",
        "patch": [
            ('scores = scores.masked_fill(~mask, float("-inf"))', "pass"),
            ("weights = weights.masked_fill(~mask, 0.0)", "pass"),
        ],
    },
    {
        "name": "nan_on_fully_masked_rows",
        "title": "NaN on fully masked rows",
        "title_zh": "完全被屏蔽的行出现 NaN",
        "fix": "After the softmax, zero the masked weights: weights.masked_fill(~mask, 0.0) turns 0/0 rows into zeros.",
        "fix_zh": "在 softmax 之后把被屏蔽的权重置零：weights.masked_fill(~mask, 0.0) 会把 0/0 的行变为全零。",
        "patch": [("weights = weights.masked_fill(~mask, 0.0)", "pass")],
    },
    {
        "name": "large_negative_not_zeroed",
        "title": "fully masked rows get uniform weights (-1e9 fill, never zeroed)",
        "title_zh": "完全被屏蔽的行得到均匀权重（用 -1e9 填充，之后也没有置零）",
        "fix": "A query that may attend to nothing must get zero weights: zero them after the softmax.",
        "fix_zh": "无法关注任何键的查询必须得到全零权重：在 softmax 之后把这些权重置零。",
        "patch": [
            ('scores.masked_fill(~mask, float("-inf"))', "scores.masked_fill(~mask, -1e9)"),
            ("weights = weights.masked_fill(~mask, 0.0)", "pass"),
        ],
    },
    {
        "name": "pre_softmax_weights",
        "title": "returns the pre-softmax scores as the weights",
        "title_zh": "把 softmax 之前的分数当作权重返回",
        "fix": "Return the softmax probabilities (the ones you multiply v by), not the raw scores.",
        "fix_zh": "返回 softmax 之后的概率（即与 v 相乘的那些权重），而不是原始分数。",
        "patch": [("return output, weights", "return output, scores")],
    },
    {
        "name": "keys_values_swapped",
        "title": "keys and values swapped",
        "title_zh": "键和值弄反了",
        "fix": "Scores come from q and k (q @ kᵀ); the output mixes v (weights @ v).",
        "fix_zh": "分数由 q 和 k 计算（q @ kᵀ）；输出是对 v 的加权组合（weights @ v）。",
        "patch": [
            ("q @ k.transpose(-2, -1) / math.sqrt(d_k)", "q @ v.transpose(-2, -1) / math.sqrt(d_k)"),
            ("output = weights @ v", "output = weights @ k"),
        ],
    },
]


def _inputs(lq: int, lk: int, d_k: int, d_v: int, seed: int) -> Any:
    import torch

    g = torch.Generator().manual_seed(seed)
    q = torch.randn(2, lq, d_k, generator=g, dtype=torch.float64)
    k = torch.randn(2, lk, d_k, generator=g, dtype=torch.float64)
    v = torch.randn(2, lk, d_v, generator=g, dtype=torch.float64)
    return q, k, v


def _plain(mod: Any, ref: Any) -> Any:
    return mod.scaled_dot_product_attention(*_inputs(4, 5, 8, 8, 1))


def _wide_values(mod: Any, ref: Any) -> Any:
    return mod.scaled_dot_product_attention(*_inputs(3, 5, 8, 6, 2))


def _masked(mod: Any, ref: Any) -> Any:
    import torch

    q, k, v = _inputs(4, 5, 8, 8, 3)
    mask = torch.tensor(
        [[1, 1, 0, 0, 0], [1, 0, 1, 1, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 0]], dtype=torch.bool
    )
    return mod.scaled_dot_product_attention(q, k, v, mask)


PROBES = {"plain": _plain, "wide_values": _wide_values, "masked": _masked}
