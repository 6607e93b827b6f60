"""Paged attention for one decode step, as in vLLM: the KV cache is a shared pool of fixed-size
pages, and each sequence finds its tokens through its row of the block table."""

from __future__ import annotations

import math

import torch


def paged_attention(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    block_table: torch.Tensor,
    context_lens: torch.Tensor,
) -> torch.Tensor:
    """softmax(q kᵀ / √d) v for each sequence's new query over its first context_lens[b] tokens.

    Token t of sequence b lives in page block_table[b, t // block_size], slot t % block_size.
    We gather every page of the table (unused entries point to valid pages, so this is safe),
    then mask every position at or past context_lens[b]: the stale slots of a partly filled
    last page and the unused pages never get any weight.
    """
    B, H, d = q.shape
    block_size = k_cache.size(1)
    T = block_table.size(1) * block_size  # positions the table can address
    t = torch.arange(T, device=q.device)  # (T,): token positions
    pages = block_table[:, t // block_size]  # (B, T): the page holding token t of sequence b
    slots = t % block_size  # (T,): its slot in that page
    k = k_cache[pages, slots].permute(0, 2, 3, 1)  # (B, T, H, d) -> (B, H, d, T)
    v = v_cache[pages, slots].transpose(1, 2)  # (B, T, H, d) -> (B, H, T, d)
    scores = (q.unsqueeze(2) @ k).squeeze(2) / math.sqrt(d)  # (B, H, 1, T) -> (B, H, T)
    valid = t[None, :] < context_lens[:, None]  # (B, T): the first context_lens[b] tokens
    scores = scores.masked_fill(~valid[:, None, :], float("-inf"))  # never a stale slot
    weights = torch.softmax(scores, dim=-1)  # (B, H, T); context_lens >= 1: no empty row
    return (weights.unsqueeze(2) @ v).squeeze(2)  # (B, H, 1, T) @ (B, H, T, d) -> (B, H, d)
