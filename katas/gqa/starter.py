"""Kata: grouped-query attention (GQA), as in Llama 2/3 and Mistral.

Write `class GroupedQueryAttention(nn.Module)`.

Contract (the hidden suite checks every line):
- `__init__(self, d_model, num_heads, num_kv_heads, bias=False)`; head_dim = d_model // num_heads.
  Creates exactly four submodules (the suite loads weights by these names), all with bias=bias:
    q_proj   = nn.Linear(d_model, num_heads * head_dim)
    k_proj   = nn.Linear(d_model, num_kv_heads * head_dim)     (smaller than q_proj: the point of GQA)
    v_proj   = nn.Linear(d_model, num_kv_heads * head_dim)
    out_proj = nn.Linear(num_heads * head_dim, d_model)
  Raise ValueError when num_heads does not divide d_model, and when num_kv_heads does not
  divide num_heads. Note the default: no biases (bias=False), as in Llama.
- `forward(self, x, mask=None)`: x is (B, L, d_model); returns (B, L, d_model).
  1. q = q_proj(x) split into num_heads heads: (B, num_heads, L, head_dim);
     k, v = k_proj(x), v_proj(x) split into num_kv_heads heads: (B, num_kv_heads, L, head_dim);
  2. the heads form consecutive groups of G = num_heads // num_kv_heads query heads: query head
     h reads KV head h // G (heads 0..G-1 share KV head 0, heads G..2G-1 KV head 1, ...). This is
     what k.repeat_interleave(G, dim=1) and F.scaled_dot_product_attention(enable_gqa=True) do;
     k.repeat(1, G, 1, 1) is NOT the same (it tiles: head h would read KV head h % num_kv_heads);
  3. per query head, softmax(q kᵀ / √head_dim) over the keys, times v;
  4. merge the heads back side by side — head h at columns h*head_dim .. (h+1)*head_dim - 1 of
     (B, L, num_heads * head_dim) — and apply out_proj.
  num_kv_heads = 1 is multi-query attention (MQA); num_kv_heads = num_heads is plain multi-head
  attention (then it equals the multihead kata's layer with the same weights).
- mask: optional bool tensor broadcastable to (B, num_heads, L, L) (num_heads = the QUERY heads);
  True means "may attend". A query row that may attend to no key gets a zero attention output
  (so the module returns out_proj's bias there) — never NaN.
- The dtype of x is kept (float32, float64, bfloat16); gradients flow to x and every weight.
- Do not call torch's built-in attention (F.scaled_dot_product_attention,
  nn.MultiheadAttention, F.multi_head_attention_forward): write it yourself.

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations

import math  # noqa: F401  (you will need math.sqrt)
from typing import Optional

import torch
from torch import nn


class GroupedQueryAttention(nn.Module):
    def __init__(self, d_model: int, num_heads: int, num_kv_heads: int, bias: bool = False) -> None:
        super().__init__()
        # TODO: ValueError unless num_heads divides d_model and num_kv_heads divides num_heads
        # TODO: head_dim = d_model // num_heads
        # TODO: q_proj (d_model -> num_heads * head_dim), k_proj and v_proj (d_model -> num_kv_heads * head_dim),
        #       out_proj (num_heads * head_dim -> d_model), all with bias=bias

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        # TODO: q -> (B, num_heads, L, head_dim); k, v -> (B, num_kv_heads, L, head_dim)
        # TODO: let query head h read KV head h // (num_heads // num_kv_heads)
        # TODO: masked softmax(q kᵀ / √head_dim) v per head (no NaN on fully masked rows); merge heads; out_proj
        raise NotImplementedError("write GroupedQueryAttention.forward")
