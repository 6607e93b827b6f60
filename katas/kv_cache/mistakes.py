"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "mask_ignores_offset",
        "title": "the causal mask ignores the cache offset (new token t treated as position t, not L_past + t)",
        "title_zh": "因果掩码忽略了缓存偏移（把新 token t 当作位置 t，而不是 L_past + t）",
        "fix": "New token t sits at absolute position L_past + t: let it attend keys 0 .. L_past + t, e.g. torch.ones(T, L, dtype=torch.bool).tril(diagonal=L_past).",
        "fix_zh": "新 token t 位于绝对位置 L_past + t：让它关注 key 0 .. L_past + t，例如 torch.ones(T, L, dtype=torch.bool).tril(diagonal=L_past)。",
        "patch": [("q_pos = L_past + torch.arange(T, device=x.device)", "q_pos = torch.arange(T, device=x.device)")],
    },
    {
        "name": "cat_wrong_dim",
        "title": "cache concatenated on the wrong dim (dim=1, the heads, instead of dim=2, the positions)",
        "title_zh": "缓存在错误的维度上拼接（dim=1 是头维度，应为 dim=2 位置维度）",
        "fix": "The cache is (B, H, L, d): grow it along the positions, torch.cat([k_past, k], dim=2).",
        "fix_zh": "缓存的形状是 (B, H, L, d)：沿位置维度增长，torch.cat([k_past, k], dim=2)。",
        "patch": [
            ("k = torch.cat([k_past, k], dim=2)", "k = torch.cat([k_past, k], dim=1)"),
            ("v = torch.cat([v_past, v], dim=2)", "v = torch.cat([v_past, v], dim=1)"),
        ],
    },
    {
        "name": "caches_x",
        "title": "the layer's input x cached instead of the projected keys and values",
        "title_zh": "缓存的是层的输入 x，而不是投影后的 key 和 value",
        "fix": "Cache what attention reuses: the keys and values k_proj(x), v_proj(x) split into heads, concatenated to the past ones.",
        "fix_zh": "缓存注意力要复用的内容：k_proj(x)、v_proj(x) 拆分成多头后的 key 和 value，拼接在之前的 key 和 value 之后。",
        "patch": [
            (
                "return self.out_proj(y), (k, v)",
                "xs = self._split(x) if cache is None else torch.cat([cache[0], self._split(x)], dim=2)\n"
                "        return self.out_proj(y), (xs, xs)",
            )
        ],
    },
    {
        "name": "attends_only_cache",
        "title": "new tokens attend only to the cache, not to themselves and the chunk's earlier tokens",
        "title_zh": "新 token 只关注缓存，没有关注自身以及本分块中更早的 token",
        "fix": "Concatenate the new keys and values to the cache BEFORE attending, and mask causally over past + new.",
        "fix_zh": "先把新的 key 和 value 拼接到缓存上再计算注意力，并在过去 + 新 token 的全部位置上施加因果掩码。",
        "patch": [
            (
                "causal = k_pos[None, :] <= q_pos[:, None]",
                "causal = (k_pos[None, :] < L_past).expand(T, -1) if L_past else k_pos[None, :] <= q_pos[:, None]",
            )
        ],
    },
    {
        "name": "cache_mutated",
        "title": "the cache passed in is modified in place (grown with .data = / set_)",
        "title_zh": "传入的缓存被原地修改（通过 .data = / set_ 增长）",
        "fix": "Never write into the caller's cache: build the new cache with torch.cat (new tensors) and return it.",
        "fix_zh": "绝不要写入调用方的缓存：用 torch.cat 构建新的缓存（新张量）并返回它。",
        "patch": [
            (
                "v = torch.cat([v_past, v], dim=2)  # (B, H, L, d)",
                "v = torch.cat([v_past, v], dim=2)  # (B, H, L, d)\n"
                "            k_past.data, v_past.data = k.detach(), v.detach()  # 'append in place'",
            )
        ],
    },
    {
        "name": "no_causal_mask",
        "title": "no causal mask inside a chunk (fine for one-token decoding, wrong for a prompt)",
        "title_zh": "分块内部没有因果掩码（逐 token 解码时没问题，处理 prompt 时就错了）",
        "fix": "A chunk of T tokens must be causal too: mask key positions > L_past + t with -inf before the softmax.",
        "fix_zh": "T 个 token 的分块同样必须是因果的：在 softmax 之前把位置 > L_past + t 的 key 用 -inf 掩码。",
        "patch": [('scores = scores.masked_fill(~causal, float("-inf"))', "pass")],
    },
    {
        "name": "no_scaling",
        "title": "no 1/√head_dim scaling",
        "title_zh": "没有做 1/√head_dim 缩放",
        "fix": "Divide the scores by math.sqrt(self.head_dim) before the softmax.",
        "fix_zh": "在 softmax 之前把分数除以 math.sqrt(self.head_dim)。",
        "patch": [("q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)", "q @ k.transpose(-2, -1)")],
    },
]

D_MODEL, HEADS = 8, 2


def _module(mod: Any, ref: Any) -> Any:
    import torch

    g = torch.Generator().manual_seed(7)
    state = {}
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        state[f"{name}.weight"] = torch.randn(D_MODEL, D_MODEL, generator=g, dtype=torch.float64) * 0.5
        state[f"{name}.bias"] = torch.randn(D_MODEL, generator=g, dtype=torch.float64) * 0.1
    m = mod.CachedSelfAttention(D_MODEL, HEADS).double()
    m.load_state_dict(state)
    return m


def _x(t: int, seed: int) -> Any:
    import torch

    return torch.randn(2, t, D_MODEL, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _ref_cache(ref: Any, length: int, seed: int) -> Any:
    """The correct cache of `length` tokens (plain tensors), from the reference."""
    _, (k, v) = _module(ref, ref)(_x(length, seed))
    return k.detach(), v.detach()


def _flat(out: Any) -> Any:
    y, cache = out
    return (y, *cache) if isinstance(cache, (tuple, list)) else (y,)


def _prefill(mod: Any, ref: Any) -> Any:
    return _flat(_module(mod, ref)(_x(5, 1)))


def _decode(mod: Any, ref: Any) -> Any:
    return _flat(_module(mod, ref)(_x(1, 2), _ref_cache(ref, 4, 3)))


def _chunk(mod: Any, ref: Any) -> Any:
    return _flat(_module(mod, ref)(_x(3, 4), _ref_cache(ref, 4, 5)))


def _cache_after_call(mod: Any, ref: Any) -> Any:
    """The cache passed in, as the call left it (in the worker, through call_keeping_args)."""
    m = _module(mod, ref)
    x, cache = _x(2, 6), _ref_cache(ref, 3, 7)
    from attnquiz.grading.proxy import Remote

    if isinstance(m, Remote):
        from attnquiz.grading.suite import Helpers

        _, args = Helpers().call_keeping_args(m, x, cache)
        return tuple(args[1])
    m(x, cache)
    return cache


PROBES = {"prefill": _prefill, "decode": _decode, "chunk": _chunk, "cache_after_call": _cache_after_call}
