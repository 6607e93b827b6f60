"""Hidden suite for the gqa kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker: its classes construct objects
there, calls return tensors here.

The learner's module gets the reference's weights through load_state_dict, so nothing depends on
initialisation order; torch.nn.functional.scaled_dot_product_attention(enable_gqa=True) on the
same projections is a second oracle (its bool mask also means True = may attend).
"""

import torch
import torch.nn.functional as F

NAMES = ("q_proj", "k_proj", "v_proj", "out_proj")


def _load(s, state):
    try:
        s.load_state_dict(state)
    except RuntimeError as exc:
        raise AssertionError(
            "could not load the reference weights (need exactly q_proj = Linear(d_model, num_heads * head_dim), "
            "k_proj and v_proj = Linear(d_model, num_kv_heads * head_dim), out_proj = Linear(num_heads * head_dim, "
            f"d_model), bias=bias): {_first_error(exc)}"
        ) from None


def _first_error(exc):
    lines = [ln.strip() for ln in str(exc).splitlines()[1:] if ln.strip()]
    return (lines[0] if lines else str(exc))[:300]


def _pair(sol, ref, d_model=16, heads=8, kv_heads=2, bias=False, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    r = ref.GroupedQueryAttention(d_model, heads, kv_heads, bias=bias).double()
    s = sol.GroupedQueryAttention(d_model, heads, kv_heads, bias=bias)
    _load(s, r.state_dict())
    return s.to(dtype), r


def _x(b, length, d, seed=1, dtype=torch.float64):
    return torch.randn(b, length, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def _check(h, s, r, x, mask=None, label=""):
    h.case(x=x, mask=mask)
    h.close(s(x, mask), r(x.double(), mask), f"output{label}", dtype=x.dtype)


def test_init_contract(sol, ref, h):
    """q_proj d_model -> H·head_dim, k_proj/v_proj d_model -> Hkv·head_dim, out_proj back; bias off by default; ValueError."""
    m = sol.GroupedQueryAttention(16, 8, 2)
    sizes = {"q_proj": (16, 16), "k_proj": (16, 4), "v_proj": (16, 4), "out_proj": (16, 16)}
    for name, size in sizes.items():
        lin = getattr(m, name, None)
        assert h.isinstance(lin, "torch.nn.Linear"), f"{name} must be an nn.Linear, got {getattr(lin, 'remote_type', type(lin).__name__)}"
        got = (lin.in_features, lin.out_features)
        assert got == size, f"{name} must be Linear{size} for d_model=16, num_heads=8, num_kv_heads=2 (head_dim=2), got Linear{got}"
        assert lin.bias is None, f"{name} must have no bias by default (bias=False)"
    m = sol.GroupedQueryAttention(16, 8, 2, bias=True)
    assert all(getattr(m, n).bias is not None for n in NAMES), "bias=True must give every projection a bias"
    for args, why in (((10, 3, 1), "3 heads do not divide d_model=10"), ((16, 8, 3), "3 KV heads do not divide num_heads=8")):
        try:
            sol.GroupedQueryAttention(*args)
        except ValueError:
            pass
        else:
            raise AssertionError(f"GroupedQueryAttention{args} must raise ValueError: {why}")


def test_shapes(sol, ref, h):
    """B = 1, L = 1, MQA (one KV head), MHA (as many KV heads as query heads), several group sizes."""
    cases = [(0, 1, 1, 8, 2, 1), (1, 1, 6, 16, 4, 2), (3, 2, 5, 16, 4, 4), (4, 2, 4, 24, 6, 3), (5, 2, 3, 32, 8, 2), (2, 3, 7, 12, 3, 1)]  # smallest first
    for seed, b, length, d, heads, kv in cases:
        s, r = _pair(sol, ref, d, heads, kv, seed=seed)
        _check(h, s, r, _x(b, length, d, seed=seed), label=f" for B={b} L={length} d_model={d} heads={heads} kv_heads={kv}")


def test_values_float64(sol, ref, h):
    """Exact (float64) agreement with the reference, with and without biases (8 query heads, 2 KV heads)."""
    for bias in (False, True):
        s, r = _pair(sol, ref, 16, 8, 2, bias=bias, seed=3)
        _check(h, s, r, 2 * _x(2, 9, 16, seed=4), label=f" (bias={bias})")


def test_matches_torch_sdpa_gqa(sol, ref, h):
    """Equal to F.scaled_dot_product_attention(..., enable_gqa=True) on the same projections, with and without a causal mask."""
    for heads, kv in ((8, 2), (6, 3), (4, 1)):
        s, r = _pair(sol, ref, 24, heads, kv, bias=True, seed=5)
        x = _x(2, 6, 24, seed=6)
        hd = 24 // heads
        q = r.q_proj(x).view(2, 6, heads, hd).transpose(1, 2)
        k = r.k_proj(x).view(2, 6, kv, hd).transpose(1, 2)
        v = r.v_proj(x).view(2, 6, kv, hd).transpose(1, 2)
        causal = torch.ones(6, 6, dtype=torch.bool).tril()
        for mask, what in ((None, ""), (causal, " with a causal mask")):
            h.case(x=x, mask=mask)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
            expected = r.out_proj(y.transpose(1, 2).reshape(2, 6, 24))
            h.close(s(x, mask), expected, f"output vs F.scaled_dot_product_attention(enable_gqa=True){what} (heads={heads}, kv_heads={kv})")


def test_head_mapping(sol, ref, h):
    """Without the reference: changing KV head j's value weights changes exactly query heads j·G .. j·G+G-1."""
    d_model, heads, kv = 16, 8, 4
    hd, group = d_model // heads, heads // kv
    g = torch.Generator().manual_seed(7)
    state = {f"{n}.weight": torch.randn(o, d_model, generator=g, dtype=torch.float64) for n, o in (("q_proj", d_model), ("k_proj", kv * hd), ("v_proj", kv * hd))}
    state["out_proj.weight"] = torch.eye(d_model, dtype=torch.float64)  # output columns = heads side by side
    s = sol.GroupedQueryAttention(d_model, heads, kv).double()
    _load(s, state)
    x = _x(2, 5, d_model, seed=8)
    base = h.tensor(s(x), "output").view(2, 5, heads, hd)
    for j in range(kv):
        changed = dict(state)
        changed["v_proj.weight"] = state["v_proj.weight"].clone()
        changed["v_proj.weight"][j * hd : (j + 1) * hd] += 1.0
        _load(s, changed)
        out = h.tensor(s(x), "output").view(2, 5, heads, hd)
        moved = [hh for hh in range(heads) if not torch.allclose(out[:, :, hh], base[:, :, hh], rtol=1e-9, atol=1e-9)]
        expected = list(range(j * group, (j + 1) * group))
        assert moved == expected, (
            f"with num_heads={heads}, num_kv_heads={kv}, changing KV head {j} changed query heads {moved}, "
            f"expected {expected}: query head h must read KV head h // (num_heads // num_kv_heads) (consecutive groups)"
        )


def test_same_as_mha_with_repeated_kv(sol, ref, h):
    """Without the reference: GQA equals the learner's own MHA (num_kv_heads = num_heads) with each KV head's weights repeated per group."""
    d_model, heads, kv = 24, 6, 2
    hd, group = d_model // heads, heads // kv
    g = torch.Generator().manual_seed(9)
    shapes = {"q_proj": (d_model, d_model), "k_proj": (kv * hd, d_model), "v_proj": (kv * hd, d_model), "out_proj": (d_model, d_model)}
    state = {}
    for n, (o, i) in shapes.items():
        state[f"{n}.weight"] = torch.randn(o, i, generator=g, dtype=torch.float64) * 0.5
        state[f"{n}.bias"] = torch.randn(o, generator=g, dtype=torch.float64) * 0.1
    wide = dict(state)
    for n in ("k_proj", "v_proj"):
        wide[f"{n}.weight"] = state[f"{n}.weight"].view(kv, hd, d_model).repeat_interleave(group, dim=0).reshape(heads * hd, d_model)
        wide[f"{n}.bias"] = state[f"{n}.bias"].view(kv, hd).repeat_interleave(group, dim=0).reshape(heads * hd)
    gqa = sol.GroupedQueryAttention(d_model, heads, kv, bias=True).double()
    _load(gqa, state)
    mha = sol.GroupedQueryAttention(d_model, heads, heads, bias=True).double()
    _load(mha, wide)
    x = _x(2, 5, d_model, seed=10)
    causal = torch.ones(5, 5, dtype=torch.bool).tril()
    h.close(gqa(x, causal), mha(x, causal), "GQA output vs your own num_kv_heads = num_heads module with each KV head repeated for its group")


def test_masks(sol, ref, h):
    """2-D causal, (B, 1, 1, L) padding and (B, H, L, L) per-query-head masks; True = may attend."""
    s, r = _pair(sol, ref, 16, 4, 2, seed=11)
    x = _x(2, 5, 16, seed=12)
    _check(h, s, r, x, torch.ones(5, 5, dtype=torch.bool).tril(), " with a causal (L, L) mask")
    pad = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]], dtype=torch.bool).view(2, 1, 1, 5)
    _check(h, s, r, x, pad, " with a (B, 1, 1, L) padding mask")
    per_head = torch.rand(2, 4, 5, 5, generator=torch.Generator().manual_seed(13)) > 0.5
    per_head[..., 0] = True
    _check(h, s, r, x, per_head, " with a (B, num_heads, L, L) per-head mask")


def test_fully_masked_rows(sol, ref, h):
    """A query allowed no key gives out_proj's bias (zero attention output), never NaN."""
    s, r = _pair(sol, ref, 8, 4, 2, bias=True, seed=14)
    x = _x(2, 4, 8, seed=15)
    mask = torch.ones(4, 4, dtype=torch.bool)
    mask[1] = False
    h.case(x=x, mask=mask)
    out = h.tensor(s(x, mask), "output")
    assert not bool(torch.isnan(out).any()), "output contains NaN for a fully masked query row (softmax of all -inf)"
    h.close(out[:, 1], r.out_proj.bias.detach().expand(2, 8), "output of the fully masked row (should be out_proj.bias)")
    _check(h, s, r, x, mask, " with a fully masked row")


def test_gradients(sol, ref, h):
    """Gradients w.r.t. x and every weight equal the reference's (2 KV heads shared by 4 query heads)."""
    s, r = _pair(sol, ref, 8, 4, 2, bias=True, seed=16)
    x = _x(2, 5, 8, seed=17)
    mask = torch.ones(5, 5, dtype=torch.bool).tril()
    up = _x(2, 5, 8, seed=18)
    h.case(x=x, mask=mask)
    got = h.grad(s, x, mask, upstream=up, wrt=(0,), params=s)
    assert all(got.tracked), "output is detached: gradients cannot flow"
    xx = x.clone().requires_grad_(True)
    params = dict(r.named_parameters())
    expected = torch.autograd.grad((r(xx, mask) * up).sum(), [xx, *params.values()], allow_unused=True)
    for name, g, e in zip(["x", *params], [got.inputs[0], *(got.params.get(n) for n in params)], expected):
        assert g is not None, f"no gradient reaches {name}"
        h.close(g, e, f"gradient w.r.t. {name}")


def test_dtypes(sol, ref, h):
    """float32, float64 and bfloat16 in, same dtype out."""
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        s, r = _pair(sol, ref, 16, 8, 2, seed=19, dtype=dtype)
        with torch.no_grad():  # the reference computes in float64 with the weights the learner holds
            for p in r.parameters():
                p.copy_(p.to(dtype))
        _check(h, s, r, _x(2, 6, 16, seed=20, dtype=dtype), torch.ones(6, 6, dtype=torch.bool).tril(), f" in {dtype}")
