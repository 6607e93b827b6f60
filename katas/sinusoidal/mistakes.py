"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "exponent_i_over_d",
        "title": "exponent i/d_model with i the pair index (ω_i = base^(-i/d)): the frequencies fall half as fast",
        "title_zh": "指数用了 i/d_model（i 是列对的序号，ω_i = base^(-i/d)）：频率只下降了一半的速度",
        "fix": "The exponent is 2i/d_model: build it from the even column indices, torch.arange(0, d_model, 2) / d_model.",
        "fix_zh": "指数是 2i/d_model：用偶数列的下标来构造，torch.arange(0, d_model, 2) / d_model。",
        "patch": [("two_i = torch.arange(0, d_model, 2, dtype=torch.float64)", "two_i = torch.arange(d_model // 2, dtype=torch.float64)")],
    },
    {
        "name": "sin_cos_swapped",
        "title": "sin and cos swapped (cos in the even columns, sin in the odd ones)",
        "title_zh": "sin 和 cos 放反了（偶数列放了 cos，奇数列放了 sin）",
        "fix": "Even columns get the sine, odd columns the cosine: pe[:, 0::2] = sin(angles), pe[:, 1::2] = cos(angles).",
        "fix_zh": "偶数列放正弦，奇数列放余弦：pe[:, 0::2] = sin(angles)，pe[:, 1::2] = cos(angles)。",
        "patch": [
            ("pe[:, 0::2] = torch.sin(angles)", "pe[:, 0::2] = torch.cos(angles)"),
            ("pe[:, 1::2] = torch.cos(angles)", "pe[:, 1::2] = torch.sin(angles)"),
        ],
    },
    {
        "name": "halves_concatenated",
        "title": "sines and cosines concatenated as halves ([sin…, cos…]) instead of interleaved",
        "title_zh": "把正弦和余弦按两半拼接（[sin…, cos…]），而不是交错排列",
        "fix": "Interleave them: column 2i holds sin(p·ω_i) and column 2i+1 holds cos(p·ω_i), e.g. pe[:, 0::2] and pe[:, 1::2].",
        "fix_zh": "要交错排列：第 2i 列是 sin(p·ω_i)，第 2i+1 列是 cos(p·ω_i)，例如用 pe[:, 0::2] 和 pe[:, 1::2] 赋值。",
        "patch": [
            ("pe[:, 0::2] = torch.sin(angles)", "pe[:, : d_model // 2] = torch.sin(angles)"),
            ("pe[:, 1::2] = torch.cos(angles)", "pe[:, d_model // 2 :] = torch.cos(angles)"),
        ],
    },
    {
        "name": "positions_from_one",
        "title": "positions counted from 1 (row 0 encodes position 1)",
        "title_zh": "位置从 1 开始计数（第 0 行编码的是位置 1）",
        "fix": "Positions start at 0: torch.arange(length), so row 0 is [0, 1, 0, 1, ...].",
        "fix_zh": "位置从 0 开始：torch.arange(length)，这样第 0 行就是 [0, 1, 0, 1, ...]。",
        "patch": [("torch.arange(length, dtype=torch.float64)", "torch.arange(1, length + 1, dtype=torch.float64)")],
    },
    {
        "name": "exponent_per_column",
        "title": "exponent from the column index itself (column 2i+1 uses base^((2i+1)/d), so sin and cos of a pair disagree)",
        "title_zh": "指数直接用了列下标（第 2i+1 列用了 base^((2i+1)/d)，同一对中的 sin 和 cos 频率不一致）",
        "fix": "Both columns of a pair share one frequency: column j uses the exponent 2·(j // 2)/d_model.",
        "fix_zh": "一对中的两列共用一个频率：第 j 列的指数是 2·(j // 2)/d_model。",
        "patch": [("pe[:, 1::2] = torch.cos(angles)", "pe[:, 1::2] = torch.cos(pos / base ** ((two_i + 1) / d_model))")],
    },
    {
        "name": "frequencies_inverted",
        "title": "positions multiplied by base^(2i/d) instead of divided (the sign of the exponent lost)",
        "title_zh": "位置乘以了 base^(2i/d) 而不是除以它（指数的负号丢了）",
        "fix": "ω_i = base^(-2i/d_model) is at most 1: angles = p / base^(2i/d_model), or exp(-(2i/d_model)·log(base)) with the minus sign.",
        "fix_zh": "ω_i = base^(-2i/d_model) 不超过 1：angles = p / base^(2i/d_model)，或者写成带负号的 exp(-(2i/d_model)·log(base))。",
        "patch": [("inv_freq = 1.0 / base ** (two_i / d_model)", "inv_freq = base ** (two_i / d_model)")],
    },
    {
        "name": "base_ignored",
        "title": "the base argument ignored (10000 hard-coded)",
        "title_zh": "忽略了 base 参数（把 10000 写死了）",
        "fix": "Use the base passed in: ω_i = base^(-2i/d_model), with 10000.0 only as the default.",
        "fix_zh": "使用传入的 base：ω_i = base^(-2i/d_model)，10000.0 只是默认值。",
        "patch": [("1.0 / base ** (two_i / d_model)", "1.0 / 10000.0 ** (two_i / d_model)")],
    },
    {
        "name": "odd_d_model_not_rejected",
        "title": "an odd d_model is not rejected with ValueError",
        "title_zh": "奇数 d_model 没有用 ValueError 拒绝",
        "fix": "Start with: if d_model % 2 != 0: raise ValueError(...) (the columns come in sin/cos pairs).",
        "fix_zh": "一开始就写：if d_model % 2 != 0: raise ValueError(...)（各列是成对的 sin/cos）。",
        "patch": [("if d_model % 2 != 0:", "if False:")],
    },
]


def _coarse(out: Any) -> Any:
    """The table rounded to multiples of 1/16: float32 arithmetic (allowed) changes it by far less,
    a mistake by far more, so a float32 learner still matches the (float64) patched variant."""
    import torch

    return torch.round(out.double() * 16) / 16 if isinstance(out, torch.Tensor) else out


def _table(mod: Any, ref: Any) -> Any:
    return _coarse(mod.sinusoidal_positions(5, 4))  # small angles even when the frequencies are inverted


def _other_base(mod: Any, ref: Any) -> Any:
    return _coarse(mod.sinusoidal_positions(5, 6, base=2.0))


def _odd(mod: Any, ref: Any) -> Any:
    return mod.sinusoidal_positions(3, 5)


PROBES = {"table": _table, "other_base": _other_base, "odd": _odd}
