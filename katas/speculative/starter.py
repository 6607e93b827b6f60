"""Kata: greedy speculative decoding.

Write `speculative_generate(target, draft, idx, max_new_tokens, k=4) -> (tokens, target_calls)`.

A small DRAFT model guesses the next tokens cheaply; the large TARGET model checks all of a
round's guesses in ONE forward pass, because a causal model scores every prefix of its input at
once. The result is exactly what the target alone would write greedily, in fewer target calls
when the draft guesses well.

Contract (the hidden suite checks every line):
- target, draft: two models of the kind the generator kata builds, sharing one vocabulary.
  `model(x)` takes x (1, L) int64 token ids with L <= model.config.block_size and returns logits
  (1, L, V); the logits at position t score the token that follows x[:, : t + 1]. A model raises
  ValueError when L exceeds its config.block_size. The grader hands you its own trained models
  (run in float64); each counts its forward calls in `model.calls`, and the grader reads that
  count: do not change it.
- idx: (1, T) int64, T >= 1 (it may be longer than a block); batch size 1 only. Not modified.
- Rounds, until T + max_new_tokens tokens are there; `need` = tokens still missing:
  1. the draft proposes d = min(k, need - 1) tokens greedily (one draft call each: the argmax of
     its last position's logits, fed the last draft.config.block_size tokens of the context and
     the proposals so far). d is never more than needed, since the target adds one token itself;
     it is 0 when need = 1.
  2. ONE target call on the last target.config.block_size tokens of (context + d proposals); its
     last d + 1 positions give predicted[0..d]: the target's greedy token after the context plus
     proposals[:i], for i = 0..d.
  3. n = the length of the longest prefix with proposals[i] == predicted[i] (0 <= n <= d). The
     first disagreement ends the round: later proposals are discarded even where they agree.
  4. append proposals[:n], then predicted[n], the target's own token (its correction after a
     disagreement, a bonus token when all d agree). Every round adds n + 1 >= 1 tokens and makes
     exactly one target call.
- Returns (tokens, target_calls): tokens (1, T + max_new_tokens) int64, idx followed by the new
  tokens; target_calls a Python int, how many times you called the target (draft calls do not
  count; it must equal the target's own count).
- What follows, and is checked: while T + max_new_tokens <= target.config.block_size, the tokens
  equal the target's plain greedy decoding exactly, whatever the draft proposes; with a draft
  identical to the target every proposal is accepted and target_calls = ceil(max_new_tokens /
  (k + 1)). Past the block the target sees a cropped window that depends on the rounds, so the
  tokens are those of the procedure above, not necessarily plain greedy's.
- Edge cases: max_new_tokens = 0 returns (idx's tokens, 0) and calls no model; max_new_tokens = 1
  is one target call and no proposal. k must satisfy 1 <= k < target.config.block_size (one
  window holds the last context token and k proposals), otherwise raise ValueError.
- No autograd graph: keep @torch.no_grad().

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def speculative_generate(
    target: nn.Module, draft: nn.Module, idx: torch.Tensor, max_new_tokens: int, k: int = 4
) -> tuple[torch.Tensor, int]:
    """Extend idx (1, T) by max_new_tokens greedy tokens of TARGET -> (tokens (1, T + n), target calls)."""
    # TODO: ValueError unless 1 <= k < target.config.block_size
    # TODO: loop while idx is shorter than T + max_new_tokens, counting target calls:
    # TODO:   1. the draft proposes d = min(k, need - 1) tokens greedily (crop to draft.config.block_size)
    # TODO:   2. ONE target call on the last target.config.block_size tokens of context + proposals
    # TODO:   3. the longest prefix where proposals agree with the target's argmax
    # TODO:   4. append that prefix, then the target's own next token
    raise NotImplementedError("write speculative_generate")
