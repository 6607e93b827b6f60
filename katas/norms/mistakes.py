"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "layernorm_unbiased_variance",
        "title": "LayerNorm uses the unbiased variance (divides by d - 1, x.var()'s default)",
        "title_zh": "LayerNorm 使用了无偏方差（除以 d - 1，即 x.var() 的默认行为）",
        "fix": "Use the biased variance, as nn.LayerNorm does: ((x - mean) ** 2).mean(dim=-1, keepdim=True), or x.var(dim=-1, unbiased=False, keepdim=True).",
        "fix_zh": "像 nn.LayerNorm 一样使用有偏方差：((x - mean) ** 2).mean(dim=-1, keepdim=True)，或 x.var(dim=-1, unbiased=False, keepdim=True)。",
        "patch": [
            ("var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)", "var = x.var(dim=-1, keepdim=True)"),
        ],
    },
    {
        "name": "layernorm_eps_outside_sqrt",
        "title": "LayerNorm adds eps outside the square root: sqrt(var) + eps",
        "title_zh": "LayerNorm 把 eps 加在平方根外：sqrt(var) + eps",
        "fix": "Put eps inside the root: (x - mean) / torch.sqrt(var + self.eps).",
        "fix_zh": "把 eps 放进平方根内：(x - mean) / torch.sqrt(var + self.eps)。",
        "patch": [
            ("(x - mean) / torch.sqrt(var + self.eps)", "(x - mean) / (torch.sqrt(var) + self.eps)"),
        ],
    },
    {
        "name": "layernorm_wrong_dim",
        "title": "LayerNorm statistics over dim 0 (the batch, as in BatchNorm) instead of the last dim",
        "title_zh": "LayerNorm 在 dim 0（batch 维，像 BatchNorm 那样）而不是最后一维上计算统计量",
        "fix": "Reduce over the features of each vector: mean and variance with dim=-1, keepdim=True.",
        "fix_zh": "在每个向量自身的特征上归约：均值和方差都用 dim=-1, keepdim=True。",
        "patch": [
            ("mean = x.mean(dim=-1, keepdim=True)", "mean = x.mean(dim=0, keepdim=True)"),
            ("var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)", "var = ((x - mean) ** 2).mean(dim=0, keepdim=True)"),
        ],
    },
    {
        "name": "layernorm_bias_missing",
        "title": "LayerNorm never adds its bias",
        "title_zh": "LayerNorm 没有加上 bias",
        "fix": "Finish with x_hat * self.weight + self.bias.",
        "fix_zh": "最后返回 x_hat * self.weight + self.bias。",
        "patch": [("return x_hat * self.weight + self.bias", "return x_hat * self.weight")],
    },
    {
        "name": "layernorm_weight_missing",
        "title": "LayerNorm never multiplies by its weight",
        "title_zh": "LayerNorm 没有乘以 weight",
        "fix": "Finish with x_hat * self.weight + self.bias.",
        "fix_zh": "最后返回 x_hat * self.weight + self.bias。",
        "patch": [("return x_hat * self.weight + self.bias", "return x_hat + self.bias")],
    },
    {
        "name": "rmsnorm_subtracts_mean",
        "title": "RMSNorm subtracts the mean first (that is LayerNorm without a bias)",
        "title_zh": "RMSNorm 先减去了均值（那就成了不带 bias 的 LayerNorm）",
        "fix": "RMSNorm does not centre: x / torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight, with x as given.",
        "fix_zh": "RMSNorm 不做中心化：x / torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight，其中 x 保持输入原样。",
        "patch": [
            (
                "ms = x.pow(2).mean(dim=-1, keepdim=True)",
                "x = x - x.mean(dim=-1, keepdim=True)\n        ms = x.pow(2).mean(dim=-1, keepdim=True)",
            )
        ],
    },
    {
        "name": "rmsnorm_eps_outside_sqrt",
        "title": "RMSNorm adds eps outside the square root: sqrt(mean(x²)) + eps",
        "title_zh": "RMSNorm 把 eps 加在平方根外：sqrt(mean(x²)) + eps",
        "fix": "Put eps inside the root: x / torch.sqrt(ms + self.eps).",
        "fix_zh": "把 eps 放进平方根内：x / torch.sqrt(ms + self.eps)。",
        "patch": [("x / torch.sqrt(ms + self.eps)", "x / (torch.sqrt(ms) + self.eps)")],
    },
    {
        "name": "rmsnorm_wrong_dim",
        "title": "RMSNorm mean square over dim 0 (the batch) instead of the last dim",
        "title_zh": "RMSNorm 在 dim 0（batch 维）而不是最后一维上计算均方",
        "fix": "Reduce over the features of each vector: x.pow(2).mean(dim=-1, keepdim=True).",
        "fix_zh": "在每个向量自身的特征上归约：x.pow(2).mean(dim=-1, keepdim=True)。",
        "patch": [("ms = x.pow(2).mean(dim=-1, keepdim=True)", "ms = x.pow(2).mean(dim=0, keepdim=True)")],
    },
    {
        "name": "rmsnorm_weight_missing",
        "title": "RMSNorm never multiplies by its weight",
        "title_zh": "RMSNorm 没有乘以 weight",
        "fix": "Finish with ... * self.weight.",
        "fix_zh": "最后乘以 weight：... * self.weight。",
        "patch": [("return x / torch.sqrt(ms + self.eps) * self.weight", "return x / torch.sqrt(ms + self.eps)")],
    },
]

D = 6


def _x(seed: int) -> Any:
    """(3, 2, D): rows of ordinary scale, nearly constant rows and a tiny row (variance ≈ eps)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 2, D, generator=g, dtype=torch.float64) * 2 + 0.5
    x[1, 0] = 0.3 + 3e-3 * torch.randn(D, generator=g, dtype=torch.float64)
    x[2, 1] = -0.2 + 1e-3 * torch.randn(D, generator=g, dtype=torch.float64)
    x[0, 1] = 2e-3 * torch.randn(D, generator=g, dtype=torch.float64)
    return x


def _state(names: tuple, seed: int) -> dict:
    import torch

    g = torch.Generator().manual_seed(seed)
    return {n: torch.randn(D, generator=g, dtype=torch.float64) * 0.5 + (1.0 if n == "weight" else 0.0) for n in names}


def _layernorm(mod: Any, ref: Any) -> Any:
    m = mod.LayerNorm(D).double()
    m.load_state_dict(_state(("weight", "bias"), 1))
    return m(_x(2))


def _rmsnorm(mod: Any, ref: Any) -> Any:
    m = mod.RMSNorm(D, eps=1e-5).double()
    m.load_state_dict(_state(("weight",), 3))
    return m(_x(4))


PROBES = {"layernorm": _layernorm, "rmsnorm": _rmsnorm}
