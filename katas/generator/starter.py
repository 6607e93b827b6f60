"""Kata: a tiny GPT-style text generator.

Everything except two pieces is written for you: the model's structure and submodule names are
fixed (the grader loads trained weights into YOUR model by name, so do not rename or add
parameters). Write:

1. `CausalSelfAttention.forward(x)`: x (B, T, C) -> (B, T, C).
   - q, k, v = self.c_attn(x).split(self.n_embd, dim=2); split each into n_head heads
     (B, H, T, C // n_head); scores q kᵀ / √(head width); softmax over the keys; times v;
     merge heads back to (B, T, C); apply self.c_proj.
   - CAUSAL: position t may attend to positions 0..t only (changing a later token must not
     change any earlier output). The interview article's (自注意力机制在大模型中的应用) BERT-based generator is bidirectional:
     that is the bug.

2. `generate(model, idx, max_new_tokens, temperature=1.0, top_k=None, generator=None)`:
   - idx (B, T) long -> returns (B, T + max_new_tokens) long: idx followed by the new tokens.
     The input tensor is not modified.
   - Each step feeds at most the last model.config.block_size tokens (crop the context: the
     model raises on longer input) and takes the logits of the last position.
   - temperature == 0: greedy, the argmax token.
   - otherwise: divide the logits by temperature; if top_k is given, keep only the top_k
     largest logits (set the others to -inf); softmax; draw ONE token with
     `torch.multinomial(probs, num_samples=1, generator=generator)` (so a seeded
     torch.Generator reproduces the reference's samples exactly).
   - No gradient tracking (decorate with @torch.no_grad()).
   - Do not call torch's built-in attention (F.scaled_dot_product_attention, nn.MultiheadAttention).

Run the sample test with `python -m pytest -q`, then `attnquiz grade`: when it passes, you will
see your code generate text with a small model trained on text this project ships.
"""

from __future__ import annotations

import math  # noqa: F401  (you will need math.sqrt)
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class GPTConfig:
    vocab_size: int = 64
    block_size: int = 64  # the longest context the model can see
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        if config.n_embd % config.n_head != 0:
            raise ValueError(f"n_head ({config.n_head}) must divide n_embd ({config.n_embd})")
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)  # q, k, v in one matmul
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C) -> (B, T, C); position t attends to positions 0..t only."""
        # TODO: q, k, v from self.c_attn; split heads -> (B, H, T, d); causal attention; merge; self.c_proj
        raise NotImplementedError("write CausalSelfAttention.forward")


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(F.gelu(self.c_fc(x)))


class Block(nn.Module):
    """Pre-LayerNorm residual block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)  # token embeddings
        self.wpe = nn.Embedding(config.block_size, config.n_embd)  # learned positions
        self.h = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """idx (B, T) token ids -> logits (B, T, vocab_size) for the next token at each position."""
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"sequence length {T} exceeds block_size {self.config.block_size}: crop the context")
        pos = torch.arange(T, device=idx.device)  # (T,)
        x = self.wte(idx) + self.wpe(pos)  # (B, T, C)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))  # (B, T, vocab_size)


@torch.no_grad()
def generate(
    model: GPT,
    idx: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: Optional[int] = None,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """Extend idx (B, T) by max_new_tokens sampled tokens -> (B, T + max_new_tokens).

    Only the last block_size tokens fit in the model's context, so the input is cropped each
    step; temperature 0 means greedy (argmax), and top_k keeps only the k likeliest tokens.
    """
    # TODO: loop max_new_tokens times: crop to block_size, last-position logits, greedy when
    # TODO: temperature == 0, else temperature + optional top_k + torch.multinomial(..., generator=generator)
    raise NotImplementedError("write generate")
