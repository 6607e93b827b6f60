"""Hidden suite for the latent_attention kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker. The learner's module gets the
reference's weights through load_state_dict (a call the worker runs on its own object), which
also checks the five submodules' names and shapes; caches fed to it are the reference's (plain
float64 tensors), so a wrong cache format shows as wrong outputs, and the learner's own caches
are chained in the property checks.
"""

import torch
import torch.nn.functional as F

NAMES = ("q_proj", "kv_down", "k_up", "v_up", "out_proj")


def _pair(sol, ref, d_model=16, heads=4, d_latent=6, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    r = ref.LatentAttention(d_model, heads, d_latent).double()
    s = sol.LatentAttention(d_model, heads, d_latent)
    try:
        s.load_state_dict(r.state_dict())
    except RuntimeError as exc:
        raise AssertionError(
            "could not load the reference weights (need exactly q_proj, kv_down, k_up, v_up, out_proj "
            f"as nn.Linear with bias, shaped as in the contract): {_first_error(exc)}"
        ) from None
    return s.to(dtype), r


def _first_error(exc):
    lines = [ln.strip() for ln in str(exc).splitlines()[1:] if ln.strip()]
    return (lines[0] if lines else str(exc))[:300]


def _x(b, t, d, seed=1, dtype=torch.float64):
    return torch.randn(b, t, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def _ref_cache(r, b, length, d, seed):
    """The reference's latent cache after `length` tokens: a plain (B, length, d_latent) tensor."""
    return r(_x(b, length, d, seed=seed))[1].detach()


def _unpack(out, what, shape=None):
    """(y, cache) from a forward call; the cache must be one tensor, of `shape` when given."""
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise AssertionError(f"{what}: forward must return (y, cache), got {type(out).__name__}")
    y, cache = out
    if not isinstance(cache, torch.Tensor):
        kind = f"a {type(cache).__name__} of {len(cache)}" if isinstance(cache, (tuple, list)) else type(cache).__name__
        raise AssertionError(f"{what}: the cache must be ONE tensor (B, L_past + T, d_latent), the latent — got {kind}")
    if shape is not None and tuple(cache.shape) != tuple(shape):
        raise AssertionError(f"{what}: the cache has shape {tuple(cache.shape)}, expected (B, L_past + T, d_latent) = {tuple(shape)}")
    return y, cache


def _check(h, s, r, x, cache=None, label=""):
    """The learner's (y, cache) equals the reference's for the same x and cache."""
    cache_r = None if cache is None else cache.double()
    ry, rc = r(x.double(), cache_r)
    y, c = _unpack(s(x, cache), f"output{label}", rc.shape)
    h.close(y, ry, f"output y{label}", dtype=x.dtype)
    h.close(c, rc, f"returned cache{label} (the latents kv_down(x) of past + new tokens)", dtype=x.dtype)


def test_init_contract(sol, ref, h):
    """Five nn.Linear with bias: q_proj, kv_down, k_up, v_up, out_proj of the contract's shapes; ValueError."""
    m = sol.LatentAttention(12, 3, 5)
    shapes = {"q_proj": (12, 12), "kv_down": (12, 5), "k_up": (5, 12), "v_up": (5, 12), "out_proj": (12, 12)}
    for name, (n_in, n_out) in shapes.items():
        lin = getattr(m, name, None)
        assert h.isinstance(lin, "torch.nn.Linear"), f"{name} must be an nn.Linear, got {getattr(lin, 'remote_type', type(lin).__name__)}"
        got = (lin.in_features, lin.out_features)
        assert got == (n_in, n_out), f"{name} must be nn.Linear({n_in}, {n_out}) for d_model=12, d_latent=5, got nn.Linear{got}"
        assert lin.bias is not None, f"{name} must have a bias (nn.Linear's default)"
    try:
        sol.LatentAttention(10, 3, 4)
    except ValueError:
        pass
    else:
        raise AssertionError("LatentAttention(10, 3, 4) must raise ValueError: 3 heads do not divide d_model=10")


def test_no_cache(sol, ref, h):
    """cache=None: causal self-attention over x, and the latent cache of x; several shapes."""
    cases = [(1, 1, 8, 2, 3), (2, 6, 16, 4, 6), (3, 5, 12, 3, 2), (2, 4, 8, 1, 8), (2, 5, 8, 2, 12)]
    for i, (b, t, d, heads, lat) in enumerate(cases):
        s, r = _pair(sol, ref, d, heads, lat, seed=i)
        _check(h, s, r, _x(b, t, d, seed=10 + i), label=f" for B={b} T={t} d_model={d} heads={heads} d_latent={lat}, no cache")


def test_cache_is_the_latent(sol, ref, h):
    """Property: the cache is exactly kv_down(x) (your own kv_down), the old cache first, then the new tokens'."""
    s, _ = _pair(sol, ref, seed=20)
    w, b = h.tensor(s.kv_down.weight, "kv_down.weight"), h.tensor(s.kv_down.bias, "kv_down.bias")
    x1, x2 = _x(2, 5, 16, seed=21), _x(2, 3, 16, seed=22)
    _, c1 = _unpack(s(x1), "a prompt of 5 tokens", (2, 5, 6))
    h.close(c1, F.linear(x1, w, b), "the cache after a prompt of 5 tokens (must be kv_down(x))")
    _, c2 = _unpack(s(x2, c1), "3 more tokens after that cache", (2, 8, 6))
    h.close(c2[:, :5], c1, "positions 0..4 of the grown cache (must be the cache passed in)")
    h.close(c2[:, 5:], F.linear(x2, w, b), "positions 5..7 of the grown cache (must be kv_down of the 3 new tokens)")


def test_matches_low_rank_multihead(sol, ref, h):
    """Without a cache, y equals nn.MultiheadAttention (causal) with k_proj = k_up ∘ kv_down, v_proj = v_up ∘ kv_down."""
    s, r = _pair(sol, ref, 16, 4, 6, seed=30)
    mha = torch.nn.MultiheadAttention(16, 4, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        down_w, down_b = r.kv_down.weight, r.kv_down.bias
        k_w, k_b = r.k_up.weight @ down_w, r.k_up.weight @ down_b + r.k_up.bias
        v_w, v_b = r.v_up.weight @ down_w, r.v_up.weight @ down_b + r.v_up.bias
        mha.in_proj_weight.copy_(torch.cat([r.q_proj.weight, k_w, v_w]))
        mha.in_proj_bias.copy_(torch.cat([r.q_proj.bias, k_b, v_b]))
        mha.out_proj.weight.copy_(r.out_proj.weight)
        mha.out_proj.bias.copy_(r.out_proj.bias)
    x = _x(2, 7, 16, seed=31)
    expected, _ = mha(x, x, x, attn_mask=~torch.ones(7, 7, dtype=torch.bool).tril(), need_weights=False)
    y, _ = _unpack(s(x), "output")
    h.close(y, expected, "output vs causal nn.MultiheadAttention with key/value projections k_up ∘ kv_down, v_up ∘ kv_down")


def test_decode_step(sol, ref, h):
    """One new token (T = 1) after a latent cache of L_past tokens attends all L_past + 1 positions."""
    s, r = _pair(sol, ref, seed=40)
    for length in (1, 5):
        _check(h, s, r, _x(2, 1, 16, seed=41 + length), _ref_cache(r, 2, length, 16, 50 + length), f" for one token after {length} cached")


def test_chunk_with_cache(sol, ref, h):
    """A chunk of T > 1 tokens after a cache: causal inside the chunk, offset by L_past."""
    s, r = _pair(sol, ref, seed=60)
    for t, length in ((3, 4), (4, 2), (2, 6)):
        _check(h, s, r, _x(2, t, 16, seed=61 + t), _ref_cache(r, 2, length, 16, 70 + length), f" for a chunk of {t} after {length} cached")


def test_empty_cache_and_empty_chunk(sol, ref, h):
    """An empty cache (L_past = 0) equals None; an empty chunk (T = 0) returns (B, 0, d_model) and the cache's values."""
    s, r = _pair(sol, ref, 8, 2, 3, seed=80)
    x = _x(2, 4, 8, seed=81)
    _check(h, s, r, x, torch.zeros(2, 0, 3, dtype=torch.float64), " with an empty cache (L_past = 0)")
    _check(h, s, r, x[:, :0], _ref_cache(r, 2, 3, 8, 82), " for an empty chunk (T = 0)")


def test_chunked_equals_full_pass(sol, ref, h):
    """Property (no reference): any split of a sequence into chunks, feeding each call the cache the
    previous one returned, gives the same outputs and final cache as one full pass."""
    s, _ = _pair(sol, ref, seed=90)
    x = _x(2, 7, 16, seed=91)
    full, full_cache = _unpack(s(x), "full pass", (2, 7, 6))
    full = h.tensor(full, "full pass output")
    for split in ((3, 4), (1,) * 7, (4, 1, 2), (2, 2, 3), (1, 6)):
        ys, cache, start = [], None, 0
        for t in split:
            y, cache = _unpack(s(x[:, start : start + t], cache), f"chunk {start}:{start + t} of split {split}", (2, start + t, 6))
            ys.append(h.tensor(y, "chunk output"))
            start += t
        h.close(torch.cat(ys, dim=1), full, f"outputs fed in chunks {split} vs one full pass")
        h.close(cache, full_cache, f"final cache after chunks {split} vs one full pass")


def test_causal(sol, ref, h):
    """Property: changing the tokens after position 3 leaves the outputs and the cache at positions 0..3 unchanged."""
    s, _ = _pair(sol, ref, seed=100)
    x = _x(2, 7, 16, seed=101)
    y, c = _unpack(s(x), "output", (2, 7, 6))
    x2 = x.clone()
    x2[:, 4:] = 3.0 * _x(2, 3, 16, seed=102)
    y2, c2 = _unpack(s(x2), "output", (2, 7, 6))
    h.close(h.tensor(y2, "output")[:, :4], h.tensor(y, "output")[:, :4], "outputs at positions 0..3 after changing tokens 4..6 (the future)")
    h.close(c2[:, :4], c[:, :4], "cache at positions 0..3 after changing tokens 4..6")


def test_cache_not_modified(sol, ref, h):
    """The cache passed in is left exactly as it was (same shape, same values)."""
    s, r = _pair(sol, ref, 8, 2, 3, seed=110)
    cache = _ref_cache(r, 2, 3, 8, 111)
    before = cache.clone()
    _, args = h.call_keeping_args(s, _x(2, 2, 8, seed=112), cache)
    after = h.tensor(args[1], "the cache after the call")
    assert tuple(after.shape) == tuple(before.shape), (
        f"the cache passed in changed shape from {tuple(before.shape)} to {tuple(after.shape)}: "
        "return a new cache, never grow the caller's in place"
    )
    h.close(after, before, "the cache passed in (must not be modified)")


def test_gradients(sol, ref, h):
    """With a cache, gradients w.r.t. x and every weight equal the reference's."""
    s, r = _pair(sol, ref, 8, 2, 3, seed=120)
    x = _x(2, 3, 8, seed=121)
    cache = _ref_cache(r, 2, 2, 8, 122)
    up = _x(2, 3, 8, seed=123)
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
        s, r = _pair(sol, ref, 16, 4, 6, seed=130, dtype=dtype)
        cache = _ref_cache(r, 2, 3, 16, 131).to(dtype)
        _check(h, s, r, _x(2, 2, 16, seed=132, dtype=dtype), cache, f" in {dtype}")
