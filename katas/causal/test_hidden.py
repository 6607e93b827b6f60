"""Hidden suite for the causal kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker: calls send copies of the
arguments and return tensors. Inputs are seeded; the reference runs in float64. Every check here
is a causal one: `h.case` names the inputs and the two weight tensors a failure draws.
"""

import torch


def _qkv(b, heads, length, d, seed=0, dtype=torch.float32, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(b, heads, length, d, generator=g, dtype=torch.float64) for _ in range(3))
    return (scale * q).to(dtype), k.to(dtype), v.to(dtype)


def _pad(rows):
    return torch.tensor(rows, dtype=torch.bool)


def _check(sol, ref, h, q, k, v, pad=None, label=""):
    out, w = sol.causal_attention(q, k, v, pad)
    r_out, r_w = ref.causal_attention(q.double(), k.double(), v.double(), pad)
    h.case(q=q, k=k, v=v, key_padding_mask=pad, weights=(w, r_w))
    h.close(w, r_w, f"weights{label}", dtype=q.dtype)
    h.close(out, r_out, f"output{label}", dtype=q.dtype)


def test_shapes(sol, ref, h):
    """Batch 1, several heads, L = 1, various widths; output (B, H, L, d), weights (B, H, L, L)."""
    for seed, b, heads, length, d in [(0, 1, 1, 1, 4), (1, 2, 3, 1, 8), (3, 3, 2, 7, 5), (2, 1, 4, 6, 16), (4, 2, 1, 9, 32)]:  # smallest first
        q, k, v = _qkv(b, heads, length, d, seed=seed)
        _check(sol, ref, h, q, k, v, label=f" for B={b} H={heads} L={length} d={d}")


def test_values_float64(sol, ref, h):
    """Exact (float64) agreement with the reference, including the 1/√d scaling."""
    q, k, v = _qkv(2, 3, 8, 16, seed=10, dtype=torch.float64, scale=3.0)
    _check(sol, ref, h, q, k, v)


def test_causality(sol, ref, h):
    """Property: changing k and v at positions > t leaves outputs and weights at positions ≤ t unchanged."""
    q, k, v = _qkv(2, 2, 7, 8, seed=11, dtype=torch.float64)
    base_out, base_w = (h.tensor(t, what) for t, what in zip(sol.causal_attention(q, k, v), ("output", "weights")))
    h.case(q=q, k=k, v=v, weights=(base_w, ref.causal_attention(q, k, v)[1]))
    g = torch.Generator().manual_seed(12)
    for t in (0, 2, 5):
        k2, v2 = k.clone(), v.clone()
        k2[:, :, t + 1 :] = 3.0 * torch.randn(k2[:, :, t + 1 :].shape, generator=g, dtype=torch.float64)
        v2[:, :, t + 1 :] = 3.0 * torch.randn(v2[:, :, t + 1 :].shape, generator=g, dtype=torch.float64)
        out, w = sol.causal_attention(q, k2, v2)
        h.close(out[:, :, : t + 1], base_out[:, :, : t + 1], f"outputs at positions <= {t} after changing keys/values after {t} (the future leaked)")
        h.close(w[:, :, : t + 1], base_w[:, :, : t + 1], f"weights of queries <= {t} after changing keys after {t} (the future leaked)")
    future = base_w.triu(1).abs().max()
    assert float(future) == 0.0, f"weights on future keys (j > i) must be exactly 0, found {float(future):.3g}"


def test_each_query_sees_itself(sol, ref, h):
    """Property: query 0 sees only key 0 (weight 1, output v[0]); for L = 1 the output is v."""
    q, k, v = _qkv(2, 2, 5, 8, seed=13, dtype=torch.float64)
    out, w = sol.causal_attention(q, k, v)
    h.case(q=q, k=k, v=v, weights=(w, ref.causal_attention(q, k, v)[1]))
    h.close(h.tensor(w, "weights")[:, :, 0, 0], torch.ones(2, 2, dtype=torch.float64), "weight of query 0 on key 0 (a token must see itself)")
    h.close(h.tensor(out, "output")[:, :, 0], v[:, :, 0], "output of query 0 (must equal v[0])")
    q, k, v = _qkv(3, 2, 1, 4, seed=14, dtype=torch.float64)
    h.case(q=q, k=k, v=v)
    out, _ = sol.causal_attention(q, k, v)
    h.close(out, v, "output for L = 1 (must equal v)")


def test_weights_sum_to_one(sol, ref, h):
    """Property: every query's weights over the keys sum to 1 (no padding)."""
    q, k, v = _qkv(2, 3, 6, 8, seed=15, dtype=torch.float64, scale=2.0)
    _, w = sol.causal_attention(q, k, v)
    h.case(q=q, k=k, v=v, weights=(w, ref.causal_attention(q, k, v)[1]))
    h.close(h.tensor(w, "weights").sum(-1), torch.ones(2, 3, 6, dtype=torch.float64), "sum of each weight row (over the keys)")


def test_right_padding(sol, ref, h):
    """Right padding masks keys (columns), not queries: padded keys get weight exactly 0."""
    q, k, v = _qkv(3, 2, 6, 8, seed=16)
    pad = _pad([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0]])
    _check(sol, ref, h, q, k, v, pad, label=" with right padding")
    _, w = sol.causal_attention(q, k, v, pad)
    leaked = h.tensor(w, "weights").abs().amax(dim=(1, 2))[~pad].max()
    assert float(leaked) == 0.0, f"weights on padded keys must be exactly 0, found {float(leaked):.3g}"


def test_left_padding(sol, ref, h):
    """Left padding: a query with no real key at or before it gets zero weights and output, never NaN."""
    q, k, v = _qkv(3, 2, 6, 8, seed=17)
    pad = _pad([[0, 0, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]])
    out, w = sol.causal_attention(q, k, v, pad)
    h.case(q=q, k=k, v=v, key_padding_mask=pad, weights=(w, ref.causal_attention(q.double(), k.double(), v.double(), pad)[1]))
    out, w = h.tensor(out, "output"), h.tensor(w, "weights")
    assert not bool(torch.isnan(w).any()), "weights contain NaN for a left-padded query (softmax of all -inf)"
    assert not bool(torch.isnan(out).any()), "output contains NaN for a left-padded query"
    h.close(w[0, :, :2], torch.zeros(2, 2, 6), "weights of the left-padded queries 0 and 1 (no real key yet)")
    h.close(out[0, :, :2], torch.zeros(2, 2, 8), "output of the left-padded queries 0 and 1 (no real key yet)")
    _check(sol, ref, h, q, k, v, pad, label=" with left padding")


def test_gradients(sol, ref, h):
    """Gradients w.r.t. q, k and v equal the reference's (with left padding: a row with no key)."""
    q, k, v = _qkv(2, 2, 5, 4, seed=18, dtype=torch.float64)
    pad = _pad([[0, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    g = torch.Generator().manual_seed(19)
    up = torch.randn(2, 2, 5, 4, generator=g, dtype=torch.float64)
    up_w = torch.randn(2, 2, 5, 5, generator=g, dtype=torch.float64)
    h.case(q=q, k=k, v=v, key_padding_mask=pad)
    got = h.grad(sol.causal_attention, q, k, v, pad, upstream=(up, up_w), wrt=(0, 1, 2))
    assert all(got.tracked), "output is detached from q, k, v: gradients cannot flow"
    qq, kk, vv = (t.clone().requires_grad_(True) for t in (q, k, v))
    out, w = ref.causal_attention(qq, kk, vv, pad)
    expected = torch.autograd.grad((out * up).sum() + (w * up_w).sum(), (qq, kk, vv), allow_unused=True)
    for name, gr, r in zip("qkv", got.inputs, expected):
        assert gr is not None, f"no gradient reaches {name}"
        h.close(gr, r, f"gradient w.r.t. {name}")


def test_dtypes(sol, ref, h):
    """float32, float64 and bfloat16 inputs give outputs of the same dtype and close values."""
    pad = _pad([[1, 1, 1, 1, 1], [0, 1, 1, 1, 1]])
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        q, k, v = _qkv(2, 2, 5, 8, seed=20, dtype=dtype)
        _check(sol, ref, h, q, k, v, label=f" in {dtype}")
        _check(sol, ref, h, q, k, v, pad, label=f" with left padding in {dtype}")
