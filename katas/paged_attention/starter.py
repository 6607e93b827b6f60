"""Kata: paged attention, one decode step per sequence (as in vLLM).

Write `paged_attention(q, k_cache, v_cache, block_table, context_lens) -> Tensor`.

The keys and values of every running sequence live in ONE shared pool of fixed-size pages
("blocks"); a sequence owns a list of pages, in order, anywhere in the pool. Each decode step
gives every sequence one new query, which attends over that sequence's cached tokens.

Contract (the hidden suite checks every line):
- q: (B, H, d) — the new query of each of the B sequences, per head.
- k_cache, v_cache: (num_blocks, block_size, H, d) — the shared page pool (same H and d as q;
  every head has its own keys and values). block_size may be 1.
- block_table: (B, max_blocks) long — row b lists the pages of sequence b in order: its first
  block_size tokens are in page block_table[b, 0], the next ones in block_table[b, 1], ...
  Pages are NOT contiguous nor increasing: they interleave with other sequences' pages, and
  two sequences may share a page (a common prefix). Entries past the pages in use hold some
  valid page index (0 <= index < num_blocks) whose contents mean nothing for this sequence.
- context_lens: (B,) long, 1 <= context_lens[b] <= max_blocks * block_size — the number of
  valid tokens of sequence b. Token t (0 <= t < context_lens[b]) lives at
      k_cache[block_table[b, t // block_size], t % block_size]     (and the same in v_cache),
  i.e. the quotient picks the page and the remainder the slot inside it.
- Only those tokens count. The last page may be partly filled: its slots at or past
  context_lens[b] hold stale garbage (finite but arbitrary, possibly huge values), as do the
  pages of unused table entries. They must get EXACTLY zero weight (exclude them before the
  softmax; weighting them down after is not enough).
- Returns (B, H, d): for each b and head h, softmax over t < context_lens[b] of
  q[b, h] · k_t[h] / √d (d = q.size(-1)), times v_t[h], summed over t.
  context_lens[b] = 1: the output is that sequence's only value vector.
- Dtypes: q, k_cache and v_cache share one dtype (float32, float64, bfloat16); the output keeps
  it. No gradient is needed (a decode step at inference time); the suite checks none.
- Never modify the inputs: the pool is shared by every sequence (no zeroing of stale slots in
  place).
- Do not call torch's built-in attention (torch.nn.functional.scaled_dot_product_attention,
  torch.nn.functional.multi_head_attention_forward, torch.nn.MultiheadAttention).

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

import math  # noqa: F401  (you will need math.sqrt)

import torch


def paged_attention(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    block_table: torch.Tensor,
    context_lens: torch.Tensor,
) -> torch.Tensor:
    """Return the (B, H, d) attention output; see the module docstring for the contract."""
    # TODO: token positions t; page block_table[b, t // block_size] and slot t % block_size
    # TODO: gather the keys and values of each sequence from the pool       -> (B, T, H, d)
    # TODO: scores q · k / √d per sequence and head                         -> (B, H, T)
    # TODO: -inf for every t >= context_lens[b] BEFORE the softmax; softmax over t
    # TODO: weighted sum of the values                                      -> (B, H, d)
    raise NotImplementedError("write paged_attention")
