"""Hidden suite for the softmax kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

Values are compared with the reference run in float64 on the same inputs; the large-logit checks
run in float64 (where the reference is exact), and in float32 with a tolerance that accepts any
stable formulation (x - m - log s, or x - (m + log s)).
"""

import torch

INF = float("inf")


def _randn(*shape, seed=0, scale=1.0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale).to(dtype)


def _check(sol, ref, h, x, dim=-1, label=""):
    h.close(sol.softmax(x, dim), ref.softmax(x.double(), dim), f"softmax{label}", dtype=x.dtype)
    h.close(sol.log_softmax(x, dim), ref.log_softmax(x.double(), dim), f"log_softmax{label}", dtype=x.dtype)


def _finite(t, what):
    bad = ~torch.isfinite(t)
    if bool(bad.any()):
        idx = tuple(int(i) for i in bad.nonzero()[0])
        raise AssertionError(f"{what}: {float(t[idx])} at index {idx} — the result must be finite for finite inputs")


def test_shapes(sol, ref, h):
    """1-D to 4-D inputs, square ones included, a slice of length 1, and a tensor with no slices."""
    cases = [(7,), (4, 6), (5, 5), (2, 3, 4, 4), (3, 1), (0, 5), (2, 6, 6)]
    for i, shape in enumerate(cases):
        _check(sol, ref, h, _randn(*shape, seed=i, scale=2.0), label=f" for shape {shape}")


def test_dims(sol, ref, h):
    """Every dim, positive and negative, on (3, 4, 5) and on a (4, 4, 4) cube."""
    for shape in ((3, 4, 5), (4, 4, 4)):
        x = _randn(*shape, seed=sum(shape), scale=2.0)
        for dim in (0, 1, 2, -1, -2, -3):
            _check(sol, ref, h, x, dim, label=f" for shape {shape}, dim={dim}")


def test_values_float64(sol, ref, h):
    """Exact agreement in float64, logits of all sizes."""
    x = _randn(4, 9, seed=10, scale=6.0)
    _check(sol, ref, h, x, -1)
    _check(sol, ref, h, x, 0, label=" along dim=0")


def test_large_logits_float64(sol, ref, h):
    """Logits up to ±1e4 (rows of very different scales in one tensor): no inf, no NaN, exact values."""
    x = torch.cat([
        1e4 + _randn(2, 6, seed=11, scale=3.0),
        -1e4 + _randn(2, 6, seed=12, scale=3.0),
        _randn(2, 6, seed=13, scale=5e3).clamp(-1e4, 1e4),
        torch.tensor([[1e4, -1e4, 0.0, 9990.0, -9990.0, 1e4]], dtype=torch.float64),
    ])
    _check(sol, ref, h, x, -1, label=" with logits up to ±1e4")
    _check(sol, ref, h, x.T.contiguous(), 0, label=" with logits up to ±1e4 along dim=0")


def test_large_logits_float32(sol, ref, h):
    """float32 logits up to ±1e4 stay finite and correct (to 2e-3: any stable formulation passes)."""
    x = torch.cat([
        1e4 + _randn(2, 8, seed=14, scale=3.0),
        -1e4 + _randn(2, 8, seed=15, scale=3.0),
        torch.tensor([[1e4, -1e4, 0.0, 9999.0, -9999.0, 9998.0, 5000.0, -5000.0]], dtype=torch.float64),
    ]).float()
    for name in ("softmax", "log_softmax"):
        got = h.tensor(getattr(sol, name)(x, -1), name)
        _finite(got, f"{name} of float32 logits up to ±1e4")
        assert got.dtype == torch.float32, f"{name}: dtype {got.dtype}, expected torch.float32"
        expected = getattr(ref, name)(x.double(), -1)
        err = (got.double() - expected).abs()
        assert float(err.max()) <= 2e-3 * (1 + float(expected.abs().max()) * 1e-4), (
            f"{name} of float32 logits up to ±1e4 differs from the reference by {float(err.max()):.3g}"
        )


def test_log_softmax_no_underflow(sol, ref, h):
    """log_softmax stays finite where the probability underflows: log_softmax([0, -1e4]) = [0, -1e4]."""
    x = torch.tensor([[0.0, -1e4], [0.0, -800.0], [5.0, -200.0]], dtype=torch.float64)
    got = h.tensor(sol.log_softmax(x, -1), "log_softmax")
    _finite(got, "log_softmax of [[0, -1e4], [0, -800], [5, -200]]")
    h.close(got, ref.log_softmax(x, -1), "log_softmax of [[0, -1e4], [0, -800], [5, -200]]")
    x32 = torch.tensor([[0.0, -200.0, -1.0]])
    got = h.tensor(sol.log_softmax(x32, -1), "log_softmax")
    _finite(got, "float32 log_softmax of [0, -200, -1]")
    h.close(got, ref.log_softmax(x32.double(), -1), "float32 log_softmax of [0, -200, -1]", dtype=torch.float32)


def test_neg_inf_entries(sol, ref, h):
    """A -inf entry gets probability exactly 0 (log-probability -inf); the others are exact."""
    x = _randn(3, 5, 6, seed=16, scale=2.0)
    x[0, :, 1] = -INF
    x[1, 2, ::2] = -INF
    x[2, 4, :5] = -INF
    p = h.tensor(sol.softmax(x, -1), "softmax")
    masked = torch.isinf(x)
    assert float(p[masked].abs().max()) == 0.0, "softmax: an entry of -inf must get probability exactly 0"
    _check(sol, ref, h, x, -1, label=" with -inf entries")
    _check(sol, ref, h, x, 1, label=" with -inf entries, along dim=1")


def test_all_neg_inf_rows(sol, ref, h):
    """A row of all -inf gives zeros (softmax) and all -inf (log_softmax), never NaN; other rows unaffected."""
    for dtype in (torch.float32, torch.float64):
        x = _randn(4, 5, seed=17, scale=2.0, dtype=dtype)
        x[1] = -INF
        x[3, 1:] = -INF
        p = h.tensor(sol.softmax(x, -1), "softmax")
        lp = h.tensor(sol.log_softmax(x, -1), "log_softmax")
        assert not bool(torch.isnan(p).any()), f"softmax gives NaN for a row of all -inf ({dtype})"
        assert not bool(torch.isnan(lp).any()), f"log_softmax gives NaN for a row of all -inf ({dtype})"
        assert bool((p[1] == 0).all()), f"softmax of a row of all -inf must be zeros, got {p[1].tolist()}"
        assert bool((lp[1] == -INF).all()), f"log_softmax of a row of all -inf must be all -inf, got {lp[1].tolist()}"
        _check(sol, ref, h, x, -1, label=f" with a row of all -inf ({dtype})")
        _check(sol, ref, h, x.T.contiguous(), 0, label=f" with a column of all -inf along dim=0 ({dtype})")


def test_properties(sol, ref, h):
    """No reference: rows are >= 0 and sum to 1, softmax(x + c) = softmax(x) for c = 1e4 per row,
    and exp(log_softmax) = softmax."""
    x = _randn(6, 7, seed=18, scale=3.0)
    p = h.tensor(sol.softmax(x, -1), "softmax")
    assert float(p.min()) >= 0.0, "softmax gave a negative probability"
    h.close(p.sum(-1), torch.ones(6, dtype=torch.float64), "sum of each softmax row")
    c = torch.tensor([1e4, -1e4, 5e3, -5e3, 0.0, 9e3], dtype=torch.float64).view(6, 1)
    h.close(sol.softmax(x + c, -1), p, "softmax(x + c) vs softmax(x) (softmax is shift-invariant)")
    lp = h.tensor(sol.log_softmax(x + c, -1), "log_softmax")
    h.close(lp.exp(), p, "exp(log_softmax(x + c)) vs softmax(x)")
    h.close(lp - (x + c), (lp - (x + c))[:, :1].expand(6, 7), "log_softmax(x) - x (constant along each row)")


def test_gradients(sol, ref, h):
    """Gradients w.r.t. x equal the reference's, for softmax and log_softmax, along dim=-1 and dim=0."""
    x = _randn(4, 5, seed=19, scale=2.0)
    up = _randn(4, 5, seed=20)
    for name in ("softmax", "log_softmax"):
        for dim in (-1, 0):
            got = h.grad(getattr(sol, name), x, dim, upstream=up, wrt=(0,))
            assert all(got.tracked), f"{name}: the output is detached from x, gradients cannot flow"
            xx = x.clone().requires_grad_(True)
            (expected,) = torch.autograd.grad((getattr(ref, name)(xx, dim) * up).sum(), xx)
            assert got.inputs[0] is not None, f"{name}: no gradient reaches x"
            h.close(got.inputs[0], expected, f"gradient of {name} (dim={dim}) w.r.t. x")


def test_dtypes(sol, ref, h):
    """float32, float64 and bfloat16 inputs give results of the same dtype and close values."""
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        _check(sol, ref, h, _randn(3, 8, seed=21, scale=2.0, dtype=dtype), label=f" in {dtype}")
