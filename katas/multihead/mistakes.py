"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "no_scaling",
        "title": "no 1/√head_dim scaling",
        "title_zh": "缺少 1/√head_dim 缩放",
        "fix": "Divide the scores by math.sqrt(self.head_dim) before the softmax.",
        "fix_zh": "在 softmax 之前把分数除以 math.sqrt(self.head_dim)。",
        "patch": [("q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)", "q @ k.transpose(-2, -1)")],
    },
    {
        "name": "scaled_by_head_dim",
        "title": "scores divided by head_dim instead of √head_dim",
        "title_zh": "分数除以了 head_dim，而不是 √head_dim",
        "fix": "Divide by math.sqrt(self.head_dim), not by self.head_dim.",
        "fix_zh": "除以 math.sqrt(self.head_dim)，而不是 self.head_dim。",
        "patch": [("/ math.sqrt(self.head_dim)", "/ self.head_dim")],
    },
    {
        "name": "scaled_by_d_model",
        "title": "scores scaled by √d_model instead of √head_dim",
        "title_zh": "分数按 √d_model 而不是 √head_dim 缩放",
        "fix": "Each head has width head_dim = d_model // num_heads: divide by math.sqrt(self.head_dim).",
        "fix_zh": "每个头的宽度是 head_dim = d_model // num_heads：除以 math.sqrt(self.head_dim)。",
        "patch": [("/ math.sqrt(self.head_dim)", "/ math.sqrt(self.d_model)")],
    },
    {
        "name": "softmax_wrong_axis",
        "title": "softmax over the queries (dim=-2) instead of the keys",
        "title_zh": "softmax 在 query 轴（dim=-2）而不是 key 轴上计算",
        "fix": "Use torch.softmax(scores, dim=-1): each query's weights over the keys must sum to 1.",
        "fix_zh": "使用 torch.softmax(scores, dim=-1)：每个 query 在所有 key 上的权重之和必须为 1。",
        "patch": [("torch.softmax(scores, dim=-1)", "torch.softmax(scores, dim=-2)")],
    },
    {
        "name": "mask_inverted",
        "title": "mask inverted (True treated as 'masked out', nn.MultiheadAttention's convention)",
        "title_zh": "掩码取反了（把 True 当作“被屏蔽”，即 nn.MultiheadAttention 的约定）",
        "fix": "Here True means 'may attend': fill with -inf where the mask is False, i.e. masked_fill(~mask, ...).",
        "fix_zh": "这里 True 表示“可以关注”：在掩码为 False 的位置填充 -inf，即 masked_fill(~mask, ...)。",
        "patch": [
            ('scores.masked_fill(~mask, float("-inf"))', 'scores.masked_fill(mask, float("-inf"))'),
            ("weights.masked_fill(~mask, 0.0)", "weights.masked_fill(mask, 0.0)"),
        ],
    },
    {
        "name": "mask_ignored",
        "title": "mask ignored",
        "title_zh": "忽略了掩码",
        "fix": "Apply the mask to the scores before the softmax: scores.masked_fill(~mask, float('-inf')).",
        "fix_zh": "在 softmax 之前把掩码作用到分数上：scores.masked_fill(~mask, float('-inf'))。",
        "patch": [
            ('scores = scores.masked_fill(~mask, float("-inf"))', "pass"),
            ("weights = weights.masked_fill(~mask, 0.0)", "pass"),
        ],
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
        "name": "heads_never_split",
        "title": "heads never split (one d_model-wide head, as in the article)",
        "title_zh": "从未拆分多头（只有一个 d_model 宽的头，和文章一样）",
        "fix": "View q, k, v as (B, L, H, head_dim) and transpose(1, 2) to (B, H, L, head_dim) before the scores.",
        "fix_zh": "计算分数之前，把 q、k、v view 成 (B, L, H, head_dim)，再 transpose(1, 2) 成 (B, H, L, head_dim)。",
        "patch": [
            ("q = self._split(self.q_proj(x))", "q = self.q_proj(x)"),
            ("k = self._split(self.k_proj(x))", "k = self.k_proj(x)"),
            ("v = self._split(self.v_proj(x))", "v = self.v_proj(x)"),
            ("y = y.transpose(1, 2).reshape(B, L, self.d_model)", "y = y"),
        ],
    },
    {
        "name": "article_self_attention",
        "title": "the article's SelfAttention: heads never split and no output projection",
        "title_zh": "文章中的 SelfAttention：从不拆分多头，也没有输出投影",
        "fix": "Split into heads (view + transpose(1, 2)), merge them back, then apply self.out_proj.",
        "fix_zh": "拆分成多头（view + transpose(1, 2)），再合并回来，然后应用 self.out_proj。",
        "patch": [
            ("q = self._split(self.q_proj(x))", "q = self.q_proj(x)"),
            ("k = self._split(self.k_proj(x))", "k = self.k_proj(x)"),
            ("v = self._split(self.v_proj(x))", "v = self.v_proj(x)"),
            ("y = y.transpose(1, 2).reshape(B, L, self.d_model)", "y = y"),
            ("return self.out_proj(y)", "return y"),
        ],
    },
    {
        "name": "split_without_transpose",
        "title": "heads split with view(B, H, L, d) — no transpose",
        "title_zh": "用 view(B, H, L, d) 拆分多头——没有 transpose",
        "fix": "view(B, L, H, head_dim).transpose(1, 2): a plain view to (B, H, L, d) mixes positions and heads.",
        "fix_zh": "用 view(B, L, H, head_dim).transpose(1, 2)：直接 view 成 (B, H, L, d) 会把位置和头混在一起。",
        "patch": [
            (
                "return t.view(B, L, self.num_heads, self.head_dim).transpose(1, 2)",
                "return t.view(B, self.num_heads, L, self.head_dim)",
            )
        ],
    },
    {
        "name": "merge_without_transpose",
        "title": "heads merged with reshape(B, L, d_model) — no transpose",
        "title_zh": "用 reshape(B, L, d_model) 合并多头——没有 transpose",
        "fix": "transpose(1, 2) the (B, H, L, d) output to (B, L, H, d) before reshape(B, L, d_model).",
        "fix_zh": "先把形状为 (B, H, L, d) 的输出 transpose(1, 2) 成 (B, L, H, d)，再 reshape(B, L, d_model)。",
        "patch": [("y.transpose(1, 2).reshape(B, L, self.d_model)", "y.reshape(B, L, self.d_model)")],
    },
    {
        "name": "split_and_merge_without_transpose",
        "title": "heads split and merged with plain reshapes (B, H, L, d) <-> (B, L, d_model) — no transpose",
        "title_zh": "拆分和合并多头都只用了普通的 reshape (B, H, L, d) <-> (B, L, d_model)——没有 transpose",
        "fix": "Split with view(B, L, H, head_dim).transpose(1, 2) and merge with transpose(1, 2).reshape(B, L, d_model).",
        "fix_zh": "拆分用 view(B, L, H, head_dim).transpose(1, 2)，合并用 transpose(1, 2).reshape(B, L, d_model)。",
        "patch": [
            (
                "return t.view(B, L, self.num_heads, self.head_dim).transpose(1, 2)",
                "return t.view(B, self.num_heads, L, self.head_dim)",
            ),
            ("y.transpose(1, 2).reshape(B, L, self.d_model)", "y.reshape(B, L, self.d_model)"),
        ],
    },
    {
        "name": "missing_out_proj",
        "title": "missing output projection",
        "title_zh": "缺少输出投影",
        "fix": "Return self.out_proj(y): the heads' outputs must be mixed by W^O.",
        "fix_zh": "返回 self.out_proj(y)：各个头的输出必须经过 W^O 混合。",
        "patch": [("return self.out_proj(y)", "return y")],
    },
    {
        "name": "keys_values_swapped",
        "title": "keys and values swapped",
        "title_zh": "key 和 value 弄反了",
        "fix": "Scores come from q and k (q @ kᵀ); the output mixes v (weights @ v).",
        "fix_zh": "分数来自 q 和 k（q @ kᵀ）；输出是对 v 的加权（weights @ v）。",
        "patch": [("y = weights @ v", "y = weights @ k"), ("q @ k.transpose(-2, -1)", "q @ v.transpose(-2, -1)")],
    },
]

D_MODEL, HEADS = 8, 2


def _weights() -> dict:
    import torch

    g = torch.Generator().manual_seed(7)
    state = {}
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        state[f"{name}.weight"] = torch.randn(D_MODEL, D_MODEL, generator=g, dtype=torch.float64) * 0.5
        state[f"{name}.bias"] = torch.randn(D_MODEL, generator=g, dtype=torch.float64) * 0.1
    return state


def _run(mod: Any, mask: Any, seed: int) -> Any:
    import torch

    m = mod.MultiHeadSelfAttention(D_MODEL, HEADS).double()
    m.load_state_dict(_weights())
    x = torch.randn(2, 5, D_MODEL, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return m(x, mask)


def _plain(mod: Any, ref: Any) -> Any:
    return _run(mod, None, 1)


def _masked(mod: Any, ref: Any) -> Any:
    import torch

    mask = torch.ones(5, 5, dtype=torch.bool).tril()
    mask[3, 1] = False
    return _run(mod, mask, 2)


def _fully_masked(mod: Any, ref: Any) -> Any:
    import torch

    mask = torch.ones(5, 5, dtype=torch.bool)
    mask[2] = False
    mask[4, :3] = False
    return _run(mod, mask, 3)


PROBES = {"plain": _plain, "masked": _masked, "fully_masked": _fully_masked}
