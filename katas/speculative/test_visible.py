"""Sample test you can run in the workspace: python -m pytest -q

It decodes with two toy models written here (bigram tables: the next token depends on the
current one only). The hidden suite (`attnquiz grade`) decodes with small trained GPT models and
also checks the call counts against the target's own counter, context cropping past the block,
the edge cases and the reference's rounds.
"""

import math

import torch
from torch import nn

from speculative import speculative_generate


class Bigram(nn.Module):
    """A toy model with the contract's interface: model(x) -> logits (1, L, V), config.block_size, calls."""

    def __init__(self, table: torch.Tensor, block_size: int = 16) -> None:
        super().__init__()
        self.config = type("Config", (), {"block_size": block_size})()
        self.register_buffer("table", table)  # (V, V): logits of the next token given the current one
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if x.size(1) > self.config.block_size:
            raise ValueError(f"sequence length {x.size(1)} exceeds block_size {self.config.block_size}")
        return self.table[x]  # (1, L, V)


def greedy(model: nn.Module, idx: torch.Tensor, n: int) -> torch.Tensor:
    for _ in range(n):
        logits = model(idx[:, -model.config.block_size :])[:, -1, :]
        idx = torch.cat((idx, logits.argmax(dim=-1, keepdim=True)), dim=1)
    return idx


def models(vocab: int = 12, noise: float = 0.6) -> tuple[Bigram, Bigram]:
    g = torch.Generator().manual_seed(0)
    table = torch.randn(vocab, vocab, generator=g, dtype=torch.float64)
    # the draft: the target's table, blurred; it guesses right often, not always
    return Bigram(table), Bigram(table + noise * torch.randn(vocab, vocab, generator=g, dtype=torch.float64))


def test_tokens_are_the_targets_greedy_decoding():
    target, draft = models()
    idx = torch.tensor([[3, 7]])
    tokens, calls = speculative_generate(target, draft, idx, 12, k=3)
    assert tokens.shape == (1, 14) and tokens.dtype == torch.long
    assert torch.equal(tokens, greedy(Bigram(target.table), idx, 12))
    assert calls == target.calls  # only target calls, every one of them
    assert 1 <= calls <= 12


def test_a_perfect_draft_needs_one_call_per_k_plus_one_tokens():
    target, _ = models()
    twin = Bigram(target.table.clone())
    tokens, calls = speculative_generate(target, twin, torch.tensor([[5]]), 10, k=4)
    assert calls == math.ceil(10 / 5)
    assert torch.equal(tokens, greedy(Bigram(target.table), torch.tensor([[5]]), 10))
