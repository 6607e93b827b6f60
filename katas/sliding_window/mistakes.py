"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "one_key_too_many",
        "title": "one key too many (i - window <= j: window + 1 keys)",
        "fix": "The lower edge is strict: j > i - window, so query i sees exactly min(window, i + 1) keys.",
        "patch": [("(j > i - window)", "(j >= i - window)")],
    },
    {
        "name": "one_key_too_few",
        "title": "one key too few (i - window + 1 < j: window - 1 keys, none at all for window = 1)",
        "fix": "The band is i - window < j <= i: window keys, the query's own position included.",
        "patch": [("(j > i - window)", "(j > i - window + 1)")],
    },
    {
        "name": "not_causal",
        "title": "symmetric band |i - j| < window (not causal: sees window - 1 future keys)",
        "fix": "Keep the band causal: (j <= i) & (j > i - window).",
        "patch": [("band = (j <= i) & (j > i - window)", "band = (i - j).abs() < window")],
    },
    {
        "name": "future_not_masked",
        "title": "only the lower edge of the band (j > i - window): every future key is visible",
        "fix": "Add the causal edge: band = (j <= i) & (j > i - window).",
        "patch": [("band = (j <= i) & (j > i - window)", "band = j > i - window")],
    },
    {
        "name": "window_after_softmax",
        "title": "window applied after the softmax (causal softmax, then weights outside the window zeroed)",
        "fix": "Mask the scores outside the band with -inf BEFORE the softmax, so the keys in the window share all the weight.",
        "patch": [
            ('scores = scores.masked_fill(~band, float("-inf"))', 'scores = scores.masked_fill(j > i, float("-inf"))'),
            ("weights = torch.softmax(scores, dim=-1)", "weights = torch.softmax(scores, dim=-1).masked_fill(~band, 0.0)"),
        ],
    },
    {
        "name": "mask_after_softmax",
        "title": "whole mask applied after the softmax (softmax over all keys, then zeroed outside the band)",
        "fix": "Mask the scores outside the band with -inf BEFORE the softmax: rows must sum to 1 and the future must not leak.",
        "patch": [
            ('scores = scores.masked_fill(~band, float("-inf"))', "pass"),
            ("weights = torch.softmax(scores, dim=-1)", "weights = torch.softmax(scores, dim=-1).masked_fill(~band, 0.0)"),
        ],
    },
    {
        "name": "window_ignored",
        "title": "window ignored (plain causal attention)",
        "fix": "Restrict each query to the last window keys: band = (j <= i) & (j > i - window).",
        "patch": [("band = (j <= i) & (j > i - window)", "band = j <= i")],
    },
    {
        "name": "no_scaling",
        "title": "no 1/√d scaling",
        "fix": "Divide the scores by math.sqrt(d), with d = q.size(-1), before the softmax.",
        "patch": [("q @ k.transpose(-2, -1) / math.sqrt(d)", "q @ k.transpose(-2, -1)")],
    },
    {
        "name": "no_window_check",
        "title": "window < 1 not rejected (empty band, NaN rows)",
        "fix": "Start with: if window < 1: raise ValueError(...).",
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
