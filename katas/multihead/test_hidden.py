"""Hidden suite for the multihead kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker: its classes construct objects
there, calls return tensors here.

The learner's module gets the reference's weights through load_state_dict, so nothing depends on
initialisation order; torch.nn.MultiheadAttention with the same weights is a second oracle.
"""

import torch


def _pair(sol, ref, d_model=16, heads=4, bias=True, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    r = ref.MultiHeadSelfAttention(d_model, heads, bias=bias).double()
    s = sol.MultiHeadSelfAttention(d_model, heads, bias=bias)
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


def _x(b, length, d, seed=1, dtype=torch.float64):
    return torch.randn(b, length, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def _check(h, s, r, x, mask=None, label=""):
    h.case(x=x, mask=mask)
    h.close(s(x, mask), r(x.double(), mask), f"output{label}", dtype=x.dtype)


def test_init_contract(sol, ref, h):
    """Four nn.Linear(d_model, d_model) named q_proj/k_proj/v_proj/out_proj; bias flag; ValueError."""
    m = sol.MultiHeadSelfAttention(12, 3)
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        lin = getattr(m, name, None)
        assert h.isinstance(lin, "torch.nn.Linear"), f"{name} must be an nn.Linear, got {getattr(lin, 'remote_type', type(lin).__name__)}"
        assert (lin.in_features, lin.out_features) == (12, 12), f"{name} must map d_model -> d_model (12 -> 12)"
        assert lin.bias is not None, f"{name} must have a bias when bias=True"
    m = sol.MultiHeadSelfAttention(12, 3, bias=False)
    assert all(getattr(m, n).bias is None for n in ("q_proj", "k_proj", "v_proj", "out_proj")), "bias=False must drop every bias"
    try:
        sol.MultiHeadSelfAttention(10, 3)
    except ValueError:
        pass
    else:
        raise AssertionError("MultiHeadSelfAttention(10, 3) must raise ValueError: 3 heads do not divide d_model=10")


def test_shapes(sol, ref, h):
    """Batch 1, L = 1, several widths and head counts (one head included)."""
    for seed, b, length, d, heads in [(0, 1, 1, 8, 2), (3, 2, 5, 8, 1), (1, 1, 6, 16, 4), (4, 2, 4, 24, 6), (2, 3, 7, 12, 3)]:  # smallest first
        s, r = _pair(sol, ref, d, heads, seed=seed)
        _check(h, s, r, _x(b, length, d, seed=seed), label=f" for B={b} L={length} d_model={d} heads={heads}")


def test_values_float64(sol, ref, h):
    """Exact (float64) agreement with the reference, with and without biases."""
    for bias in (True, False):
        s, r = _pair(sol, ref, 16, 4, bias=bias, seed=3)
        _check(h, s, r, _x(2, 9, 16, seed=4), label=f" (bias={bias})")


def test_matches_torch_multihead(sol, ref, h):
    """Equal to torch.nn.MultiheadAttention with the same weights (its bool mask: True = masked out)."""
    s, r = _pair(sol, ref, 16, 4, seed=5)
    mha = torch.nn.MultiheadAttention(16, 4, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([r.q_proj.weight, r.k_proj.weight, r.v_proj.weight]))
        mha.in_proj_bias.copy_(torch.cat([r.q_proj.bias, r.k_proj.bias, r.v_proj.bias]))
        mha.out_proj.weight.copy_(r.out_proj.weight)
        mha.out_proj.bias.copy_(r.out_proj.bias)
    x = _x(2, 6, 16, seed=6)
    h.case(x=x)
    expected, _ = mha(x, x, x, need_weights=False)
    h.close(s(x), expected, "output vs nn.MultiheadAttention")
    causal = torch.ones(6, 6, dtype=torch.bool).tril()
    h.case(x=x, mask=causal)
    expected, _ = mha(x, x, x, attn_mask=~causal, need_weights=False)
    h.close(s(x, causal), expected, "output with a causal mask vs nn.MultiheadAttention")


def test_masks(sol, ref, h):
    """2-D causal, (B, 1, 1, L) padding and (B, H, L, L) per-head masks; True = may attend."""
    s, r = _pair(sol, ref, 16, 4, seed=7)
    x = _x(2, 5, 16, seed=8)
    _check(h, s, r, x, torch.ones(5, 5, dtype=torch.bool).tril(), " with a causal (L, L) mask")
    pad = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]], dtype=torch.bool).view(2, 1, 1, 5)
    _check(h, s, r, x, pad, " with a (B, 1, 1, L) padding mask")
    per_head = torch.rand(2, 4, 5, 5, generator=torch.Generator().manual_seed(9)) > 0.5
    per_head[..., 0] = True
    _check(h, s, r, x, per_head, " with a (B, H, L, L) per-head mask")


def test_fully_masked_rows(sol, ref, h):
    """A query allowed no key gives out_proj's bias (zero attention output), never NaN."""
    s, r = _pair(sol, ref, 8, 2, seed=10)
    x = _x(2, 4, 8, seed=11)
    mask = torch.ones(4, 4, dtype=torch.bool)
    mask[1] = False
    h.case(x=x, mask=mask)
    out = h.tensor(s(x, mask), "output")
    assert not bool(torch.isnan(out).any()), "output contains NaN for a fully masked query row (softmax of all -inf)"
    h.close(out[:, 1], r.out_proj.bias.detach().expand(2, 8), "output of the fully masked row (should be out_proj.bias)")
    _check(h, s, r, x, mask, " with a fully masked row")


def test_gradients(sol, ref, h):
    """Gradients w.r.t. x and every weight equal the reference's."""
    s, r = _pair(sol, ref, 8, 2, seed=12)
    x = _x(2, 5, 8, seed=13)
    mask = torch.ones(5, 5, dtype=torch.bool).tril()
    up = _x(2, 5, 8, seed=14)
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
        s, r = _pair(sol, ref, 16, 4, seed=15, dtype=dtype)
        _check(h, s, r, _x(2, 6, 16, seed=16, dtype=dtype), label=f" in {dtype}")
