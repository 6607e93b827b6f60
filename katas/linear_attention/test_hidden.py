"""Hidden suite for the linear_attention kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker: calls send copies of the
arguments and return tensors. Inputs are seeded; the reference runs in float64.
"""

import torch
import torch.nn.functional as F

_EXPECTED = {}  # the bound's expected output, computed once per grading run


def _qkv(b, heads, length, d_k, d_v, seed=0, dtype=torch.float32, scale=1.5, q_shift=0.0):
    g = torch.Generator().manual_seed(seed)
    q = scale * torch.randn(b, heads, length, d_k, generator=g, dtype=torch.float64) + q_shift
    k = scale * torch.randn(b, heads, length, d_k, generator=g, dtype=torch.float64)
    v = torch.randn(b, heads, length, d_v, generator=g, dtype=torch.float64)
    return q.to(dtype), k.to(dtype), v.to(dtype)


def _check(sol, ref, h, q, k, v, label="", **kw):
    out = sol.causal_linear_attention(q, k, v, **kw)
    expected = ref.causal_linear_attention(q.double(), k.double(), v.double(), **kw)
    h.close(out, expected, f"output{label}", dtype=q.dtype)
    return out


def test_shapes(sol, ref, h):
    """Batch 1, several heads, L = 1, d_v != d_k; output (B, H, L, d_v)."""
    cases = [(1, 1, 1, 4, 4), (2, 3, 1, 8, 5), (1, 2, 9, 4, 6), (3, 2, 7, 8, 8), (2, 1, 16, 16, 3)]
    for i, (b, heads, length, d_k, d_v) in enumerate(cases):
        q, k, v = _qkv(b, heads, length, d_k, d_v, seed=i)
        _check(sol, ref, h, q, k, v, f" for B={b} H={heads} L={length} d_k={d_k} d_v={d_v}")


def test_values_float64(sol, ref, h):
    """Exact (float64) agreement, inputs on both sides of 0 (both branches of elu), no 1/√d scaling."""
    q, k, v = _qkv(2, 3, 12, 8, 6, seed=10, dtype=torch.float64, scale=3.0)
    _check(sol, ref, h, q, k, v)


def test_eps(sol, ref, h):
    """eps goes into the denominator only: eps = 0.5, eps = 0, and a default eps that matters (φ(q) ≈ 3e-4)."""
    q, k, v = _qkv(2, 2, 6, 4, 5, seed=20, dtype=torch.float64)
    _check(sol, ref, h, q, k, v, " with eps=0.5", eps=0.5)
    _check(sol, ref, h, q, k, v, " with eps=0", eps=0.0)
    q, k, v = _qkv(2, 2, 6, 4, 5, seed=21, dtype=torch.float64, q_shift=-8.0)
    _check(sol, ref, h, q, k, v, " with q near -8 (φ(q) = exp(q) ≈ 3e-4, so φ(q)ᵀz is about 1e-3 and eps=1e-6 counts)")


def test_first_position(sol, ref, h):
    """Property: the first query sees only the first key, out_0 = v_0 · c / (c + eps) with c = φ(q_0)ᵀφ(k_0)."""
    q, k, v = _qkv(2, 2, 5, 4, 3, seed=30, dtype=torch.float64)
    out = h.tensor(sol.causal_linear_attention(q, k, v, eps=0.25), "output")
    c = ((F.elu(q[:, :, 0]) + 1) * (F.elu(k[:, :, 0]) + 1)).sum(-1, keepdim=True)
    if tuple(out.shape) != (2, 2, 5, 3):
        raise AssertionError(f"output: shape {tuple(out.shape)}, expected (2, 2, 5, 3) = (B, H, L, d_v)")
    h.close(out[:, :, 0], v[:, :, 0] * c / (c + 0.25), "output at position 0 with eps=0.25 (only key 0 is visible: v_0 · c / (c + eps))")


def test_causality(sol, ref, h):
    """Property: changing keys and values after position i leaves outputs 0..i unchanged."""
    q, k, v = _qkv(2, 2, 10, 4, 4, seed=40, dtype=torch.float64)
    base = h.tensor(sol.causal_linear_attention(q, k, v), "output")
    g = torch.Generator().manual_seed(41)
    k2, v2 = k.clone(), v.clone()
    k2[:, :, 6:] = 3.0 * torch.randn(2, 2, 4, 4, generator=g, dtype=torch.float64)
    v2[:, :, 6:] = 3.0 * torch.randn(2, 2, 4, 4, generator=g, dtype=torch.float64)
    after = h.tensor(sol.causal_linear_attention(q, k2, v2), "output")
    h.close(after[:, :, :6], base[:, :, :6], "outputs 0..5 after changing the keys and values at positions 6..9 (the future)")


def test_linear_in_values(sol, ref, h):
    """Property: with q and k fixed, the output is linear in v: out(2·v1 - v2) = 2·out(v1) - out(v2)."""
    q, k, v1 = _qkv(1, 2, 8, 4, 3, seed=50, dtype=torch.float64)
    v2 = _qkv(1, 2, 8, 4, 3, seed=51, dtype=torch.float64)[2]
    o1 = h.tensor(sol.causal_linear_attention(q, k, v1), "output")
    o2 = h.tensor(sol.causal_linear_attention(q, k, v2), "output")
    h.close(sol.causal_linear_attention(q, k, 2 * v1 - v2), 2 * o1 - o2, "output for 2·v1 - v2 vs 2·out(v1) - out(v2)")


def test_gradients(sol, ref, h):
    """Gradients w.r.t. q, k and v equal the reference's."""
    q, k, v = _qkv(2, 2, 6, 4, 3, seed=60, dtype=torch.float64, scale=2.0)
    up = torch.randn(2, 2, 6, 3, generator=torch.Generator().manual_seed(61), dtype=torch.float64)
    got = h.grad(sol.causal_linear_attention, q, k, v, upstream=up, wrt=(0, 1, 2))
    assert all(got.tracked), "output is detached from q, k, v: gradients cannot flow"
    qq, kk, vv = (t.clone().requires_grad_(True) for t in (q, k, v))
    expected = torch.autograd.grad((ref.causal_linear_attention(qq, kk, vv) * up).sum(), (qq, kk, vv))
    for name, g, e in zip("qkv", got.inputs, expected):
        assert g is not None, f"no gradient reaches {name}"
        h.close(g, e, f"gradient w.r.t. {name}")


def test_dtypes(sol, ref, h):
    """float32, float64 and bfloat16 inputs give outputs of the same dtype and close values."""
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        q, k, v = _qkv(2, 2, 7, 8, 4, seed=70, dtype=dtype, scale=1.0)
        _check(sol, ref, h, q, k, v, f" in {dtype}")


def test_bound_no_L_by_L(sol, ref, h):
    """L = 16384, d_k = d_v = 16, B = H = 1, float32: no L × L tensor, peak extra memory <= 128 MiB."""
    # A short input first: a wrong result fails here at once, a right one has its kernels warmed
    # up, so that their first use is not charged to the measured call.
    q, k, v = _qkv(1, 1, 1024, 16, 16, seed=89)
    _check(sol, ref, h, q, k, v, " for L=1024, d=16 (checked before the memory is measured)")
    q, k, v = _qkv(1, 1, 16384, 16, 16, seed=90)
    out = h.bounded(
        sol.causal_linear_attention, q, k, v,
        limit_mib=128,
        what="causal_linear_attention at B = H = 1, L = 16384, d_k = d_v = 16 (float32)",
        naive="an L × L matrix alone is 1.00 GiB",
    )
    if "big" not in _EXPECTED:
        _EXPECTED["big"] = ref.causal_linear_attention(q.double(), k.double(), v.double())
    h.close(out, _EXPECTED["big"], "output at L = 16384, d = 16", dtype=torch.float32)
