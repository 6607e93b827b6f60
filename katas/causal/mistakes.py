"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "diagonal_excluded",
        "title": "diagonal excluded (query i cannot see key i)",
        "fix": "Use tril() (diagonal=0), not tril(-1): a position attends to itself and the past, j <= i.",
        "patch": [(".tril()  # (L, L)", ".tril(-1)  # (L, L)")],
    },
    {
        "name": "mask_transposed",
        "title": "causal mask transposed (anti-causal: attends to the future, not the past)",
        "fix": "Rows are queries, columns keys: keep the lower triangle, torch.ones(L, L).tril(), True where j <= i.",
        "patch": [(".tril()  # (L, L)", ".triu()  # (L, L)")],
    },
    {
        "name": "padding_on_queries",
        "title": "key-padding mask applied to the queries (rows) instead of the keys (columns)",
        "fix": "Broadcast the (B, L) mask over the keys axis: key_padding_mask[:, None, None, :] -> (B, 1, 1, L).",
        "patch": [("key_padding_mask[:, None, None, :]", "key_padding_mask[:, None, :, None]")],
    },
    {
        "name": "mask_after_softmax",
        "title": "mask applied after the softmax (rows no longer sum to 1, the future still leaks)",
        "fix": "Fill the scores with -inf where the mask is False BEFORE the softmax, so the allowed keys share all the weight.",
        "patch": [('scores = scores.masked_fill(~mask, float("-inf"))', "pass")],
    },
    {
        "name": "nan_on_left_padded_rows",
        "title": "NaN on left-padded rows (a query with no allowed key)",
        "fix": "After the softmax, zero the masked weights: weights.masked_fill(~mask, 0.0) turns 0/0 rows into zeros.",
        "patch": [("weights = weights.masked_fill(~mask, 0.0)", "pass")],
    },
    {
        "name": "large_negative_not_zeroed",
        "title": "rows with no allowed key attend uniformly to every key (-1e9 fill, never zeroed)",
        "fix": "A query with no allowed key must get zero weights: zero the masked weights after the softmax.",
        "patch": [
            ('scores.masked_fill(~mask, float("-inf"))', "scores.masked_fill(~mask, -1e9)"),
            ("weights = weights.masked_fill(~mask, 0.0)", "pass"),
        ],
    },
    {
        "name": "padding_ignored",
        "title": "key-padding mask ignored",
        "fix": "Combine it with the causal mask: mask & key_padding_mask[:, None, None, :] (True = real key).",
        "patch": [("mask = mask & key_padding_mask[:, None, None, :]", "pass")],
    },
    {
        "name": "no_scaling",
        "title": "no 1/√d scaling",
        "fix": "Divide the scores by math.sqrt(d), with d = q.size(-1), before the softmax.",
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
