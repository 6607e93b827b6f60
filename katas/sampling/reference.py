"""Choosing the next token: temperature, top-k, top-p (nucleus), min-p and a repetition penalty."""

from __future__ import annotations

from typing import Optional

import torch


def filter_logits(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: Optional[int] = None,
    top_p: Optional[float] = None,
    min_p: Optional[float] = None,
) -> torch.Tensor:
    """logits (B, V) -> (B, V): kept tokens hold logit / temperature, removed ones -inf.

    The steps run in a fixed order, each on what the previous one left: temperature, top-k,
    top-p, min-p. Each step keeps the most likely token, so no row is ever left empty.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 0:
        raise ValueError(f"top_k must be >= 0 (0 or None: no top-k), got {top_k}")
    if top_p is not None and top_p < 0:
        raise ValueError(f"top_p must be >= 0, got {top_p}")
    if min_p is not None and not 0 <= min_p <= 1:
        raise ValueError(f"min_p must lie in [0, 1], got {min_p}")
    if temperature == 0:  # greedy: only the argmax survives, with its logit as it was
        best = logits.argmax(dim=-1, keepdim=True)  # (B, 1), the first index on ties
        return torch.full_like(logits, float("-inf")).scatter(-1, best, logits.gather(-1, best))
    logits = logits / temperature  # (B, V), a new tensor: the caller's logits stay untouched
    if top_k:  # None and 0 both mean "no top-k"
        kth = torch.topk(logits, min(top_k, logits.size(-1)), dim=-1).values[:, [-1]]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))  # ties with the k-th stay
    if top_p is not None and top_p < 1:  # top_p >= 1 keeps even tokens of probability 0
        probs = torch.softmax(logits, dim=-1)  # (B, V), over the tokens top-k left
        # rank by probability, most likely first; stable, so ties rank by lower index first
        sorted_probs, order = torch.sort(probs, dim=-1, descending=True, stable=True)  # (B, V)
        mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs  # (B, V): mass ranked above
        drop = mass_before >= top_p  # the crossing token has less than top_p above it: kept
        drop[:, 0] = False  # the most likely token always stays
        logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    if min_p:  # None and 0 both mean "no min-p"
        probs = torch.softmax(logits, dim=-1)  # (B, V), over the tokens top-p left
        floor = min_p * probs.amax(dim=-1, keepdim=True)  # (B, 1)
        logits = logits.masked_fill(probs < floor, float("-inf"))
    return logits  # (B, V)


@torch.no_grad()
def sample(
    logits: torch.Tensor,
    generator: Optional[torch.Generator],
    temperature: float = 1.0,
    top_k: Optional[int] = None,
    top_p: Optional[float] = None,
    min_p: Optional[float] = None,
) -> torch.Tensor:
    """logits (B, V) -> (B,) long: one token per row, drawn from the filtered distribution."""
    filtered = filter_logits(logits, temperature, top_k, top_p, min_p)  # (B, V)
    probs = torch.softmax(filtered, dim=-1)  # (B, V), exactly 0 where filtered is -inf
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)  # (B,)


def apply_repetition_penalty(logits: torch.Tensor, prev_tokens: torch.Tensor, penalty: float) -> torch.Tensor:
    """logits (B, V), prev_tokens (B, T) long -> (B, V): every token already seen made less likely.

    The CTRL rule divides a positive logit by penalty and multiplies a negative one, so both move
    towards "less likely"; dividing a negative logit would make the token MORE likely.
    """
    if penalty <= 0:
        raise ValueError(f"penalty must be > 0, got {penalty}")
    seen = logits.gather(-1, prev_tokens)  # (B, T): the logits of the tokens already seen
    seen = torch.where(seen > 0, seen / penalty, seen * penalty)  # (B, T)
    # scatter writes a repeated id's (identical) value twice: it is penalised once
    return logits.scatter(-1, prev_tokens, seen)  # (B, V), a new tensor
