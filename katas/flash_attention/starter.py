"""Kata: FlashAttention's forward pass (tiled, with an online softmax).

Write `flash_attention(q, k, v, causal=False, block_q=64, block_k=64) -> (output, lse)`.

Contract (the hidden suite checks every line):
- q: (B, H, Lq, d); k, v: (B, H, Lk, d) — batch, heads, lengths, head width (the same B, H and
  d for all three). Lq >= 1 and Lk >= 1; Lq may differ from Lk, and either may be 1.
- scores s[i, j] = q_i · k_j / √d with d = q.size(-1), scaled once.
- output (B, H, Lq, d) = softmax(s) @ v, the softmax over the keys each query may see.
- lse (B, H, Lq): lse[i] = log Σ_j exp(s[i, j]) over those keys — the natural-log logsumexp of
  the SCALED scores, exactly torch.logsumexp(s, dim=-1). (FlashAttention keeps it for the
  backward pass: softmax(s)[i, j] = exp(s[i, j] - lse[i]).)
- causal=True: query i sees keys j <= i (position i of q and of k is the same token). It needs
  Lq == Lk: raise ValueError otherwise. (Libraries disagree on where the diagonal goes when
  Lq != Lk — PyTorch's is_causal puts it top-left, flash-attn >= 2.1 bottom-right — so this
  kata refuses the case.) No query is ever left without a key: key 0 is always visible. But a
  tile that crosses the diagonal can hold rows with no visible key IN THAT TILE (all -inf):
  such a row must add nothing to that query — no NaN.
- block_q, block_k: the tile sizes, ints >= 1 (raise ValueError for 0 or less). They need not
  divide Lq or Lk — the last tile is shorter — and may exceed them (then one tile). The result
  does not depend on them, up to rounding.
- The algorithm: for each tile of block_q queries, sweep the key/value tiles of block_k keys
  once, keeping per query a running max m, a running sum l of exp(s - m) and an accumulator
  acc of exp(s - m) @ v. When a tile raises m, rescale l and acc by exp(m_old - m_new) first.
  At the end output = acc / l and lse = m + log l. With causal=True, skip the tiles that lie
  wholly above the diagonal and mask j > i inside the tiles that cross it.
- Memory bound: never build a tensor of Lq × Lk elements (not even a boolean causal mask), nor
  anything else that grows as Lq · Lk.
  The suite runs Lq = Lk = 8192, d = 64, B = H = 1, block_q = block_k = 512, causal and not,
  and requires the call's peak extra memory <= 64 MiB, measured by the grader from outside
  your process; one 8192 × 8192 float32 matrix alone is 256 MiB.
  Its output and lse are checked on a sample of query rows (and the same call at Lq = Lk = 70
  first: a wrong result is not measured). Honour block_q and block_k: tiles of that size are
  what keep the memory (and the time) small.
- dtypes: float32, float64 and bfloat16 inputs; output AND lse have q's dtype. (flash-attn
  returns lse in float32 whatever the input; here cast it back.) Accumulating bfloat16 inputs
  in float32 is allowed and wise; float64 inputs are checked to float64 precision, so keep them
  in float64.
- Forward only: gradients are not checked (the real kernel has a hand-written backward pass).
- Do not call torch's built-in attention (torch.nn.functional.scaled_dot_product_attention,
  torch.nn.functional.multi_head_attention_forward, torch.nn.MultiheadAttention). torch.exp,
  torch.softmax or torch.logsumexp on a single tile are fine.

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

import math  # noqa: F401  (you will need math.sqrt)

import torch


def flash_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool = False,
    block_q: int = 64,
    block_k: int = 64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (output, lse); see the module docstring for the contract."""
    # TODO: raise ValueError for block sizes < 1, and for causal with Lq != Lk
    # TODO: for each query tile qi = q[..., i0 : i0 + block_q, :]                  -> (B, H, bq, d)
    # TODO:   m = -inf, l = 0, acc = 0                                 -> (B, H, bq), (B, H, bq, d)
    # TODO:   for each key tile (only up to the diagonal when causal): s = qi kjᵀ / √d -> (B, H, bq, bk)
    # TODO:     mask j > i where the tile crosses the diagonal; m_new = max(m, row max of s)
    # TODO:     rescale l and acc by exp(m - m_new), add the tile's exp(s - m_new) sums and @ vj
    # TODO:   output tile = acc / l, lse tile = m + log l
    # TODO: concatenate the tiles along the queries; keep q's dtype
    raise NotImplementedError("write flash_attention")
