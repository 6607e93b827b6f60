"""Hidden suite for the sliding_window kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker: calls send copies of the
arguments and return tensors. Inputs are seeded; the reference runs in float64. Every check here
is a window one: `h.case` names the inputs and the two weight tensors a failure draws.
"""

import math

import torch


def _qkv(b, heads, length, d, seed=0, dtype=torch.float32, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(b, heads, length, d, generator=g, dtype=torch.float64) for _ in range(3))
    return (scale * q).to(dtype), k.to(dtype), v.to(dtype)


def _band(length, window):
    i = torch.arange(length).view(length, 1)
    j = torch.arange(length).view(1, length)
    return (j <= i) & (j > i - window)


def _check(sol, ref, h, q, k, v, window, label=""):
    out, w = sol.sliding_window_attention(q, k, v, window)
    r_out, r_w = ref.sliding_window_attention(q.double(), k.double(), v.double(), window)
    h.case(q=q, k=k, v=v, window=window, weights=(w, r_w))
    h.close(w, r_w, f"weights for window={window}{label}", dtype=q.dtype)
    h.close(out, r_out, f"output for window={window}{label}", dtype=q.dtype)


def test_window_validation(sol, ref, h):
    """window < 1 (0, negative) raises ValueError; window = 1 is valid (its values are checked elsewhere)."""
    q, k, v = _qkv(1, 1, 3, 4, seed=1)
    h.case(q=q, k=k, v=v)
    for bad in (0, -2):
        try:
            sol.sliding_window_attention(q, k, v, bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"sliding_window_attention(..., window={bad}) must raise ValueError (window < 1)")
    try:
        sol.sliding_window_attention(q, k, v, 1)
    except ValueError as exc:
        raise AssertionError(f"window=1 is valid (each query sees itself) but raised {exc}") from None


def test_shapes(sol, ref, h):
    """Batch 1, several heads, L = 1, various widths; output (B, H, L, d), weights (B, H, L, L)."""
    cases = [(0, 1, 1, 1, 4, 1), (1, 2, 3, 1, 8, 4), (3, 3, 2, 7, 5, 3), (2, 1, 4, 6, 16, 2), (4, 2, 1, 9, 32, 4)]  # smallest first
    for seed, b, heads, length, d, window in cases:
        q, k, v = _qkv(b, heads, length, d, seed=seed)
        _check(sol, ref, h, q, k, v, window, label=f" for B={b} H={heads} L={length} d={d}")


def test_values_float64(sol, ref, h):
    """Exact (float64) agreement with the reference for windows 1 to L, including the 1/√d scaling."""
    q, k, v = _qkv(2, 3, 8, 16, seed=10, dtype=torch.float64, scale=3.0)
    for window in (1, 2, 3, 5, 7, 8):
        _check(sol, ref, h, q, k, v, window)


def test_band(sol, ref, h):
    """Property: weights are exactly 0 outside i - window < j <= i, positive inside, rows sum to 1."""
    q, k, v = _qkv(2, 2, 8, 8, seed=11, dtype=torch.float64)
    for window in (2, 3, 6):
        _, w = sol.sliding_window_attention(q, k, v, window)
        h.case(q=q, k=k, v=v, window=window, weights=(w, ref.sliding_window_attention(q, k, v, window)[1]))
        w = h.tensor(w, "weights")
        band = _band(8, window)
        if tuple(w.shape) == (2, 2, 8, 8):
            outside = w[..., ~band].abs().max()
            assert float(outside) == 0.0, (
                f"window={window}: weights outside i - window < j <= i must be exactly 0, found {float(outside):.3g} "
                f"(query i sees min(window, i + 1) keys, itself included)"
            )
            inside = w[..., band].min()
            assert float(inside) > 0.0, f"window={window}: a key inside the window got weight {float(inside):.3g}"
        h.close(w.sum(-1), torch.ones(2, 2, 8, dtype=torch.float64), f"sum of each weight row for window={window}")


def test_locality(sol, ref, h):
    """Property: query i's output depends only on k, v at i - window < j <= i (neither older nor future keys)."""
    q, k, v = _qkv(2, 2, 8, 8, seed=12, dtype=torch.float64)
    window, i = 3, 5
    base_out, base_w = sol.sliding_window_attention(q, k, v, window)
    h.case(q=q, k=k, v=v, window=window, weights=(base_w, ref.sliding_window_attention(q, k, v, window)[1]))
    base = h.tensor(base_out, "output")[:, :, i]
    g = torch.Generator().manual_seed(13)
    outside = [j for j in range(8) if not i - window < j <= i]
    k2, v2 = k.clone(), v.clone()
    k2[:, :, outside] = 3.0 * torch.randn(k2[:, :, outside].shape, generator=g, dtype=torch.float64)
    v2[:, :, outside] = 3.0 * torch.randn(v2[:, :, outside].shape, generator=g, dtype=torch.float64)
    after = h.tensor(sol.sliding_window_attention(q, k2, v2, window)[0], "output")[:, :, i]
    h.close(after, base, f"output of query {i} (window={window}) after changing keys/values {outside}, outside its window")


def test_window_one(sol, ref, h):
    """Property: window = 1 lets each query see only itself: weights the identity, output = v."""
    q, k, v = _qkv(2, 2, 5, 8, seed=14, dtype=torch.float64)
    out, w = sol.sliding_window_attention(q, k, v, 1)
    h.case(q=q, k=k, v=v, window=1, weights=(w, ref.sliding_window_attention(q, k, v, 1)[1]))
    h.close(w, torch.eye(5, dtype=torch.float64).expand(2, 2, 5, 5), "weights for window=1 (must be the identity)")
    h.close(out, v, "output for window=1 (must equal v)")


def test_large_window_is_causal(sol, ref, h):
    """Property: window >= L equals plain causal attention."""
    q, k, v = _qkv(2, 2, 6, 8, seed=15, dtype=torch.float64, scale=2.0)
    scores = q @ k.transpose(-2, -1) / math.sqrt(8)
    causal = torch.softmax(scores.masked_fill(~torch.ones(6, 6, dtype=torch.bool).tril(), float("-inf")), dim=-1)
    for window in (6, 7, 100):
        out, w = sol.sliding_window_attention(q, k, v, window)
        h.case(q=q, k=k, v=v, window=window, weights=(w, causal))
        h.close(w, causal, f"weights for window={window} >= L=6 (must equal causal attention)")
        h.close(out, causal @ v, f"output for window={window} >= L=6 (must equal causal attention)")


def test_gradients(sol, ref, h):
    """Gradients w.r.t. q, k and v equal the reference's."""
    q, k, v = _qkv(2, 2, 6, 4, seed=16, dtype=torch.float64)
    g = torch.Generator().manual_seed(17)
    up = torch.randn(2, 2, 6, 4, generator=g, dtype=torch.float64)
    up_w = torch.randn(2, 2, 6, 6, generator=g, dtype=torch.float64)
    h.case(q=q, k=k, v=v, window=3)
    got = h.grad(sol.sliding_window_attention, q, k, v, 3, upstream=(up, up_w), wrt=(0, 1, 2))
    assert all(got.tracked), "output is detached from q, k, v: gradients cannot flow"
    qq, kk, vv = (t.clone().requires_grad_(True) for t in (q, k, v))
    out, w = ref.sliding_window_attention(qq, kk, vv, 3)
    expected = torch.autograd.grad((out * up).sum() + (w * up_w).sum(), (qq, kk, vv), allow_unused=True)
    for name, gr, r in zip("qkv", got.inputs, expected):
        assert gr is not None, f"no gradient reaches {name}"
        h.close(gr, r, f"gradient w.r.t. {name}")


def test_dtypes(sol, ref, h):
    """float32, float64 and bfloat16 inputs give outputs of the same dtype and close values."""
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        q, k, v = _qkv(2, 2, 7, 8, seed=18, dtype=dtype)
        for window in (1, 3):
            _check(sol, ref, h, q, k, v, window, label=f" in {dtype}")
