"""Hidden suite for the transformer_block kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker. The learner's Block gets the
reference's weights through load_state_dict (with non-trivial LayerNorm weights and biases, so
that ln1 and ln2 differ and a norm in the wrong place shows); nn.TransformerEncoderLayer
(norm_first=True, exact GELU, causal mask) with the same weights is a second oracle.
"""

import torch

LINEARS = ("attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.out_proj")


def _state(ref, d_model, heads, d_ff, seed):
    torch.manual_seed(seed)
    r = ref.Block(d_model, heads, d_ff).double()
    g = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for ln in (r.ln1, r.ln2):
            ln.weight.copy_(1.0 + 0.3 * torch.randn(d_model, generator=g, dtype=torch.float64))
            ln.bias.copy_(0.3 * torch.randn(d_model, generator=g, dtype=torch.float64))
    return r


def _load(s, state):
    try:
        s.load_state_dict(state)
    except RuntimeError as exc:
        raise AssertionError(
            "could not load the reference weights (need exactly ln1, ln2, attn.{q,k,v,out}_proj, "
            f"mlp.fc, mlp.proj and no other parameters or persistent buffers): {_first_error(exc)}"
        ) from None


def _pair(sol, ref, d_model=16, heads=4, d_ff=None, seed=0, dtype=torch.float64):
    r = _state(ref, d_model, heads, d_ff, seed)
    s = sol.Block(d_model, heads, d_ff).double()  # float64 before loading: the norms' weights are float64
    _load(s, r.state_dict())
    return s.to(dtype), r


def _first_error(exc):
    lines = [ln.strip() for ln in str(exc).splitlines()[1:] if ln.strip()]
    return (lines[0] if lines else str(exc))[:300]


def _x(b, t, d, seed=1, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (2.0 * torch.randn(b, t, d, generator=g, dtype=torch.float64) + 0.5).to(dtype)


def _check(h, s, r, x, label=""):
    h.close(s(x), r(x.double()), f"output{label}", dtype=x.dtype)


def test_init_contract(sol, ref, h):
    """ln1/ln2 LayerNorm(d_model); attn q/k/v/out_proj Linear(d, d) with bias; mlp.fc (d -> d_ff, 4·d by default), mlp.proj; ValueError."""
    for d_ff, expected_ff in ((None, 48), (20, 20)):
        m = sol.Block(12, 3, d_ff)
        for name in ("ln1", "ln2"):
            ln = getattr(m, name, None)
            assert h.isinstance(ln, "torch.nn.LayerNorm"), f"{name} must be an nn.LayerNorm, got {getattr(ln, 'remote_type', type(ln).__name__)}"
            assert tuple(ln.normalized_shape) == (12,), f"{name} must be nn.LayerNorm(d_model) (12)"
        shapes = {name: (12, 12) for name in LINEARS}
        shapes.update({"mlp.fc": (12, expected_ff), "mlp.proj": (expected_ff, 12)})
        for name, (fan_in, fan_out) in shapes.items():
            obj = m
            for part in name.split("."):
                obj = getattr(obj, part, None)
            assert h.isinstance(obj, "torch.nn.Linear"), f"{name} must be an nn.Linear, got {getattr(obj, 'remote_type', type(obj).__name__)}"
            assert (obj.in_features, obj.out_features) == (fan_in, fan_out), (
                f"{name} must map {fan_in} -> {fan_out} (d_ff={d_ff!r}: {'4 * d_model' if d_ff is None else 'as given'})"
            )
            assert obj.bias is not None, f"{name} must have a bias"
    try:
        sol.Block(10, 3)
    except ValueError:
        pass
    else:
        raise AssertionError("Block(10, 3) must raise ValueError: 3 heads do not divide d_model=10")


def test_shapes(sol, ref, h):
    """Batch 1, T = 1, one head, several widths and d_ff."""
    for i, (b, t, d, heads, d_ff) in enumerate([(1, 1, 8, 2, None), (1, 6, 16, 4, None), (3, 5, 12, 3, 20), (2, 4, 8, 1, 16)]):
        s, r = _pair(sol, ref, d, heads, d_ff, seed=i)
        _check(h, s, r, _x(b, t, d, seed=10 + i), f" for B={b} T={t} d_model={d} heads={heads} d_ff={d_ff}")


def test_values_float64(sol, ref, h):
    """Exact (float64) agreement with the reference on a longer sequence."""
    s, r = _pair(sol, ref, 16, 4, seed=20)
    _check(h, s, r, _x(2, 9, 16, seed=21))


def test_matches_torch_encoder_layer(sol, ref, h):
    """Equal to nn.TransformerEncoderLayer(norm_first=True, activation='gelu', dropout=0) with a causal mask."""
    d, heads, d_ff, t = 16, 4, 24, 7
    s, r = _pair(sol, ref, d, heads, d_ff, seed=30)
    layer = torch.nn.TransformerEncoderLayer(
        d, heads, dim_feedforward=d_ff, norm_first=True, activation="gelu", batch_first=True, dropout=0.0, dtype=torch.float64
    )
    a = r.attn
    with torch.no_grad():
        layer.self_attn.in_proj_weight.copy_(torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight]))
        layer.self_attn.in_proj_bias.copy_(torch.cat([a.q_proj.bias, a.k_proj.bias, a.v_proj.bias]))
        layer.self_attn.out_proj.load_state_dict(a.out_proj.state_dict())
        layer.linear1.load_state_dict(r.mlp.fc.state_dict())
        layer.linear2.load_state_dict(r.mlp.proj.state_dict())
        layer.norm1.load_state_dict(r.ln1.state_dict())
        layer.norm2.load_state_dict(r.ln2.state_dict())
    x = _x(2, t, d, seed=31)
    expected = layer(x, src_mask=~torch.ones(t, t, dtype=torch.bool).tril())  # its bool mask: True = masked out
    h.close(s(x), expected, "output vs nn.TransformerEncoderLayer(norm_first=True) with a causal mask")


def test_causality(sol, ref, h):
    """Property (no reference): changing a later position changes no earlier output."""
    s, _ = _pair(sol, ref, 16, 4, seed=40)
    x = _x(2, 7, 16, seed=41)
    base = h.tensor(s(x), "output").detach()
    for t in (2, 5):
        changed = x.clone()
        changed[:, t:] += 3.0
        after = h.tensor(s(changed), "output").detach()
        h.close(after[:, :t], base[:, :t], f"outputs before position {t} after changing positions >= {t} (the future leaked)")


def test_identity_when_branches_are_zero(sol, ref, h):
    """Property (no reference): with out_proj and mlp.proj zeroed, a pre-LN block returns x unchanged
    (the residual stream is never normalised)."""
    r = _state(ref, 16, 4, None, 50)
    state = {k: (torch.zeros_like(v) if k.startswith(("attn.out_proj.", "mlp.proj.")) else v) for k, v in r.state_dict().items()}
    s = sol.Block(16, 4).double()
    _load(s, state)
    x = _x(2, 5, 16, seed=51)
    h.close(s(x), x, "output with both branches zeroed (should be x itself: x + 0 + 0)")


def test_gradients(sol, ref, h):
    """Gradients w.r.t. x and every weight equal the reference's."""
    s, r = _pair(sol, ref, 8, 2, 12, seed=60)
    x = _x(2, 5, 8, seed=61)
    up = _x(2, 5, 8, seed=62)
    got = h.grad(s, x, upstream=up, wrt=(0,), params=s)
    assert all(got.tracked), "output is detached: gradients cannot flow"
    xx = x.clone().requires_grad_(True)
    params = dict(r.named_parameters())
    expected = torch.autograd.grad((r(xx) * up).sum(), [xx, *params.values()], allow_unused=True)
    for name, g, e in zip(["x", *params], [got.inputs[0], *(got.params.get(n) for n in params)], expected):
        assert g is not None, f"no gradient reaches {name}"
        h.close(g, e, f"gradient w.r.t. {name}")


def test_dtypes(sol, ref, h):
    """float32, float64 and bfloat16 in, same dtype out."""
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        s, r = _pair(sol, ref, 16, 4, seed=70, dtype=dtype)
        _check(h, s, r, _x(2, 6, 16, seed=71, dtype=dtype), f" in {dtype}")
