"""Known mistakes for this kata, as patches of reference.py, and the probes that tell them apart.

MISTAKES must stay a plain literal (read with ast.literal_eval); see katas/attention/mistakes.py.
"""

from __future__ import annotations

from typing import Any

MISTAKES = [
    {
        "name": "caches_keys_and_values",
        "title": "the up-projected keys and values cached instead of the latent",
        "title_zh": "缓存的是上投影后的 key 和 value，而不是潜在向量",
        "fix": "Cache only the latent kv_down(x), (B, L, d_latent), and expand the whole of it with k_up and v_up on every call: that is MLA's memory saving.",
        "fix_zh": "只缓存潜在向量 kv_down(x)，形状 (B, L, d_latent)，每次调用时再用 k_up 和 v_up 把它整体展开：这正是 MLA 节省显存之处。",
        "patch": [
            (
                "latent = self.kv_down(x)  # (B, T, d_latent)",
                "latent = self.kv_down(x)  # (B, T, d_latent)\n"
                "        k_all, v_all = self._split(self.k_up(latent)), self._split(self.v_up(latent))  # (B, H, T, hd)",
            ),
            (
                "latent = torch.cat([cache, latent], dim=1)",
                "k_all, v_all = torch.cat([cache[0], k_all], dim=2), torch.cat([cache[1], v_all], dim=2)",
            ),
            ("L = latent.size(1)", "L = k_all.size(2)"),
            ("k = self._split(self.k_up(latent))  # (B, H, L, hd)", "k = k_all"),
            ("v = self._split(self.v_up(latent))  # (B, H, L, hd)", "v = v_all"),
            ("return self.out_proj(y), latent", "return self.out_proj(y), (k_all, v_all)"),
        ],
    },
    {
        "name": "values_from_k_up",
        "title": "values expanded with k_up instead of v_up",
        "title_zh": "value 用 k_up 展开，而不是 v_up",
        "fix": "Keys and values share the latent but not the up-projection: v = v_up(latent).",
        "fix_zh": "key 和 value 共享潜在向量，但不共享上投影：v = v_up(latent)。",
        "patch": [("v = self._split(self.v_up(latent))", "v = self._split(self.k_up(latent))")],
    },
    {
        "name": "causal_offset_lost",
        "title": "the causal mask ignores the cache offset (new token t treated as position t, not L_past + t)",
        "title_zh": "因果掩码忽略了缓存偏移（把新 token t 当作位置 t，而不是 L_past + t）",
        "fix": "New token t sits at absolute position L_past + t: let it attend keys 0 .. L_past + t, e.g. torch.ones(T, L, dtype=torch.bool).tril(diagonal=L_past).",
        "fix_zh": "新 token t 位于绝对位置 L_past + t：让它关注 key 0 .. L_past + t，例如 torch.ones(T, L, dtype=torch.bool).tril(diagonal=L_past)。",
        "patch": [("q_pos = L_past + torch.arange(T, device=x.device)", "q_pos = torch.arange(T, device=x.device)")],
    },
    {
        "name": "caches_x",
        "title": "the layer's input x cached instead of the latent (kv_down recomputed over all tokens)",
        "title_zh": "缓存的是层的输入 x，而不是潜在向量（每次对所有 token 重新计算 kv_down）",
        "fix": "Cache kv_down(x), (B, L, d_latent): d_latent numbers per token, not the d_model of x.",
        "fix_zh": "缓存 kv_down(x)，形状 (B, L, d_latent)：每个 token 只存 d_latent 个数，而不是 x 的 d_model 个。",
        "patch": [
            (
                "latent = self.kv_down(x)  # (B, T, d_latent)",
                "seen = x if cache is None else torch.cat([cache, x], dim=1)  # (B, L, d_model)\n"
                "        latent = self.kv_down(seen)",
            ),
            ("latent = torch.cat([cache, latent], dim=1)", "pass"),
            ("return self.out_proj(y), latent", "return self.out_proj(y), seen"),
        ],
    },
    {
        "name": "scaled_by_latent_width",
        "title": "scores scaled by 1/√d_latent instead of 1/√head_dim",
        "title_zh": "分数按 1/√d_latent 缩放，而不是 1/√head_dim",
        "fix": "The dot products are between head_dim-wide q and k: divide by math.sqrt(head_dim), head_dim = d_model // num_heads.",
        "fix_zh": "点积是在宽度为 head_dim 的 q 和 k 之间计算的：除以 math.sqrt(head_dim)，其中 head_dim = d_model // num_heads。",
        "patch": [("/ math.sqrt(self.head_dim)", "/ math.sqrt(self.d_latent)")],
    },
    {
        "name": "no_causal_mask",
        "title": "no causal mask (fine for one-token decoding, wrong for a prompt or a chunk)",
        "title_zh": "没有因果掩码（逐 token 解码时没问题，处理 prompt 或分块时就错了）",
        "fix": "Mask key positions > L_past + t with -inf before the softmax, for every chunk of T > 1 tokens.",
        "fix_zh": "对每个 T > 1 的分块，在 softmax 之前把位置 > L_past + t 的 key 用 -inf 掩码。",
        "patch": [('scores = scores.masked_fill(~causal, float("-inf"))', "pass")],
    },
]

D_MODEL, HEADS, D_LATENT = 8, 2, 3


def _module(mod: Any, ref: Any) -> Any:
    import torch

    g = torch.Generator().manual_seed(7)
    shapes = {"q_proj": (D_MODEL, D_MODEL), "kv_down": (D_LATENT, D_MODEL), "k_up": (D_MODEL, D_LATENT), "v_up": (D_MODEL, D_LATENT), "out_proj": (D_MODEL, D_MODEL)}
    state = {}
    for name, shape in shapes.items():
        state[f"{name}.weight"] = torch.randn(*shape, generator=g, dtype=torch.float64) * 0.5
        state[f"{name}.bias"] = torch.randn(shape[0], generator=g, dtype=torch.float64) * 0.1
    m = mod.LatentAttention(D_MODEL, HEADS, D_LATENT).double()
    try:
        m.load_state_dict(state)
    except Exception:  # wrong submodules: a failure of its own kind, so no mistake's error matches it
        raise LookupError("the module cannot take the probe's weights") from None
    return m


def _x(t: int, seed: int) -> Any:
    import torch

    return torch.randn(2, t, D_MODEL, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _ref_cache(ref: Any, length: int, seed: int) -> Any:
    """The correct latent cache of `length` tokens (a plain tensor), from the reference."""
    return _module(ref, ref)(_x(length, seed))[1].detach()


def _flat(out: Any) -> Any:
    y, cache = out
    return (y, *cache) if isinstance(cache, (tuple, list)) else (y, cache)


def _prefill(mod: Any, ref: Any) -> Any:
    return _flat(_module(mod, ref)(_x(5, 1)))


def _decode(mod: Any, ref: Any) -> Any:
    return _flat(_module(mod, ref)(_x(1, 2), _ref_cache(ref, 4, 3)))


def _chunk(mod: Any, ref: Any) -> Any:
    return _flat(_module(mod, ref)(_x(3, 4), _ref_cache(ref, 4, 5)))


def _chained(mod: Any, ref: Any) -> Any:
    """A prompt of 3 tokens, then 2 more with the cache the first call returned (its own)."""
    m = _module(mod, ref)
    x = _x(5, 6)
    y1, cache = m(x[:, :3])
    return (y1, *_flat(m(x[:, 3:], cache)))


PROBES = {"prefill": _prefill, "decode": _decode, "chunk": _chunk, "chained": _chained}
