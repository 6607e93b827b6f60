"""Hidden suite for the norms kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

The learner's modules get random weights through load_state_dict (names `weight`, `bias`), so a
missing or unused parameter shows; torch.nn.LayerNorm and torch.nn.RMSNorm with the same weights
are a second oracle. Inputs include nearly constant vectors (variance ≈ eps), where the place of
eps decides the result; those run in float64, where every formulation of the variance is exact.
"""

import torch

NAMES = {"LayerNorm": ("weight", "bias"), "RMSNorm": ("weight",)}


def _randn(*shape, seed=0, scale=1.0, shift=0.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale + shift


def _state(cls, d, seed):
    """Random weights, exact in float32 (the learner's module may be float32 when it loads them)."""
    return {
        n: _randn(d, seed=seed + i, scale=0.5, shift=1.0 if n == "weight" else 0.0).float().double()
        for i, n in enumerate(NAMES[cls])
    }


def _pair(sol, ref, cls, d, seed=0, dtype=torch.float64, **kw):
    state = _state(cls, d, seed)
    r = getattr(ref, cls)(d, **kw).double()
    r.load_state_dict(state)
    s = getattr(sol, cls)(d, **kw)
    try:
        s.load_state_dict(state)
    except RuntimeError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines()[1:] if ln.strip()]
        raise AssertionError(
            f"could not load weights into {cls}({d}) (need exactly the parameters {', '.join(NAMES[cls])} of shape ({d},)): "
            f"{(lines[0] if lines else str(exc))[:300]}"
        ) from None
    return s.to(dtype), r


def _near_constant(d, seed):
    """(4, 3, d): ordinary rows, nearly constant rows around 0.4 and -1, tiny rows (variance ≈ eps)."""
    x = _randn(4, 3, d, seed=seed, scale=1.5, shift=0.3)
    x[0, 1] = 0.4 + _randn(d, seed=seed + 1, scale=3e-3)
    x[1, 2] = -1.0 + _randn(d, seed=seed + 2, scale=1e-3)
    x[2, 0] = _randn(d, seed=seed + 3, scale=2e-3)
    x[3, 1] = _randn(d, seed=seed + 4, scale=5e-4)
    return x


def _check(h, s, r, x, label=""):
    h.close(s(x), r(x.double()), f"output{label}", dtype=x.dtype)


def test_init_contract(sol, ref, h):
    """LayerNorm(d): weight ones, bias zeros, nothing else; RMSNorm(d): weight ones, no bias."""
    for cls, names in NAMES.items():
        m = getattr(sol, cls)(5)
        h.close(m.weight, torch.ones(5), f"{cls}(5).weight at initialisation (ones)")
        if "bias" in names:
            h.close(m.bias, torch.zeros(5), f"{cls}(5).bias at initialisation (zeros)")
        _pair(sol, ref, cls, 5)


def test_layernorm_shapes(sol, ref, h):
    """LayerNorm on (d,), (N, d), (B, L, d), (B, H, L, d), batch 1, and d = 1 (returns bias)."""
    for i, shape in enumerate([(8,), (5, 8), (2, 3, 8), (2, 2, 3, 4), (1, 1, 6), (3, 1)]):
        s, r = _pair(sol, ref, "LayerNorm", shape[-1], seed=i)
        _check(h, s, r, _randn(*shape, seed=10 + i, scale=2.0, shift=0.5), f" of LayerNorm for shape {shape}")


def test_rmsnorm_shapes(sol, ref, h):
    """RMSNorm on (d,), (N, d), (B, L, d), (B, H, L, d), batch 1, and d = 1."""
    for i, shape in enumerate([(8,), (5, 8), (2, 3, 8), (2, 2, 3, 4), (1, 1, 6), (3, 1)]):
        s, r = _pair(sol, ref, "RMSNorm", shape[-1], seed=i)
        _check(h, s, r, _randn(*shape, seed=20 + i, scale=2.0, shift=0.5), f" of RMSNorm for shape {shape}")


def test_matches_torch(sol, ref, h):
    """Equal to torch.nn.LayerNorm and torch.nn.RMSNorm with the same weights and eps."""
    x = _near_constant(8, seed=30)
    for cls, eps in (("LayerNorm", 1e-5), ("LayerNorm", 1e-3), ("RMSNorm", 1e-6), ("RMSNorm", 1e-4)):
        s, _ = _pair(sol, ref, cls, 8, seed=31, eps=eps)
        oracle = getattr(torch.nn, cls)(8, eps=eps, dtype=torch.float64)
        oracle.load_state_dict(_state(cls, 8, 31))
        with torch.no_grad():
            expected = oracle(x)
        h.close(s(x), expected, f"{cls}(8, eps={eps}) vs torch.nn.{cls}")


def test_near_constant_rows(sol, ref, h):
    """Vectors with variance ≈ eps (default eps): eps inside the square root decides the result."""
    x = _near_constant(8, seed=40)
    for cls in NAMES:
        s, r = _pair(sol, ref, cls, 8, seed=41)
        _check(h, s, r, x, f" of {cls} with nearly constant vectors (default eps)")


def test_constant_and_zero_rows(sol, ref, h):
    """A constant vector gives LayerNorm's bias, a zero vector gives 0 from both, never NaN."""
    x = _randn(3, 6, seed=50, shift=0.2)
    x[1] = 0.75
    x[2] = 0.0
    for cls in NAMES:
        s, r = _pair(sol, ref, cls, 6, seed=51)
        out = h.tensor(s(x), "output")
        assert not bool(torch.isnan(out).any()), f"{cls} gives NaN for a constant or zero vector: eps belongs inside the square root"
        _check(h, s, r, x, f" of {cls} with a constant and a zero vector")
    s, r = _pair(sol, ref, "LayerNorm", 6, seed=51)
    h.close(s(x)[1:], r.bias.detach().expand(2, 6), "LayerNorm of a constant vector (should be bias)")


def test_eps_is_used(sol, ref, h):
    """eps as given: a large one (0.5) changes every row, eps = 0 removes it."""
    x = _randn(4, 6, seed=60, scale=0.5)
    for cls in NAMES:
        for eps in (0.5, 0.0):
            s, r = _pair(sol, ref, cls, 6, seed=61, eps=eps)
            _check(h, s, r, x, f" of {cls}(6, eps={eps})")


def test_properties(sol, ref, h):
    """No reference: with eps = 0 and fresh weights, LayerNorm rows have mean 0 and biased variance 1,
    RMSNorm rows have mean square 1 and point along x; each vector is normalised on its own."""
    x = _randn(2, 5, 7, seed=70, scale=3.0, shift=1.0)
    y = h.tensor(sol.LayerNorm(7, eps=0.0).double()(x), "LayerNorm output")
    h.close(y.mean(-1), torch.zeros(2, 5, dtype=torch.float64), "mean of each LayerNorm output vector")
    h.close(y.pow(2).mean(-1), torch.ones(2, 5, dtype=torch.float64), "biased variance of each LayerNorm output vector")
    z = h.tensor(sol.RMSNorm(7, eps=0.0).double()(x), "RMSNorm output")
    h.close(z.pow(2).mean(-1), torch.ones(2, 5, dtype=torch.float64), "mean square of each RMSNorm output vector")
    ratio = z / x
    h.close(ratio, ratio[..., :1].expand(2, 5, 7), "RMSNorm output / x (a positive constant per vector: no centring)")
    x2 = x.clone()
    x2[1] = x2[1] * 10 - 4
    for cls in NAMES:
        m = getattr(sol, cls)(7).double()
        h.close(m(x2)[0], m(x)[0], f"{cls} of vector batch 0 after changing batch 1 (statistics are per vector)")


def test_gradients(sol, ref, h):
    """Gradients w.r.t. x, weight and bias equal the reference's (nearly constant vectors included)."""
    x = _near_constant(6, seed=80)
    up = _randn(4, 3, 6, seed=81)
    for cls in NAMES:
        s, r = _pair(sol, ref, cls, 6, seed=82)
        got = h.grad(s, x, upstream=up, wrt=(0,), params=s)
        assert all(got.tracked), f"{cls}: the output is detached, gradients cannot flow"
        xx = x.clone().requires_grad_(True)
        params = dict(r.named_parameters())
        expected = torch.autograd.grad((r(xx) * up).sum(), [xx, *params.values()])
        for name, g, e in zip(["x", *params], [got.inputs[0], *(got.params.get(n) for n in params)], expected):
            assert g is not None, f"{cls}: no gradient reaches {name}"
            h.close(g, e, f"{cls}: gradient w.r.t. {name}")


def test_dtypes(sol, ref, h):
    """float32, float64 and bfloat16 modules and inputs, same dtype out."""
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        x = _randn(3, 4, 16, seed=90, scale=2.0, shift=0.5).to(dtype)
        for cls in NAMES:
            s, r = _pair(sol, ref, cls, 16, seed=91, dtype=dtype)
            r = r.to(dtype).double()  # the weights as the learner's module holds them
            _check(h, s, r, x, f" of {cls} in {dtype}")
