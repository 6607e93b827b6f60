"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "interleaved_pairs",
        "title": "adjacent pairs (x[2i], x[2i+1]) rotated, the GPT-J / Meta-Llama convention, instead of the half-split pairs",
        "title_zh": "旋转的是相邻的分量对 (x[2i], x[2i+1])（GPT-J / Meta 原版 Llama 的约定），而不是前后两半组成的对",
        "fix": "Pair x[..., i] with x[..., i + d/2]: x1, x2 = x[..., :d//2], x[..., d//2:], and concatenate the rotated halves back (rotate_half).",
        "fix_zh": "把 x[..., i] 和 x[..., i + d/2] 配成一对：x1, x2 = x[..., :d//2], x[..., d//2:]，旋转后再把两半拼接回去（rotate_half）。",
        "patch": [
            ("x1, x2 = x[..., :half].to(compute), x[..., half:].to(compute)", "x1, x2 = x[..., 0::2].to(compute), x[..., 1::2].to(compute)"),
            (
                "out = torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)",
                "out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)",
            ),
        ],
    },
    {
        "name": "theta_exponent_i_over_d",
        "title": "θ_i = base^(-i/d) with i the pair index: the exponent lost its factor 2",
        "title_zh": "θ_i = base^(-i/d)（i 是分量对的序号）：指数少了因子 2",
        "fix": "θ_i = base^(-2i/d): build the exponents from torch.arange(0, d, 2) / d (0, 2/d, 4/d, ...).",
        "fix_zh": "θ_i = base^(-2i/d)：用 torch.arange(0, d, 2) / d 构造指数（0, 2/d, 4/d, ...）。",
        "patch": [("two_i = torch.arange(0, d, 2, device=x.device, dtype=compute)", "two_i = torch.arange(half, device=x.device, dtype=compute)")],
    },
    {
        "name": "positions_ignored",
        "title": "positions ignored: arange(L) used instead (a decode step at position t is rotated by 0)",
        "title_zh": "忽略了 positions：改用了 arange(L)（位置 t 的解码步被当成位置 0 来旋转）",
        "fix": "Use the positions passed in — they are absolute: angles = positions[:, None] * theta[None, :].",
        "fix_zh": "使用传入的 positions，它们是绝对位置：angles = positions[:, None] * theta[None, :]。",
        "patch": [("angles = positions.to(compute)[:, None]", "angles = torch.arange(x.size(-2), device=x.device).to(compute)[:, None]")],
    },
    {
        "name": "negative_angle",
        "title": "each pair rotated by -angle (the sine terms' signs flipped, rotate_half as cat(x2, -x1))",
        "title_zh": "每个分量对被旋转了 -angle（正弦项的符号反了，rotate_half 写成了 cat(x2, -x1)）",
        "fix": "Rotate counterclockwise: (x1·cos - x2·sin, x1·sin + x2·cos), i.e. x·cos + rotate_half(x)·sin with rotate_half(x) = cat(-x2, x1).",
        "fix_zh": "按逆时针旋转：(x1·cos - x2·sin, x1·sin + x2·cos)，即 x·cos + rotate_half(x)·sin，其中 rotate_half(x) = cat(-x2, x1)。",
        "patch": [
            (
                "out = torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)",
                "out = torch.cat((x1 * cos + x2 * sin, -x1 * sin + x2 * cos), dim=-1)",
            )
        ],
    },
    {
        "name": "angles_in_bfloat16",
        "title": "angles computed in the input's dtype (for bfloat16, positions and angles keep 8 bits: position 1001 becomes 1000)",
        "title_zh": "角度用输入的 dtype 计算（bfloat16 只有 8 位有效数字：位置 1001 变成了 1000）",
        "fix": "Compute positions, θ, the angles and their cos/sin in float32 or better (e.g. torch.promote_types(x.dtype, torch.float32)), and cast only the result back to x.dtype.",
        "fix_zh": "位置、θ、角度以及 cos/sin 都用 float32 或更高精度计算（例如 torch.promote_types(x.dtype, torch.float32)），只把最终结果转回 x.dtype。",
        "patch": [("compute = torch.promote_types(x.dtype, torch.float32)", "compute = x.dtype")],
    },
    {
        "name": "cos_sin_swapped",
        "title": "cos and sin swapped in the rotation (x1·sin - x2·cos, x1·cos + x2·sin)",
        "title_zh": "旋转公式中 cos 和 sin 写反了（x1·sin - x2·cos, x1·cos + x2·sin）",
        "fix": "The rotation by φ is (x1·cos φ - x2·sin φ, x1·sin φ + x2·cos φ): at position 0 it must leave x unchanged.",
        "fix_zh": "旋转 φ 角是 (x1·cos φ - x2·sin φ, x1·sin φ + x2·cos φ)：在位置 0 时它必须让 x 保持不变。",
        "patch": [
            (
                "out = torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)",
                "out = torch.cat((x1 * sin - x2 * cos, x1 * cos + x2 * sin), dim=-1)",
            )
        ],
    },
    {
        "name": "dtype_not_kept",
        "title": "the result is returned in the computation's dtype (float32 for a bfloat16 x)",
        "title_zh": "结果以计算时的 dtype 返回（bfloat16 的 x 返回了 float32）",
        "fix": "Cast the rotated result back: return out.to(x.dtype).",
        "fix_zh": "把旋转后的结果转换回去：return out.to(x.dtype)。",
        "patch": [("return out.to(x.dtype)", "return out")],
    },
]


def _x(*shape: int, seed: int) -> Any:
    import torch

    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _coarse(out: Any) -> Any:
    """The output rounded to multiples of 1/16: float32 angles (allowed) change it by ~1e-5, a
    mistake by ~1, so a learner with float32 angles still matches the (float64) patched variant."""
    import torch

    return torch.round(out.double() * 16) / 16 if isinstance(out, torch.Tensor) else out


def _prefill(mod: Any, ref: Any) -> Any:
    import torch

    return _coarse(mod.apply_rope(_x(1, 2, 5, 8, seed=1), torch.arange(5)))


def _decode(mod: Any, ref: Any) -> Any:
    import torch

    return _coarse(mod.apply_rope(_x(2, 1, 1, 8, seed=2), torch.tensor([37])))


def _packed(mod: Any, ref: Any) -> Any:
    import torch

    return _coarse(mod.apply_rope(_x(1, 6, 8, seed=3), torch.tensor([3, 25, 4, 0, 31, 17])))


def _bfloat16_far(mod: Any, ref: Any) -> Any:
    """Which positions come out badly wrong (> 0.1) in bfloat16, and whether the dtype is kept.

    Small positions (5..8) stay right with bfloat16 angles, large ones (1001..8191) do not; a
    mask (not raw bfloat16 values) so that another correct rounding does not look like a mistake.
    """
    import torch

    x = torch.ones(1, 8, 8, dtype=torch.bfloat16)
    positions = torch.tensor([5, 6, 7, 8, 1001, 3001, 5003, 8191])
    out = mod.apply_rope(x, positions)
    exact = ref.apply_rope(x.double(), positions)
    far_off = (out.double() - exact).abs().amax(-1) > 0.1  # (1, 8)
    return far_off, torch.tensor(out.dtype == torch.bfloat16)


PROBES = {"prefill": _prefill, "decode": _decode, "packed": _packed, "bfloat16_far": _bfloat16_far}
