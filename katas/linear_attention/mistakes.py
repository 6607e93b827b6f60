"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
A mistake with a "check" shows only in that resource bound (its values are right).
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "no_normaliser",
        "title": "no normaliser: returns φ(q_i)ᵀ S_i without dividing by φ(q_i)ᵀ z_i + eps",
        "title_zh": "没有归一化：直接返回 φ(q_i)ᵀ S_i，没有除以 φ(q_i)ᵀ z_i + eps",
        "fix": "Keep z_i = Σ_{j≤i} φ(k_j) too (k.cumsum over the positions) and divide: num / ((φ(q) * z).sum(-1, keepdim=True) + eps).",
        "fix_zh": "同时维护 z_i = Σ_{j≤i} φ(k_j)（沿位置对 k 做 cumsum），然后相除：num / ((φ(q) * z).sum(-1, keepdim=True) + eps)。",
        "patch": [("    return num / (den + eps)\n", "    return num\n")],
    },
    {
        "name": "global_sums",
        "title": "global (non-causal) sums: S and z summed over all L positions, so every query sees the future",
        "title_zh": "全局（非因果）求和：S 和 z 在全部 L 个位置上求和，于是每个查询都看到了未来",
        "fix": "Use prefix sums along the positions, cumsum rather than sum: S_i and z_i only include keys j <= i.",
        "fix_zh": "沿位置维度使用前缀和（用 cumsum 而不是 sum）：S_i 和 z_i 只包含 j <= i 的 key。",
        "patch": [
            (".cumsum(dim=-3)", ".sum(dim=-3, keepdim=True)"),
            ("z = k.cumsum(dim=-2)", "z = k.sum(dim=-2, keepdim=True)"),
        ],
    },
    {
        "name": "relu_feature_map",
        "title": "φ = relu instead of elu + 1 (zero features: negative inputs drop out, rows may get nothing)",
        "title_zh": "φ 用了 relu 而不是 elu + 1（特征为零：负输入被丢弃，某些行可能什么都得不到）",
        "fix": "φ(x) = F.elu(x) + 1: positive everywhere, equal to x + 1 for x > 0 and exp(x) for x <= 0.",
        "fix_zh": "φ(x) = F.elu(x) + 1：处处为正，x > 0 时等于 x + 1，x <= 0 时等于 exp(x)。",
        "patch": [("q, k = F.elu(q) + 1.0, F.elu(k) + 1.0", "q, k = F.relu(q), F.relu(k)")],
    },
    {
        "name": "eps_in_numerator",
        "title": "eps added to the numerator, (φ(q)ᵀS + eps) / φ(q)ᵀz, instead of to the denominator",
        "title_zh": "eps 加到了分子上，(φ(q)ᵀS + eps) / φ(q)ᵀz，而不是加到分母上",
        "fix": "eps guards the division: out = φ(q)ᵀS / (φ(q)ᵀz + eps).",
        "fix_zh": "eps 是用来保护除法的：out = φ(q)ᵀS / (φ(q)ᵀz + eps)。",
        "patch": [("    return num / (den + eps)\n", "    return (num + eps) / den\n")],
    },
    {
        "name": "current_token_excluded",
        "title": "prefix sums over j < i (the query's own key and value left out; the first output is 0)",
        "title_zh": "前缀和只取 j < i（漏掉了查询自己位置的 key 和 value；第一个输出为 0）",
        "fix": "Include position i itself: an inclusive cumsum, S_i = Σ_{j≤i} φ(k_j) v_jᵀ and z_i = Σ_{j≤i} φ(k_j).",
        "fix_zh": "要包含位置 i 本身：使用包含当前位置的 cumsum，S_i = Σ_{j≤i} φ(k_j) v_jᵀ，z_i = Σ_{j≤i} φ(k_j)。",
        "patch": [
            (".cumsum(dim=-3)", ".cumsum(dim=-3) - k.unsqueeze(-1) * v.unsqueeze(-2)"),
            ("z = k.cumsum(dim=-2)", "z = k.cumsum(dim=-2) - k"),
        ],
    },
    {
        "name": "scaled_by_sqrt_d",
        "title": "q scaled by 1/√d_k before φ (a softmax-attention habit the contract does not have)",
        "title_zh": "在 φ 之前把 q 乘以 1/√d_k（这是 softmax 注意力的习惯，本契约没有这一步）",
        "fix": "No scaling: φ is applied to q and k as they are, out_i = φ(q_i)ᵀ S_i / (φ(q_i)ᵀ z_i + eps).",
        "fix_zh": "不做缩放：φ 直接作用在 q 和 k 上，out_i = φ(q_i)ᵀ S_i / (φ(q_i)ᵀ z_i + eps)。",
        "patch": [("q, k = F.elu(q) + 1.0, F.elu(k) + 1.0", "q, k = F.elu(q / q.size(-1) ** 0.5) + 1.0, F.elu(k) + 1.0")],
    },
    {
        "name": "quadratic_form",
        "title": "the L × L matrix built: (φ(q) φ(k)ᵀ).tril() @ v — right values, quadratic memory",
        "title_zh": "构造了 L × L 矩阵：(φ(q) φ(k)ᵀ).tril() @ v，结果正确，但内存是平方级的",
        "fix": "Reassociate: accumulate S_i = Σ_{j≤i} φ(k_j) v_jᵀ (d_k × d_v per position, e.g. a cumsum of outer products, or a loop or blocks) and z_i, then φ(q_i)ᵀ S_i / (φ(q_i)ᵀ z_i + eps).",
        "fix_zh": "改变结合顺序：累加 S_i = Σ_{j≤i} φ(k_j) v_jᵀ（每个位置 d_k × d_v，例如对外积做 cumsum，或者用循环、分块）和 z_i，再计算 φ(q_i)ᵀ S_i / (φ(q_i)ᵀ z_i + eps)。",
        "check": "bound_no_L_by_L",
        "patch": [
            (
                "    S = (k.unsqueeze(-1) * v.unsqueeze(-2)).cumsum(dim=-3)",
                "    A = (q @ k.transpose(-2, -1)).tril_()  # (B, H, L, L): the matrix the kata avoids\n"
                "    return (A @ v) / (A.sum(dim=-1, keepdim=True) + eps)\n"
                "    S = (k.unsqueeze(-1) * v.unsqueeze(-2)).cumsum(dim=-3)",
            )
        ],
    },
]


def _inputs(length: int, d_k: int, d_v: int, seed: int, q_shift: float = 0.0) -> Any:
    import torch

    g = torch.Generator().manual_seed(seed)
    q = 1.5 * torch.randn(2, 2, length, d_k, generator=g, dtype=torch.float64) + q_shift
    k = 1.5 * torch.randn(2, 2, length, d_k, generator=g, dtype=torch.float64)
    v = torch.randn(2, 2, length, d_v, generator=g, dtype=torch.float64)
    return q, k, v


def _plain(mod: Any, ref: Any) -> Any:
    return mod.causal_linear_attention(*_inputs(6, 4, 3, 1))


def _large_eps(mod: Any, ref: Any) -> Any:
    return mod.causal_linear_attention(*_inputs(5, 4, 4, 2), eps=0.5)


def _tiny_features(mod: Any, ref: Any) -> Any:
    """q far below 0: φ(q) = exp(q) is about 3e-4, so eps weighs in."""
    return mod.causal_linear_attention(*_inputs(5, 4, 3, 3, q_shift=-8.0))


PROBES = {"plain": _plain, "large_eps": _large_eps, "tiny_features": _tiny_features}
