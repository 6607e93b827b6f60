"""Hidden suite for the attention_backward kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker: h.grad calls a function there
with gradients on the chosen arguments and runs the backward with the given upstream gradient,
so the learner's AttentionFunction.backward runs in the worker. The expected gradients come from
autograd of the plain forward (no custom Function) in float64 here; the gradcheck compares the
learner's backward with finite differences of the learner's own forward.
"""

import math

import torch


def _qkv(shape, seed=0, dtype=torch.float64, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    q, k, v, up = (torch.randn(*shape, generator=g, dtype=torch.float64) for _ in range(4))
    return (scale * q).to(dtype), k.to(dtype), v.to(dtype), up.to(dtype)


def _expected(q, k, v, up):
    """Output and gradients by autograd of softmax(q kᵀ/√d) v, in float64."""
    qq, kk, vv = (t.detach().double().requires_grad_(True) for t in (q, k, v))
    out = torch.softmax(qq @ kk.transpose(-2, -1) / math.sqrt(qq.size(-1)), dim=-1) @ vv
    return (out.detach(), *torch.autograd.grad(out, (qq, kk, vv), up.double()))


def _check_grads(h, fn, q, k, v, up, label, wrt=(0, 1, 2)):
    got = h.grad(fn, q, k, v, upstream=up, wrt=wrt)
    assert all(got.tracked), f"the output{label} does not require grad: it is detached from q, k, v, so no gradient can flow"
    made_by = got.grad_fns[0] if got.grad_fns else ""
    assert made_by.startswith("AttentionFunction"), (
        f"the output{label} was made by {made_by or 'an unknown operation'}, not by AttentionFunction: "
        f"attention() must return AttentionFunction.apply(q, k, v), so that your backward runs"
    )
    out, *grads = _expected(q, k, v, up)
    h.close(got.output, out, f"output{label}", dtype=q.dtype)
    for i, g in zip(wrt, got.inputs):
        name = "qkv"[i]
        assert g is not None, f"no gradient reaches {name}{label}: backward returned None for it"
        h.close(g, grads[i], f"grad_{name}{label}", dtype=q.dtype)


def test_forward(sol, ref, h):
    """Leading dims (none, one, several), L = 1, d = 1: out equals softmax(q kᵀ/√d) v."""
    shapes = [(5, 4), (1, 4, 8), (2, 3, 6, 8), (2, 1, 4), (3, 7, 1), (2, 2, 2, 3, 5)]
    for i, shape in enumerate(shapes):
        q, k, v, _ = _qkv(shape, seed=i, dtype=torch.float32)
        out = sol.attention(q, k, v)
        h.close(out, ref.attention(q.double(), k.double(), v.double()), f"output of attention for shape {shape}", dtype=q.dtype)


def test_large_scores(sol, ref, h):
    """Scores beyond ±700, where exp overflows even in float64: the softmax must stay finite."""
    q, k, v, up = _qkv((2, 6, 8), seed=10, scale=1000.0)
    assert float((q @ k.transpose(-2, -1)).max()) / math.sqrt(8) > 710
    _check_grads(h, sol.attention, q, k, v, up, " with scores beyond 700 (where a plain exp overflows)")


def test_gradients(sol, ref, h):
    """float64 gradients of q, k, v through attention() equal autograd's, for several shapes."""
    shapes = [(4, 3), (2, 5, 4), (2, 3, 6, 8), (1, 2, 7, 2), (3, 2, 16)]
    for i, shape in enumerate(shapes):
        q, k, v, up = _qkv(shape, seed=20 + i, scale=2.0)
        _check_grads(h, sol.attention, q, k, v, up, f" for shape {shape}")


def test_apply_directly(sol, ref, h):
    """AttentionFunction.apply(q, k, v) runs the same forward and backward as attention()."""
    q, k, v, up = _qkv((2, 5, 4), seed=30, scale=2.0)
    _check_grads(h, sol.AttentionFunction.apply, q, k, v, up, " of AttentionFunction.apply")


def test_gradcheck(sol, ref, h):
    """Property (no reference): the full Jacobian given by your backward equals finite differences
    of your own forward (as torch.autograd.gradcheck does), at two points."""
    for seed, (L, d) in ((40, (3, 2)), (41, (4, 3))):
        q, k, v, _ = _qkv((L, d), seed=seed, scale=1.5)
        x = torch.cat([q.flatten(), k.flatten(), v.flatten()])  # (3 L d,)
        n_in, n_out, eps = x.numel(), L * d, 1e-6
        # numerical: one forward call on 2 * n_in perturbed copies, stacked along a batch dim
        steps = torch.eye(n_in, dtype=torch.float64) * eps
        xs = torch.stack([x + steps, x - steps], dim=1).reshape(2 * n_in, n_in)  # (2 n_in, n_in)
        qs, ks, vs = (xs[:, i * n_out : (i + 1) * n_out].reshape(-1, L, d) for i in range(3))
        outs = h.tensor(sol.attention(qs, ks, vs), "output for a batch of perturbed inputs")
        assert tuple(outs.shape) == (2 * n_in, L, d), f"output for a batch of {2 * n_in} inputs of shape ({L}, {d}): shape {tuple(outs.shape)}"
        outs = outs.reshape(n_in, 2, n_out)
        numerical = ((outs[:, 0] - outs[:, 1]) / (2 * eps)).T  # (n_out, n_in): d out_j / d x_i
        # analytical: one backward over n_out copies, copy j with the one-hot upstream e_j
        rep = [t.expand(n_out, L, d).clone() for t in (q, k, v)]
        got = h.grad(sol.attention, *rep, upstream=torch.eye(n_out, dtype=torch.float64).reshape(n_out, L, d), wrt=(0, 1, 2))
        assert all(got.tracked), "the output does not require grad: it is detached from q, k, v"
        assert all(g is not None for g in got.inputs), "backward returned None for q, k or v"
        analytical = torch.cat([h.tensor(g, "gradient").reshape(n_out, n_out) for g in got.inputs], dim=1)  # (n_out, n_in)
        bad = ~torch.isclose(analytical, numerical, rtol=1e-3, atol=1e-5)
        if bool(bad.any()):
            j, i = (int(t) for t in bad.nonzero()[0])
            which, pos = "qkv"[i // n_out], tuple(int(t) for t in torch.unravel_index(torch.tensor(i % n_out), (L, d)))
            out_pos = tuple(int(t) for t in torch.unravel_index(torch.tensor(j), (L, d)))
            raise AssertionError(
                f"gradcheck at L={L}, d={d}: d out{out_pos} / d {which}{pos} is {float(analytical[j, i]):.6g} by your backward "
                f"but {float(numerical[j, i]):.6g} by finite differences of your forward"
            )


def test_single_token(sol, ref, h):
    """Property: with L = 1 the weight is 1: out = v, grad_v = grad_out, grad_q = grad_k = 0."""
    q, k, v, up = _qkv((3, 1, 4), seed=50, scale=3.0)
    got = h.grad(sol.attention, q, k, v, upstream=up, wrt=(0, 1, 2))
    assert all(got.tracked), "the output does not require grad: it is detached from q, k, v"
    h.close(got.output, v, "output for L = 1 (must equal v)")
    zero = torch.zeros(3, 1, 4, dtype=torch.float64)
    for name, g, e in zip("qkv", got.inputs, (zero, zero, up)):
        assert g is not None, f"no gradient reaches {name} for L = 1"
        what = "grad_v for L = 1 (must equal grad_out)" if name == "v" else f"grad_{name} for L = 1 (must be 0: the single weight is always 1)"
        h.close(g, e, what)


def test_some_inputs_without_grad(sol, ref, h):
    """Only some of q, k, v require grad: the gradients asked for are still right."""
    q, k, v, up = _qkv((2, 4, 3), seed=60, scale=2.0)
    for wrt in ((0,), (1,), (2,), (0, 2)):
        _check_grads(h, sol.attention, q, k, v, up, f" when only {' and '.join('qkv'[i] for i in wrt)} require{'s' if len(wrt) == 1 else ''} grad", wrt=wrt)


def test_dtypes(sol, ref, h):
    """float32, float64 and bfloat16: output and gradients in the input's dtype, close to float64."""
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        q, k, v, up = _qkv((2, 5, 8), seed=70, dtype=dtype)
        _check_grads(h, sol.attention, q, k, v, up, f" in {dtype}")
