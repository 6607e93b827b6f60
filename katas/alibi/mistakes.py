"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "power_of_two_formula_everywhere",
        "title": "the power-of-two formula 2^(-8 (h + 1) / n) used for every head count",
        "title_zh": "对所有头数都套用 2 的幂的公式 2^(-8 (h + 1) / n)",
        "fix": "Only powers of two use the formula directly; otherwise take the slopes of n' = 2^floor(log2 n) heads, then slopes(2n')[0::2][:n - n'].",
        "fix_zh": "只有 2 的幂才能直接用该公式；其他头数先取 n' = 2^floor(log2 n) 个头的斜率，再接上 slopes(2n')[0::2][:n - n']。",
        "patch": [("n = 2 ** math.floor(math.log2(num_heads))", "n = num_heads")],
    },
    {
        "name": "positive_bias",
        "title": "positive bias +slope · (i - j): distant keys are rewarded instead of penalised",
        "title_zh": "偏置为正 +slope · (i - j)：远处的 key 被奖励而不是被惩罚",
        "fix": "The bias is a penalty: bias[h, i, j] = -slope_h * (i - j), never positive.",
        "fix_zh": "偏置是惩罚：bias[h, i, j] = -slope_h * (i - j)，绝不为正。",
        "patch": [("bias = -slopes.view(-1, 1, 1) * distance", "bias = slopes.view(-1, 1, 1) * distance")],
    },
    {
        "name": "symmetric_distance",
        "title": "symmetric bias -slope · |i - j| everywhere (future keys get a finite bias instead of -inf)",
        "title_zh": "对称偏置 -slope · |i - j| 覆盖所有位置（未来的 key 得到有限偏置，而不是 -inf）",
        "fix": "This is the causal bias: -slope_h * (i - j) for j <= i, and float('-inf') for j > i.",
        "fix_zh": "这里是因果偏置：j <= i 时为 -slope_h * (i - j)，j > i 时为 float('-inf')。",
        "patch": [
            ("distance = (i - j).float()", "distance = (i - j).abs().float()"),
            ('bias = bias.masked_fill(j > i, float("-inf"))', "bias = bias"),
        ],
    },
    {
        "name": "slopes_reversed",
        "title": "slopes reversed (head 0 gets the smallest slope)",
        "title_zh": "斜率顺序反了（第 0 个头得到最小的斜率）",
        "fix": "Head 0 gets the largest slope 2^(-8/n); the slopes then shrink: 2^(-8 (h + 1) / n) for h = 0, 1, ...",
        "fix_zh": "第 0 个头得到最大的斜率 2^(-8/n)，之后逐个变小：h = 0, 1, ... 时为 2^(-8 (h + 1) / n)。",
        "patch": [("return torch.tensor(slopes, dtype=torch.float32)", "return torch.tensor(slopes[::-1], dtype=torch.float32)")],
    },
    {
        "name": "future_not_masked",
        "title": "no -inf above the diagonal: future keys get -slope · (i - j) > 0",
        "title_zh": "对角线上方没有 -inf：未来的 key 得到 -slope · (i - j) > 0",
        "fix": "Mask the future: bias.masked_fill(j > i, float('-inf')).",
        "fix_zh": "屏蔽未来：bias.masked_fill(j > i, float('-inf'))。",
        "patch": [('bias = bias.masked_fill(j > i, float("-inf"))', "bias = bias")],
    },
    {
        "name": "exponent_off_by_one",
        "title": "slopes 2^(-8 h / n) from h = 0 (head 0 gets slope 1)",
        "title_zh": "斜率写成从 h = 0 开始的 2^(-8 h / n)（第 0 个头的斜率为 1）",
        "fix": "The exponent counts from 1: slope_h = 2^(-8 (h + 1) / n), so the first slope is 2^(-8/n) and the last 2^(-8).",
        "fix_zh": "指数从 1 开始计数：slope_h = 2^(-8 (h + 1) / n)，因此第一个斜率是 2^(-8/n)，最后一个是 2^(-8)。",
        "patch": [("2 ** (-8 * (h + 1) / n)", "2 ** (-8 * h / n)")],
    },
    {
        "name": "odd_indices",
        "title": "the extra heads take slopes(2n')[1::2] (odd indices: they repeat the first slopes)",
        "title_zh": "多出的头取了 slopes(2n')[1::2]（奇数下标：与前面的斜率重复）",
        "fix": "Take the EVEN indices, slopes(2n')[0::2]: the odd ones equal the slopes of n' heads you already have.",
        "fix_zh": "取偶数下标 slopes(2n')[0::2]：奇数下标的那些正好等于已经有的 n' 个头的斜率。",
        "patch": [("[0::2]", "[1::2]")],
    },
    {
        "name": "eight_head_slopes",
        "title": "the 8-head slopes 1/2, 1/4, 1/8, ... used for every head count",
        "title_zh": "对所有头数都用 8 个头的斜率 1/2, 1/4, 1/8, ...",
        "fix": "The ratio depends on the head count: slope_h = 2^(-8 (h + 1) / n), from 2^(-8/n) down to 2^(-8).",
        "fix_zh": "公比取决于头数：slope_h = 2^(-8 (h + 1) / n)，从 2^(-8/n) 一直到 2^(-8)。",
        "patch": [("2 ** (-8 * (h + 1) / n)", "2 ** -(h + 1)")],
    },
]


def _slopes_power_of_two(mod: Any, ref: Any) -> Any:
    return tuple(mod.alibi_slopes(n) for n in (1, 2, 4, 16))


def _slopes_other(mod: Any, ref: Any) -> Any:
    return tuple(mod.alibi_slopes(n) for n in (3, 6, 12))


def _bias_two_heads(mod: Any, ref: Any) -> Any:
    return mod.alibi_bias(2, 4)


def _bias_three_heads(mod: Any, ref: Any) -> Any:
    return mod.alibi_bias(3, 3)


PROBES = {
    "slopes_power_of_two": _slopes_power_of_two,
    "slopes_other": _slopes_other,
    "bias_two_heads": _bias_two_heads,
    "bias_three_heads": _bias_three_heads,
}
