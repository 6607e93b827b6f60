"""Hidden suite for the kv_cache kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker. A cache crosses as a tuple of
two tensors (copies): to see whether the learner's code changed the cache it was given, the
suite uses h.call_keeping_args.

The learner's module gets the reference's weights through load_state_dict; caches fed to it are
the reference's (plain float64 tensors), so a wrong cache format shows as wrong outputs, and the
learner's own caches are chained in the property check.
"""

import torch


def _pair(sol, ref, d_model=16, heads=4, bias=True, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    r = ref.CachedSelfAttention(d_model, heads, bias=bias).double()
    s = sol.CachedSelfAttention(d_model, heads, bias=bias)
    try:
        s.load_state_dict(r.state_dict())
    except RuntimeError as exc:
        raise AssertionError(
            "could not load the reference weights (need exactly q_proj, k_proj, v_proj, out_proj "
            f"as nn.Linear(d_model, d_model, bias=bias)): {_first_error(exc)}"
        ) from None
    return s.to(dtype), r


def _first_error(exc):
    lines = [ln.strip() for ln in str(exc).splitlines()[1:] if ln.strip()]
    return (lines[0] if lines else str(exc))[:300]


def _x(b, t, d, seed=1, dtype=torch.float64):
    return torch.randn(b, t, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def _ref_cache(r, b, length, d, seed):
    """The reference's cache after `length` tokens: plain (B, H, length, head_dim) tensors."""
    _, (k, v) = r(_x(b, length, d, seed=seed))
    return k.detach(), v.detach()


def _unpack(out, what):
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise AssertionError(f"{what}: forward must return (y, cache), got {type(out).__name__}")
    y, cache = out
    if not (isinstance(cache, (tuple, list)) and len(cache) == 2):
        raise AssertionError(f"{what}: the cache must be a tuple (k, v), got {type(cache).__name__}")
    return y, cache


def _check(h, s, r, x, cache=None, label=""):
    """The learner's (y, cache) equals the reference's for the same x and cache."""
    cache_r = None if cache is None else tuple(c.double() for c in cache)
    y, (k, v) = _unpack(s(x, cache), f"output{label}")
    ry, (rk, rv) = r(x.double(), cache_r)
    h.close(y, ry, f"output y{label}", dtype=x.dtype)
    h.close(k, rk, f"returned cache keys{label} (projected, head-split keys of past + new tokens)", dtype=x.dtype)
    h.close(v, rv, f"returned cache values{label}", dtype=x.dtype)


def test_init_contract(sol, ref, h):
    """Four nn.Linear(d_model, d_model) named q_proj/k_proj/v_proj/out_proj; bias flag; ValueError."""
    m = sol.CachedSelfAttention(12, 3)
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        lin = getattr(m, name, None)
        assert h.isinstance(lin, "torch.nn.Linear"), f"{name} must be an nn.Linear, got {getattr(lin, 'remote_type', type(lin).__name__)}"
        assert (lin.in_features, lin.out_features) == (12, 12), f"{name} must map d_model -> d_model (12 -> 12)"
        assert lin.bias is not None, f"{name} must have a bias when bias=True"
    m = sol.CachedSelfAttention(12, 3, bias=False)
    assert all(getattr(m, n).bias is None for n in ("q_proj", "k_proj", "v_proj", "out_proj")), "bias=False must drop every bias"
    try:
        sol.CachedSelfAttention(10, 3)
    except ValueError:
        pass
    else:
        raise AssertionError("CachedSelfAttention(10, 3) must raise ValueError: 3 heads do not divide d_model=10")


def test_no_cache(sol, ref, h):
    """cache=None: causal self-attention over x, and the cache of x's keys and values; several shapes."""
    for i, (b, t, d, heads) in enumerate([(1, 1, 8, 2), (2, 6, 16, 4), (3, 5, 12, 3), (2, 4, 8, 1)]):
        s, r = _pair(sol, ref, d, heads, seed=i)
        _check(h, s, r, _x(b, t, d, seed=10 + i), label=f" for B={b} T={t} d_model={d} heads={heads}, no cache")


def test_matches_torch_multihead_causal(sol, ref, h):
    """Without a cache, y equals torch.nn.MultiheadAttention with a causal mask and the same weights."""
    s, r = _pair(sol, ref, 16, 4, seed=5)
    mha = torch.nn.MultiheadAttention(16, 4, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([r.q_proj.weight, r.k_proj.weight, r.v_proj.weight]))
        mha.in_proj_bias.copy_(torch.cat([r.q_proj.bias, r.k_proj.bias, r.v_proj.bias]))
        mha.out_proj.weight.copy_(r.out_proj.weight)
        mha.out_proj.bias.copy_(r.out_proj.bias)
    x = _x(2, 7, 16, seed=6)
    expected, _ = mha(x, x, x, attn_mask=~torch.ones(7, 7, dtype=torch.bool).tril(), need_weights=False)
    y, _ = _unpack(s(x), "output")
    h.close(y, expected, "output vs nn.MultiheadAttention with a causal mask")


def test_decode_step(sol, ref, h):
    """One new token (T = 1) after a cache of L_past tokens attends all L_past + 1 positions."""
    s, r = _pair(sol, ref, 16, 4, seed=20)
    for length in (1, 5):
        _check(h, s, r, _x(2, 1, 16, seed=21 + length), _ref_cache(r, 2, length, 16, 30 + length), f" for one token after {length} cached")


def test_chunk_with_cache(sol, ref, h):
    """A chunk of T > 1 tokens after a cache: causal inside the chunk, offset by L_past."""
    s, r = _pair(sol, ref, 16, 4, seed=40)
    for t, length in ((3, 4), (4, 2), (2, 6)):
        _check(h, s, r, _x(2, t, 16, seed=41 + t), _ref_cache(r, 2, length, 16, 50 + length), f" for a chunk of {t} after {length} cached")


def test_empty_cache_and_empty_chunk(sol, ref, h):
    """An empty cache (L_past = 0) equals None; an empty chunk (T = 0) returns (B, 0, d_model) and the cache's values."""
    s, r = _pair(sol, ref, 8, 2, seed=60)
    x = _x(2, 4, 8, seed=61)
    empty = (torch.zeros(2, 2, 0, 4, dtype=torch.float64), torch.zeros(2, 2, 0, 4, dtype=torch.float64))
    _check(h, s, r, x, empty, " with an empty cache (L_past = 0)")
    _check(h, s, r, x[:, :0], _ref_cache(r, 2, 3, 8, 62), " for an empty chunk (T = 0)")


def test_chunked_equals_full_pass(sol, ref, h):
    """Property (no reference): any split of a sequence into chunks, feeding each call the cache the
    previous one returned, gives the same outputs and final cache as one full pass."""
    s, _ = _pair(sol, ref, 16, 4, seed=70)
    x = _x(2, 7, 16, seed=71)
    full, (fk, fv) = _unpack(s(x), "full pass")
    full = h.tensor(full, "full pass output")
    for split in ((7,), (3, 4), (1,) * 7, (4, 1, 2), (2, 2, 3)):
        ys, cache, start = [], None, 0
        for t in split:
            y, cache = _unpack(s(x[:, start : start + t], cache), f"chunk {start}:{start + t}")
            k = h.tensor(cache[0], "cache keys")
            assert k.size(2) == start + t, f"after tokens 0..{start + t - 1} the cache holds {k.size(2)} positions along dim 2, expected {start + t}"
            ys.append(h.tensor(y, "chunk output"))
            start += t
        h.close(torch.cat(ys, dim=1), full, f"outputs fed in chunks {split} vs one full pass")
        h.close(cache[0], fk, f"final cache keys after chunks {split} vs one full pass")
        h.close(cache[1], fv, f"final cache values after chunks {split} vs one full pass")


def test_cache_not_modified(sol, ref, h):
    """The cache passed in is left exactly as it was (same shape, same values)."""
    s, r = _pair(sol, ref, 8, 2, seed=80)
    cache = _ref_cache(r, 2, 3, 8, 81)
    before = tuple(c.clone() for c in cache)
    _, args = h.call_keeping_args(s, _x(2, 2, 8, seed=82), cache)
    after = args[1]
    for name, a, b in zip(("keys", "values"), after, before):
        a = h.tensor(a, f"cache {name} after the call")
        assert tuple(a.shape) == tuple(b.shape), (
            f"the cache {name} passed in changed shape from {tuple(b.shape)} to {tuple(a.shape)}: "
            "return a new cache, never grow the caller's in place"
        )
        h.close(a, b, f"the cache {name} passed in (must not be modified)")


def test_gradients(sol, ref, h):
    """With a cache, gradients w.r.t. x and every weight equal the reference's."""
    s, r = _pair(sol, ref, 8, 2, seed=90)
    x = _x(2, 3, 8, seed=91)
    cache = _ref_cache(r, 2, 2, 8, 92)
    up = _x(2, 3, 8, seed=93)
    got = h.grad(s, x, cache, upstream=(up, None), wrt=(0,), params=s)
    assert all(got.tracked), "output is detached: gradients cannot flow"
    xx = x.clone().requires_grad_(True)
    params = dict(r.named_parameters())
    expected = torch.autograd.grad((r(xx, cache)[0] * up).sum(), [xx, *params.values()], allow_unused=True)
    for name, g, e in zip(["x", *params], [got.inputs[0], *(got.params.get(n) for n in params)], expected):
        assert g is not None, f"no gradient reaches {name}"
        h.close(g, e, f"gradient w.r.t. {name}")


def test_dtypes(sol, ref, h):
    """float32, float64 and bfloat16 x and cache in, same dtype out."""
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        s, r = _pair(sol, ref, 16, 4, seed=100, dtype=dtype)
        cache = tuple(c.to(dtype) for c in _ref_cache(r, 2, 3, 16, 101))
        _check(h, s, r, _x(2, 2, 16, seed=102, dtype=dtype), cache, f" in {dtype}")
