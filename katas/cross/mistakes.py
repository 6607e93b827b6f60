"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "keys_values_from_x",
        "title": "keys and values projected from x (self-attention), not from memory",
        "title_zh": "key 和 value 由 x 投影得到（成了自注意力），而不是由 memory",
        "fix": "In cross-attention only q comes from x: k = self.k_proj(memory), v = self.v_proj(memory).",
        "fix_zh": "交叉注意力中只有 q 来自 x：k = self.k_proj(memory)，v = self.v_proj(memory)。",
        "patch": [
            ("k = self._split(self.k_proj(memory))", "k = self._split(self.k_proj(x))"),
            ("v = self._split(self.v_proj(memory))", "v = self._split(self.v_proj(x))"),
        ],
    },
    {
        "name": "memory_mask_on_query_axis",
        "title": "memory mask applied on the query axis (B, 1, Lk, 1) instead of the key axis",
        "title_zh": "memory 掩码作用在 query 轴 (B, 1, Lk, 1) 上，而不是 key 轴",
        "fix": "The memory mask marks keys: broadcast it as memory_mask[:, None, None, :] -> (B, 1, 1, Lk).",
        "fix_zh": "memory 掩码标记的是 key：按 memory_mask[:, None, None, :] -> (B, 1, 1, Lk) 广播。",
        "patch": [("mask = memory_mask[:, None, None, :]", "mask = memory_mask[:, None, :, None]")],
    },
    {
        "name": "scaled_by_sqrt_d_memory",
        "title": "scores scaled by √d_memory instead of √head_dim",
        "title_zh": "分数按 √d_memory 而不是 √head_dim 缩放",
        "fix": "k is projected to d_model and split into heads: divide by math.sqrt(self.head_dim) = √(d_model / num_heads).",
        "fix_zh": "k 已被投影到 d_model 并拆分成多头：除以 math.sqrt(self.head_dim) = √(d_model / num_heads)。",
        "patch": [("/ math.sqrt(self.head_dim)", "/ math.sqrt(self.d_memory)")],
    },
    {
        "name": "heads_never_split",
        "title": "heads never split (one d_model-wide head)",
        "title_zh": "从未拆分多头（只有一个 d_model 宽的头）",
        "fix": "View q, k, v as (B, L, H, head_dim) and transpose(1, 2) to (B, H, L, head_dim) before the scores; merge back after.",
        "fix_zh": "计算分数之前，把 q、k、v view 成 (B, L, H, head_dim)，再 transpose(1, 2) 成 (B, H, L, head_dim)；之后再合并回来。",
        "patch": [
            ("q = self._split(self.q_proj(x))", "q = self.q_proj(x)"),
            ("k = self._split(self.k_proj(memory))", "k = self.k_proj(memory)"),
            ("v = self._split(self.v_proj(memory))", "v = self.v_proj(memory)"),
            ("mask = memory_mask[:, None, None, :]", "mask = memory_mask[:, None, :]"),
            ("y = y.transpose(1, 2).reshape(B, Lq, self.d_model)", "y = y"),
        ],
    },
    {
        "name": "mask_inverted",
        "title": "memory mask inverted (True read as padding, nn.MultiheadAttention's key_padding_mask convention)",
        "title_zh": "memory 掩码取反了（把 True 当作填充，即 nn.MultiheadAttention 中 key_padding_mask 的约定）",
        "fix": "Here True marks a real memory position: fill with -inf where the mask is False, i.e. masked_fill(~mask, ...).",
        "fix_zh": "这里 True 表示真实的 memory 位置：在掩码为 False 的位置填充 -inf，即 masked_fill(~mask, ...)。",
        "patch": [
            ('scores.masked_fill(~mask, float("-inf"))', 'scores.masked_fill(mask, float("-inf"))'),
            ("weights.masked_fill(~mask, 0.0)", "weights.masked_fill(mask, 0.0)"),
        ],
    },
    {
        "name": "nan_on_fully_masked_memory",
        "title": "NaN when a batch element has no real memory position",
        "title_zh": "某个 batch 元素没有任何真实 memory 位置时出现 NaN",
        "fix": "After the softmax, zero the masked weights: weights.masked_fill(~mask, 0.0) turns the 0/0 rows into zeros.",
        "fix_zh": "softmax 之后把被掩码的权重置零：weights.masked_fill(~mask, 0.0) 会把 0/0 的行变成零。",
        "patch": [("weights = weights.masked_fill(~mask, 0.0)", "pass")],
    },
]

D_MODEL, HEADS = 8, 2


def _run(mod: Any, d_memory: int, lq: int, lk: int, mask: Any, seed: int) -> Any:
    import torch

    g = torch.Generator().manual_seed(7 + d_memory)
    state = {}
    for name, fan_in in (("q_proj", D_MODEL), ("k_proj", d_memory), ("v_proj", d_memory), ("out_proj", D_MODEL)):
        state[f"{name}.weight"] = torch.randn(D_MODEL, fan_in, generator=g, dtype=torch.float64) * 0.5
        state[f"{name}.bias"] = torch.randn(D_MODEL, generator=g, dtype=torch.float64) * 0.1
    m = mod.CrossAttention(D_MODEL, HEADS, d_memory).double()
    m.load_state_dict(state)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, lq, D_MODEL, generator=g, dtype=torch.float64)
    memory = torch.randn(2, lk, d_memory, generator=g, dtype=torch.float64)
    return m(x, memory, mask)


def _plain(mod: Any, ref: Any) -> Any:
    return _run(mod, D_MODEL, 4, 4, None, 1)


def _masked_square(mod: Any, ref: Any) -> Any:
    import torch

    mask = torch.tensor([[1, 1, 1, 0], [1, 0, 1, 0]], dtype=torch.bool)
    return _run(mod, D_MODEL, 4, 4, mask, 2)


def _wide_memory(mod: Any, ref: Any) -> Any:
    import torch

    mask = torch.tensor([[0, 0, 0, 0, 0], [1, 1, 0, 1, 0]], dtype=torch.bool)
    return _run(mod, 6, 3, 5, mask, 3)


PROBES = {"plain": _plain, "masked_square": _masked_square, "wide_memory": _wide_memory}
