"""Hidden suite for the attention kata.

Each test is one check in `attnquiz grade` (name = function name without `test_`). It runs in the
judge; fixtures come from attnquiz.grading.suite: `sol` is a proxy to the learner's module in the
sandboxed worker (calls send copies of the arguments and return tensors), `ref` the reference,
`h` the comparison helpers (float64 reference, per-dtype tolerances) and the worker requests a
plain call cannot express (h.grad, h.watch, h.isinstance). Inputs are seeded. `h.case` names the
inputs of the call being checked (and, where a mask matters, the two weight tensors to draw), so
a failure shows its case; loops try small cases first, as the first failing case is the one shown.
"""

import torch


def _qkv(shape_q, shape_k, d_v, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(*shape_q, generator=g, dtype=torch.float64)
    k = torch.randn(*shape_k, generator=g, dtype=torch.float64)
    v = torch.randn(*shape_k[:-1], d_v, generator=g, dtype=torch.float64)
    return q.to(dtype), k.to(dtype), v.to(dtype)


def _check(sol, ref, h, q, k, v, mask=None, label="", draw=False):
    """Weights, then output, against the reference; DRAW: a failure draws both weight tensors."""
    out, w = sol.scaled_dot_product_attention(q, k, v, mask)
    r_out, r_w = ref.scaled_dot_product_attention(q.double(), k.double(), v.double(), mask)
    h.case(q=q, k=k, v=v, mask=mask, weights=(w, r_w) if draw else None)
    h.close(w, r_w, f"weights{label}", dtype=q.dtype)
    h.close(out, r_out, f"output{label}", dtype=q.dtype)


def test_shapes(sol, ref, h):
    """Leading dims (none, one, several), Lq != Lk, d_v != d_k, L = 1."""
    cases = [  # (seed, q shape, k shape, d_v), smallest first
        (3, (2, 1, 8), (2, 1, 8), 3),
        (1, (1, 4, 8), (1, 4, 8), 8),
        (0, (5, 8), (5, 8), 8),
        (4, (3, 1, 16), (3, 9, 16), 4),
        (2, (2, 3, 4, 6, 8), (2, 3, 4, 7, 8), 5),
    ]
    for seed, sq, sk, d_v in cases:
        q, k, v = _qkv(sq, sk, d_v, seed=seed)
        _check(sol, ref, h, q, k, v, label=f" for q{sq} k{sk} d_v={d_v}")


def test_values_float64(sol, ref, h):
    """Exact (float64) agreement with the reference, including the 1/√d_k scaling."""
    q, k, v = _qkv((2, 6, 32), (2, 9, 32), 12, seed=10, dtype=torch.float64)
    _check(sol, ref, h, 3 * q, k, v)


def test_weights_sum_to_one(sol, ref, h):
    """Every query's weights over the keys sum to 1."""
    q, k, v = _qkv((3, 5, 8), (3, 7, 8), 8, seed=11, dtype=torch.float64)
    h.case(q=q, k=k, v=v)
    _, w = sol.scaled_dot_product_attention(q, k, v)
    w = h.tensor(w, "weights")
    h.close(w.sum(-1), torch.ones(3, 5, dtype=torch.float64), "sum of each weight row (over the keys)")


def test_mask_2d(sol, ref, h):
    """A (Lq, Lk) mask applies to every batch; masked keys get weight exactly 0."""
    q, k, v = _qkv((2, 5, 8), (2, 6, 8), 4, seed=12)
    mask = torch.rand(5, 6, generator=torch.Generator().manual_seed(1)) > 0.4
    mask[:, 0] = True
    _check(sol, ref, h, q, k, v, mask, label=" with a 2-D mask", draw=True)
    _, w = sol.scaled_dot_product_attention(q, k, v, mask)
    leaked = h.tensor(w, "weights")[..., ~mask].abs().max()
    assert float(leaked) == 0.0, f"weights on masked keys must be exactly 0, found {float(leaked):.3g}"


def test_mask_broadcast(sol, ref, h):
    """A key-padding mask (B, 1, 1, Lk) broadcasts over heads and queries; a causal one too."""
    q, k, v = _qkv((2, 3, 4, 8), (2, 3, 4, 8), 8, seed=13)
    pad = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=torch.bool).view(2, 1, 1, 4)
    _check(sol, ref, h, q, k, v, pad, label=" with a (B, 1, 1, Lk) padding mask", draw=True)
    causal = torch.ones(4, 4, dtype=torch.bool).tril()
    _check(sol, ref, h, q, k, v, causal, label=" with a causal mask", draw=True)


def test_fully_masked_rows(sol, ref, h):
    """A query that may attend to nothing gets zero weights and a zero output, never NaN."""
    q, k, v = _qkv((2, 3, 8), (2, 4, 8), 5, seed=14)
    mask = torch.tensor([[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    out, w = sol.scaled_dot_product_attention(q, k, v, mask)
    h.case(q=q, k=k, v=v, mask=mask, weights=(w, ref.scaled_dot_product_attention(q.double(), k.double(), v.double(), mask)[1]))
    out, w = h.tensor(out, "output"), h.tensor(w, "weights")
    assert not bool(torch.isnan(w).any()), "weights contain NaN for the fully masked query row (softmax of all -inf)"
    assert not bool(torch.isnan(out).any()), "output contains NaN for the fully masked query row"
    h.close(w[:, 1], torch.zeros(2, 4), "weights of the fully masked row")
    h.close(out[:, 1], torch.zeros(2, 5), "output of the fully masked row")
    _check(sol, ref, h, q, k, v, mask, label=" with a fully masked row", draw=True)


def test_gradients(sol, ref, h):
    """Gradients w.r.t. q, k and v equal the reference's (with a mask and a fully masked row)."""
    q, k, v = _qkv((2, 4, 6), (2, 5, 6), 3, seed=15, dtype=torch.float64)
    mask = torch.ones(4, 5, dtype=torch.bool)
    mask[1] = False
    mask[2, 3:] = False
    up = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    h.case(q=q, k=k, v=v, mask=mask)
    got = h.grad(sol.scaled_dot_product_attention, q, k, v, mask, upstream=(up, torch.full((2, 4, 5), 0.5, dtype=torch.float64)), wrt=(0, 1, 2))
    assert all(got.tracked), "output is detached from q, k, v: gradients cannot flow"
    qq, kk, vv = (t.clone().requires_grad_(True) for t in (q, k, v))
    out, w = ref.scaled_dot_product_attention(qq, kk, vv, mask)
    expected = torch.autograd.grad((out * up).sum() + w.sum() * 0.5, (qq, kk, vv), allow_unused=True)
    for name, g, r in zip("qkv", got.inputs, expected):
        assert g is not None, f"no gradient reaches {name}"
        h.close(g, r, f"gradient w.r.t. {name}")


def test_dtypes(sol, ref, h):
    """float32, float64 and bfloat16 inputs give outputs of the same dtype and close values."""
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        q, k, v = _qkv((2, 4, 8), (2, 4, 8), 8, seed=16, dtype=dtype)
        _check(sol, ref, h, q, k, v, label=f" in {dtype}")
