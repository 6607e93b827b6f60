"""Hidden suite for the cross kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker: its classes construct objects
there, calls return tensors here.

The learner's module gets the reference's weights through load_state_dict, so nothing depends on
initialisation order; torch.nn.MultiheadAttention(kdim=vdim=d_memory) with the same weights is a
second oracle (its key_padding_mask means the opposite: True = ignore).
"""

import torch

NAMES = ("q_proj", "k_proj", "v_proj", "out_proj")


def _pair(sol, ref, d_model=16, heads=4, d_memory=None, bias=True, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    r = ref.CrossAttention(d_model, heads, d_memory, bias=bias).double()
    s = sol.CrossAttention(d_model, heads, d_memory, bias=bias)
    try:
        s.load_state_dict(r.state_dict())
    except RuntimeError as exc:
        raise AssertionError(
            "could not load the reference weights (need exactly q_proj = Linear(d_model, d_model), "
            "k_proj and v_proj = Linear(d_memory, d_model), out_proj = Linear(d_model, d_model), "
            f"bias=bias): {_first_error(exc)}"
        ) from None
    return s.to(dtype), r


def _first_error(exc):
    lines = [ln.strip() for ln in str(exc).splitlines()[1:] if ln.strip()]
    return (lines[0] if lines else str(exc))[:300]


def _t(*shape, seed=1, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def _pad(lengths, lk):
    """(B, Lk) memory mask: the first lengths[b] positions of batch b are real."""
    return torch.arange(lk)[None, :] < torch.tensor(lengths)[:, None]


def _check(h, s, r, x, memory, mask=None, label=""):
    h.case(x=x, memory=memory, memory_mask=mask)
    h.close(s(x, memory, mask), r(x.double(), memory.double(), mask), f"output{label}", dtype=x.dtype)


def test_init_contract(sol, ref, h):
    """q_proj/out_proj map d_model -> d_model, k_proj/v_proj d_memory -> d_model; d_memory defaults to d_model; bias flag; ValueError."""
    m = sol.CrossAttention(12, 3, 20)
    sizes = {"q_proj": (12, 12), "k_proj": (20, 12), "v_proj": (20, 12), "out_proj": (12, 12)}
    for name, size in sizes.items():
        lin = getattr(m, name, None)
        assert h.isinstance(lin, "torch.nn.Linear"), f"{name} must be an nn.Linear, got {getattr(lin, 'remote_type', type(lin).__name__)}"
        got = (lin.in_features, lin.out_features)
        assert got == size, f"{name} must be Linear{size} for d_model=12, d_memory=20 (got Linear{got})"
        assert lin.bias is not None, f"{name} must have a bias when bias=True"
    m = sol.CrossAttention(12, 3)
    for name in NAMES:
        got = (getattr(m, name).in_features, getattr(m, name).out_features)
        assert got == (12, 12), f"with d_memory=None (= d_model), {name} must be Linear(12, 12), got Linear{got}"
    m = sol.CrossAttention(12, 3, 20, bias=False)
    assert all(getattr(m, n).bias is None for n in NAMES), "bias=False must drop every bias"
    try:
        sol.CrossAttention(10, 3, 12)
    except ValueError:
        pass
    else:
        raise AssertionError("CrossAttention(10, 3, 12) must raise ValueError: 3 heads do not divide d_model=10")


def test_shapes(sol, ref, h):
    """Lq != Lk, Lq = 1, Lk = 1, d_memory smaller, larger and equal to d_model, one head."""
    cases = [(1, 1, 1, 8, 2, None), (2, 6, 1, 8, 2, 4), (1, 4, 6, 16, 4, 8), (2, 3, 7, 8, 1, None), (2, 1, 5, 24, 6, 24), (3, 5, 2, 12, 3, 20)]  # smallest first
    seeds = [0, 5, 1, 3, 4, 2]  # each case keeps its inputs
    for i, (b, lq, lk, d, heads, dm) in zip(seeds, cases):
        s, r = _pair(sol, ref, d, heads, dm, seed=i)
        x, mem = _t(b, lq, d, seed=10 + i), _t(b, lk, dm or d, seed=20 + i)
        _check(h, s, r, x, mem, label=f" for B={b} Lq={lq} Lk={lk} d_model={d} heads={heads} d_memory={dm}")


def test_values_float64(sol, ref, h):
    """Exact (float64) agreement with the reference, with and without biases, d_memory != d_model."""
    for bias in (True, False):
        s, r = _pair(sol, ref, 16, 4, 10, bias=bias, seed=3)
        _check(h, s, r, 2 * _t(2, 4, 16, seed=4), _t(2, 7, 10, seed=5), label=f" (bias={bias})")


def test_matches_torch_multihead(sol, ref, h):
    """Equal to nn.MultiheadAttention(kdim=vdim=d_memory) with the same weights (key_padding_mask = ~memory_mask)."""
    for d_memory in (12, None):
        s, r = _pair(sol, ref, 16, 4, d_memory, seed=6)
        mha = torch.nn.MultiheadAttention(16, 4, kdim=d_memory, vdim=d_memory, batch_first=True, dtype=torch.float64)
        with torch.no_grad():
            if d_memory is None:
                mha.in_proj_weight.copy_(torch.cat([r.q_proj.weight, r.k_proj.weight, r.v_proj.weight]))
            else:
                mha.q_proj_weight.copy_(r.q_proj.weight)
                mha.k_proj_weight.copy_(r.k_proj.weight)
                mha.v_proj_weight.copy_(r.v_proj.weight)
            mha.in_proj_bias.copy_(torch.cat([r.q_proj.bias, r.k_proj.bias, r.v_proj.bias]))
            mha.out_proj.weight.copy_(r.out_proj.weight)
            mha.out_proj.bias.copy_(r.out_proj.bias)
        x, mem = _t(2, 3, 16, seed=7), _t(2, 6, d_memory or 16, seed=8)
        h.case(x=x, memory=mem)
        expected, _ = mha(x, mem, mem, need_weights=False)
        h.close(s(x, mem), expected, f"output vs nn.MultiheadAttention (d_memory={d_memory})")
        mask = _pad([4, 6], 6)
        h.case(x=x, memory=mem, memory_mask=mask)
        expected, _ = mha(x, mem, mem, key_padding_mask=~mask, need_weights=False)
        h.close(s(x, mem, mask), expected, f"output with a memory mask vs nn.MultiheadAttention (d_memory={d_memory})")


def test_memory_mask(sol, ref, h):
    """(B, Lk) memory masks mask the KEY axis, the same for every query; Lq != Lk; an all-True mask changes nothing."""
    s, r = _pair(sol, ref, 16, 4, 12, seed=9)
    x, mem = _t(3, 4, 16, seed=10), _t(3, 6, 12, seed=11)
    _check(h, s, r, x, mem, _pad([6, 3, 1], 6), " with memory lengths 6, 3, 1 (Lq=4, Lk=6)")
    scattered = torch.tensor([[1, 0, 1, 0, 1, 1], [0, 0, 0, 1, 1, 0], [1, 1, 1, 1, 1, 0]], dtype=torch.bool)
    _check(h, s, r, x, mem, scattered, " with a scattered memory mask")
    full = torch.ones(3, 6, dtype=torch.bool)
    _check(h, s, r, x, mem, full, " with an all-True memory mask")
    x_sq = _t(3, 6, 16, seed=12)
    _check(h, s, r, x_sq, mem, _pad([5, 2, 4], 6), " with Lq = Lk = 6 and a memory mask")


def test_fully_masked_memory(sol, ref, h):
    """A batch element with no real memory position gives out_proj's bias for every query, never NaN."""
    s, r = _pair(sol, ref, 8, 2, 6, seed=13)
    x, mem = _t(2, 3, 8, seed=14), _t(2, 5, 6, seed=15)
    mask = _pad([0, 3], 5)
    h.case(x=x, memory=mem, memory_mask=mask)
    out = h.tensor(s(x, mem, mask), "output")
    assert not bool(torch.isnan(out).any()), "output contains NaN for a batch element whose memory is all padding (softmax of all -inf)"
    h.close(out[0], r.out_proj.bias.detach().expand(3, 8), "output of the batch element with no real memory (should be out_proj.bias)")
    _check(h, s, r, x, mem, mask, " with one batch element fully masked")


def test_properties(sol, ref, h):
    """Without the reference: padding content is ignored, memory order does not matter, queries do not mix."""
    s, _ = _pair(sol, ref, 16, 4, 12, seed=16)
    x, mem = _t(2, 5, 16, seed=17), _t(2, 6, 12, seed=18)
    mask = _pad([4, 2], 6)
    h.case(x=x, memory=mem, memory_mask=mask)
    base = h.tensor(s(x, mem, mask), "output")
    noisy = mem.clone()
    noisy[~mask] = 100.0 * _t(int((~mask).sum()), 12, seed=19)
    h.close(s(x, noisy, mask), base, "output after changing only the PADDED memory positions (they must be ignored)")
    perm = torch.tensor([5, 2, 0, 4, 1, 3])
    h.close(s(x, mem[:, perm], mask[:, perm]), base, "output after permuting the memory positions and the mask alike (attention treats memory as a set)")
    x2 = x.clone()
    x2[:, 1] += 3.0
    got = h.tensor(s(x2, mem, mask), "output")
    keep = [0, 2, 3, 4]
    h.close(got[:, keep], base[:, keep], "outputs of queries 0, 2, 3, 4 after changing only query 1 (each query attends on its own)")


def test_gradients(sol, ref, h):
    """Gradients w.r.t. x, memory and every weight equal the reference's."""
    s, r = _pair(sol, ref, 8, 2, 6, seed=20)
    x, mem = _t(2, 4, 8, seed=21), _t(2, 5, 6, seed=22)
    mask = _pad([3, 5], 5)
    up = _t(2, 4, 8, seed=23)
    h.case(x=x, memory=mem, memory_mask=mask)
    got = h.grad(s, x, mem, mask, upstream=up, wrt=(0, 1), params=s)
    assert all(got.tracked), "output is detached: gradients cannot flow"
    xx, mm = x.clone().requires_grad_(True), mem.clone().requires_grad_(True)
    params = dict(r.named_parameters())
    expected = torch.autograd.grad((r(xx, mm, mask) * up).sum(), [xx, mm, *params.values()], allow_unused=True)
    names = ["x", "memory", *params]
    for name, g, e in zip(names, [*got.inputs, *(got.params.get(n) for n in params)], expected):
        assert g is not None, f"no gradient reaches {name}"
        h.close(g, e, f"gradient w.r.t. {name}")


def test_dtypes(sol, ref, h):
    """float32, float64 and bfloat16 in, same dtype out."""
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        s, r = _pair(sol, ref, 16, 4, 12, seed=24, dtype=dtype)
        with torch.no_grad():  # the reference computes in float64 with the weights the learner holds
            for p in r.parameters():
                p.copy_(p.to(dtype))
        _check(h, s, r, _t(2, 3, 16, seed=25, dtype=dtype), _t(2, 5, 12, seed=26, dtype=dtype), _pad([5, 3], 5), f" in {dtype}")
