"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "no_max_subtraction",
        "title": "no max subtraction: exp overflows to inf (inf / inf = NaN) for large logits",
        "fix": "Subtract the row maximum before exp: z = x - x.amax(dim=dim, keepdim=True); the result is unchanged and exp(z) <= 1.",
        "patch": [("    return x - m\n", "    return x\n")],
    },
    {
        "name": "global_max_subtraction",
        "title": "subtracts the maximum of the whole tensor, not of each row (rows far below it underflow to 0 / 0)",
        "fix": "Take the maximum along dim with keepdim=True, one per row: x.amax(dim=dim, keepdim=True).",
        "patch": [("m = x.amax(dim=dim, keepdim=True)", "m = x.amax()")],
    },
    {
        "name": "dim_ignored",
        "title": "wrong dim: always normalises over the last dimension, whatever dim says",
        "fix": "Use the dim argument in every reduction: amax(dim=dim, keepdim=True) and sum(dim=dim, keepdim=True).",
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
        "fix": "Keep the reduced dimension: e.sum(dim=dim, keepdim=True), so each row is divided by its own sum.",
        "patch": [("s = e.sum(dim=dim, keepdim=True)", "s = e.sum(dim=dim)")],
    },
    {
        "name": "log_of_softmax",
        "title": "log_softmax as log(softmax(x)): -inf where a probability underflows (log_softmax([0, -1e4]) must be [0, -1e4])",
        "fix": "Stay in log space: (x - m) - torch.log(torch.exp(x - m).sum(dim=dim, keepdim=True)), with m the row maximum.",
        "patch": [
            ("return z - torch.log(s.masked_fill(s == 0, 1.0))", "return torch.log(softmax(x, dim))"),
        ],
    },
    {
        "name": "log_softmax_max_not_subtracted",
        "title": "log_softmax returns x - log(sum(exp(x - m))): off by the row maximum m",
        "fix": "logsumexp(x) = m + log(sum(exp(x - m))): return (x - m) - log(sum(exp(x - m))), not x - log(...).",
        "patch": [("return z - torch.log(", "return x - torch.log(")],
    },
    {
        "name": "nan_on_all_neg_inf_row",
        "title": "NaN on a row of all -inf (its maximum is -inf, and -inf - -inf is NaN)",
        "fix": "Replace a maximum of -inf by 0 before subtracting it: m = m.masked_fill(m == float('-inf'), 0.0).",
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
