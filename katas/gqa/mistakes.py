"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "repeat_tiles_kv_heads",
        "title": "KV heads tiled with repeat (query head h reads KV head h % num_kv_heads)",
        "title_zh": "KV 头被 repeat 平铺（查询头 h 读取的是 KV 头 h % num_kv_heads）",
        "fix": "Use k.repeat_interleave(group, dim=1): consecutive query heads share a KV head (h // group), as in enable_gqa=True.",
        "fix_zh": "使用 k.repeat_interleave(group, dim=1)：连续的查询头共享同一个 KV 头（h // group），与 enable_gqa=True 一致。",
        "patch": [
            ("k = k.repeat_interleave(group, dim=1)", "k = k.repeat(1, group, 1, 1)"),
            ("v = v.repeat_interleave(group, dim=1)", "v = v.repeat(1, group, 1, 1)"),
        ],
    },
    {
        "name": "kv_proj_sized_d_model",
        "title": "k_proj and v_proj sized d_model (one KV head per query head: no memory saved)",
        "title_zh": "k_proj 和 v_proj 的尺寸为 d_model（每个查询头各有一个 KV 头：没有节省任何内存）",
        "fix": "k_proj and v_proj map d_model -> num_kv_heads * head_dim, the point of GQA.",
        "fix_zh": "k_proj 和 v_proj 应把 d_model 映射到 num_kv_heads * head_dim，这正是 GQA 的意义所在。",
        "patch": [("kv_dim = num_kv_heads * self.head_dim", "kv_dim = d_model")],
    },
    {
        "name": "scaled_by_sqrt_d_model",
        "title": "scores scaled by √d_model instead of √head_dim",
        "title_zh": "分数按 √d_model 而不是 √head_dim 缩放",
        "fix": "Each head has width head_dim = d_model // num_heads: divide by math.sqrt(self.head_dim).",
        "fix_zh": "每个头的宽度是 head_dim = d_model // num_heads：应除以 math.sqrt(self.head_dim)。",
        "patch": [("/ math.sqrt(self.head_dim)", "/ math.sqrt(self.d_model)")],
    },
    {
        "name": "group_size_inverted",
        "title": "group size inverted: each KV head repeated num_kv_heads times instead of num_heads // num_kv_heads",
        "title_zh": "组大小弄反了：每个 KV 头被重复 num_kv_heads 次，而不是 num_heads // num_kv_heads 次",
        "fix": "The group size is the number of query heads per KV head: group = num_heads // num_kv_heads.",
        "fix_zh": "组大小是每个 KV 头对应的查询头数：group = num_heads // num_kv_heads。",
        "patch": [("group = self.num_heads // self.num_kv_heads", "group = self.num_kv_heads")],
    },
    {
        "name": "nan_on_fully_masked_rows",
        "title": "NaN on fully masked rows",
        "title_zh": "完全被掩码的行出现 NaN",
        "fix": "After the softmax, zero the masked weights: weights.masked_fill(~mask, 0.0).",
        "fix_zh": "softmax 之后把被掩码的权重置零：weights.masked_fill(~mask, 0.0)。",
        "patch": [("weights = weights.masked_fill(~mask, 0.0)", "pass")],
    },
    {
        "name": "merge_without_transpose",
        "title": "heads merged with reshape(B, L, H * d) — no transpose",
        "title_zh": "合并多头时直接 reshape(B, L, H * d)，没有转置",
        "fix": "transpose(1, 2) the (B, H, L, d) output to (B, L, H, d) before reshape(B, L, num_heads * head_dim).",
        "fix_zh": "先把 (B, H, L, d) 的输出 transpose(1, 2) 成 (B, L, H, d)，再 reshape(B, L, num_heads * head_dim)。",
        "patch": [
            (
                "y.transpose(1, 2).reshape(B, L, self.num_heads * self.head_dim)",
                "y.reshape(B, L, self.num_heads * self.head_dim)",
            )
        ],
    },
]


def _run(mod: Any, d_model: int, heads: int, kv_heads: int, mask: Any, seed: int) -> Any:
    import torch

    hd = d_model // heads
    g = torch.Generator().manual_seed(7 + heads + kv_heads)
    shapes = {"q_proj": (heads * hd, d_model), "k_proj": (kv_heads * hd, d_model), "v_proj": (kv_heads * hd, d_model), "out_proj": (d_model, heads * hd)}
    state = {f"{n}.weight": torch.randn(*s, generator=g, dtype=torch.float64) * 0.5 for n, s in shapes.items()}
    state.update({f"{n}.bias": torch.randn(s[0], generator=g, dtype=torch.float64) * 0.1 for n, s in shapes.items()})
    m = mod.GroupedQueryAttention(d_model, heads, kv_heads, bias=True).double()
    try:
        m.load_state_dict(state)
    except RuntimeError:  # wrong projection sizes: an outcome of its own, apart from errors in forward
        return torch.tensor([-1.0], dtype=torch.float64)
    x = torch.randn(2, 4, d_model, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return m(x, mask)


def _groups_of_four(mod: Any, ref: Any) -> Any:
    return _run(mod, 16, 8, 2, None, 1)


def _groups_of_two_masked(mod: Any, ref: Any) -> Any:
    import torch

    mask = torch.ones(4, 4, dtype=torch.bool).tril()
    mask[2] = False
    return _run(mod, 8, 4, 2, mask, 2)


def _sizes(mod: Any, ref: Any) -> Any:
    import torch

    m = mod.GroupedQueryAttention(16, 8, 2)
    return torch.tensor([[getattr(m, n).in_features, getattr(m, n).out_features] for n in ("q_proj", "k_proj", "v_proj", "out_proj")])


PROBES = {"groups_of_four": _groups_of_four, "groups_of_two_masked": _groups_of_two_masked, "sizes": _sizes}
