"""Greedy speculative decoding, nanoGPT style.

A small draft model guesses the next k tokens cheaply, one by one; the large target model then
checks all of them in ONE forward pass, because a causal model scores every prefix of its input at
once (the logits at position t predict token t + 1). The target keeps the longest prefix of
guesses it agrees with and appends its own next token, so each round costs one target call and
yields 1 to k + 1 tokens — and the tokens are exactly the target's own greedy decoding.
"""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def speculative_generate(
    target: nn.Module, draft: nn.Module, idx: torch.Tensor, max_new_tokens: int, k: int = 4
) -> tuple[torch.Tensor, int]:
    """Extend idx (1, T) by max_new_tokens greedy tokens of TARGET -> (tokens (1, T + n), target calls).

    The draft proposes, the target verifies: a round never proposes past the end (the target adds
    one token of its own), so while everything fits in the target's block, the result equals plain
    greedy decoding with far fewer target calls when the draft guesses well.
    """
    block_size = target.config.block_size
    if not 1 <= k < block_size:
        raise ValueError(f"k must be between 1 and block_size - 1 = {block_size - 1}, got {k}")
    end = idx.size(1) + max_new_tokens
    calls = 0
    while idx.size(1) < end:
        # 1. the draft proposes up to k tokens greedily (no more than needed: the target adds one)
        n_draft = min(k, end - idx.size(1) - 1)
        seq = idx
        for _ in range(n_draft):
            logits = draft(seq[:, -draft.config.block_size :])[:, -1, :]  # (1, V)
            seq = torch.cat((seq, logits.argmax(dim=-1, keepdim=True)), dim=1)  # (1, T' + 1)
        proposed = seq[:, idx.size(1) :]  # (1, n_draft)
        # 2. ONE target call scores the context and every proposal: position t predicts token t + 1
        logits = target(seq[:, -block_size:])  # (1, <= block_size, V)
        calls += 1
        predicted = logits[:, -(n_draft + 1) :, :].argmax(dim=-1)  # (1, n_draft + 1): the target's token after each prefix
        # 3. accept the longest prefix of proposals the target agrees with
        n = 0
        for i in range(n_draft):
            if proposed[0, i] != predicted[0, i]:
                break  # the first disagreement ends the round: later proposals followed a wrong token
            n += 1
        # 4. then the target's own token: its correction, or a bonus token when it agreed with all
        idx = torch.cat((idx, proposed[:, :n], predicted[:, n : n + 1]), dim=1)  # (1, T' + n + 1)
    return idx, calls
