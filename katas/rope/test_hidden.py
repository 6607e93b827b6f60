"""Hidden suite for the rope kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker: calls send copies of the
arguments and return tensors. The reference runs in float64. The contract allows float32 angles
for every input dtype (Hugging Face's Llama computes them so even for float64 inputs), and the
float32 rounding of p·θ_i grows with the position p; so outputs are compared with h.close's
tolerance for x's dtype PLUS an angle allowance of 2^-21·(p + 1) radians times the pair's norm
(about 8 float32 ulps of the angle: correct float32 implementations stay below 1.5, every known
mistake is off by far more than 0.01 radian).
"""

import torch

ANGLE = 2.0**-21  # radians of allowed angle error per unit of position
FAR = [0, 1, 2, 3, 17, 250, 1001, 2047, 3001, 4096, 5003, 6000, 7001, 8000, 8190, 8191]  # up to 8192


def _x(*shape, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)


def _pos(*values):
    return torch.tensor(values, dtype=torch.long)


def _close(h, got, expected, like, positions, what, dtype):
    """Shape, dtype, no NaN, and within h.close's tolerance for `dtype` plus the angle allowance.

    `like` is the float64 tensor whose pairs are rotated (x, or the upstream gradient): the
    allowance for element (..., p, j) is ‖pair of j‖ · 2^-21 · (|positions[p]| + 1).
    """
    got = h.tensor(got, what)
    if tuple(got.shape) != tuple(expected.shape):
        raise AssertionError(f"{what}: shape {tuple(got.shape)}, expected {tuple(expected.shape)} (the shape of x)")
    if got.dtype != dtype:
        raise AssertionError(f"{what}: dtype {got.dtype}, expected {dtype} (return x's dtype)")
    a, e = got.detach().double(), expected.detach().double()
    if bool(torch.isnan(a).any()):
        raise AssertionError(f"{what}: contains NaN")
    rtol, atol = h.TOLERANCES[str(dtype).replace("torch.", "")]
    half = like.size(-1) // 2
    radius = torch.hypot(like[..., :half], like[..., half:]).double()  # (..., L, d/2): each pair's norm
    radius = torch.cat((radius, radius), dim=-1)  # (..., L, d)
    slack = ANGLE * (positions.double().abs() + 1).unsqueeze(-1)  # (L, 1)
    allowed = atol + rtol * e.abs() + radius * slack
    excess = (a - e).abs() - allowed
    if a.numel() and bool((excess > 0).any()):
        idx = tuple(int(i) for i in torch.unravel_index(excess.argmax(), excess.shape))
        p, j = int(positions[idx[-2]]), idx[-1]
        pair = j + half if j < half else j - half
        raise AssertionError(
            f"{what}: element {idx} (position {p}, component {j}, paired with {pair}) is {float(a[idx]):.5g}, "
            f"expected {float(e[idx]):.5g} (off by {float((a - e)[idx].abs()):.3g}, allowed {float(allowed[idx]):.3g})"
        )


def _check(sol, ref, h, x, positions, what, *base):
    _close(h, sol.apply_rope(x, positions, *base), ref.apply_rope(x.double(), positions, *base), x.double(), positions, what, x.dtype)


def test_shapes(sol, ref, h):
    """No leading dims, one, several; L = 1; d = 2 (one pair); d/2 odd; arange and other positions."""
    cases = [
        ((5, 8), _pos(0, 1, 2, 3, 4)),
        ((1, 5, 8), _pos(0, 1, 2, 3, 4)),
        ((2, 3, 6, 16), _pos(4, 9, 0, 2, 31, 7)),
        ((2, 1, 3, 1, 4), _pos(12)),
        ((1, 2, 4, 2), _pos(0, 1, 2, 3)),
        ((3, 7, 12), _pos(5, 6, 7, 8, 9, 10, 11)),
    ]
    for i, (shape, positions) in enumerate(cases):
        _check(sol, ref, h, _x(*shape, seed=i), positions, f"output for x of shape {shape}, positions={positions.tolist()}")


def test_values_float64(sol, ref, h):
    """float64 agreement over many positions, and the base argument (100, 500000 as in Llama 3)."""
    positions = torch.randint(0, 5000, (9,), generator=torch.Generator().manual_seed(1))
    positions[0] = 0
    x = _x(2, 3, 9, 32, seed=10, dtype=torch.float64)
    _check(sol, ref, h, x, positions, f"output for positions={positions.tolist()}")
    for base in (100.0, 500000.0):
        _check(sol, ref, h, x, positions, f"output for base={base}, positions={positions.tolist()}", base)


def test_decode_step(sol, ref, h):
    """A decode step passes ONE position, tensor([t]): x is rotated by t, as row t of a full pass."""
    full_x = _x(2, 4, 12, 16, seed=20)
    full = h.tensor(sol.apply_rope(full_x, torch.arange(12)), "output for positions=arange(12)")
    for t in (1, 7, 11):
        what = f"decode step: apply_rope(x[..., {t}:{t + 1}, :], positions=tensor([{t}])) (must equal row {t} of the full pass)"
        step = sol.apply_rope(full_x[..., t : t + 1, :], _pos(t))
        _close(h, step, full[..., t : t + 1, :].detach().double(), full_x.double()[..., t : t + 1, :], _pos(t), what, torch.float32)
    for t in (100, 2047, 8191):
        x = _x(2, 4, 1, 16, seed=t)
        _check(sol, ref, h, x, _pos(t), f"decode step at position {t} (x of length 1, positions=tensor([{t}]))")


def test_positions_not_arange(sol, ref, h):
    """A chunk after a prefix (100..105), packed sequences (0, 1, 2, 0, 1, ...), descending positions."""
    for i, positions in enumerate([torch.arange(100, 106), _pos(0, 1, 2, 0, 1, 2, 3, 4), _pos(9, 7, 5, 3, 1, 0)]):
        x = _x(2, 2, len(positions), 8, seed=30 + i)
        _check(sol, ref, h, x, positions, f"output for positions={positions.tolist()}")


def test_dtypes_far_positions(sol, ref, h):
    """float32, float64 and bfloat16 at positions up to 8191: the dtype is kept, the angles are not bf16."""
    positions = torch.tensor(FAR)
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        x = _x(1, 2, len(FAR), 64, seed=40, dtype=dtype)
        _check(sol, ref, h, x, positions, f"output in {dtype} at 16 positions from 0 to 8191")


def test_keeps_norms(sol, ref, h):
    """Property: a rotation keeps norms — of each vector, and of each half-split pair (x[i], x[i + d/2])."""
    positions = torch.randint(0, 8192, (10,), generator=torch.Generator().manual_seed(2))
    x = _x(2, 3, 10, 16, seed=50, dtype=torch.float64)
    out = h.tensor(sol.apply_rope(x, positions), "output")
    if tuple(out.shape) != tuple(x.shape):
        raise AssertionError(f"output: shape {tuple(out.shape)}, expected {tuple(x.shape)} (the shape of x)")
    out = out.detach().double()
    n_in, n_out = x.norm(dim=-1), out.norm(dim=-1)
    if not torch.allclose(n_out, n_in, rtol=1e-5, atol=0):
        i = tuple(int(v) for v in torch.unravel_index((n_out / n_in - 1).abs().argmax(), n_in.shape))
        raise AssertionError(
            f"the norm of x{list(i)} is {float(n_in[i]):.5g} but becomes {float(n_out[i]):.5g}: RoPE only rotates, "
            "it must keep every vector's norm (each pair rotated by [[cos, -sin], [sin, cos]])"
        )
    pair_in = torch.hypot(x[..., :8], x[..., 8:])
    pair_out = torch.hypot(out[..., :8], out[..., 8:])
    if not torch.allclose(pair_out, pair_in, rtol=1e-5, atol=0):
        i = tuple(int(v) for v in torch.unravel_index((pair_out / pair_in - 1).abs().argmax(), pair_in.shape))
        raise AssertionError(
            f"the pair (x[..., {i[-1]}], x[..., {i[-1] + 8}]) at index {list(i[:-1])} has norm {float(pair_in[i]):.5g} "
            f"before and {float(pair_out[i]):.5g} after: the rotated pairs must be (x[..., i], x[..., i + d/2]) "
            "(half-split, as GPT-NeoX and Llama's rotate_half), not (x[..., 2i], x[..., 2i + 1])"
        )


def test_relative_position(sol, ref, h):
    """Property: ⟨rope(q, m), rope(k, n)⟩ depends only on m - n (and equals ⟨rope(q, m - n), k⟩)."""
    d = 16
    q, k = _x(d, seed=60, dtype=torch.float64), _x(d, seed=61, dtype=torch.float64)
    shifts = torch.tensor([0, 1, 5, 37, 400, 1000])
    tol = float(q.norm() * k.norm()) * (1e-6 + 2 * ANGLE * 1010)
    for offset in (3, -5, 0):
        m, n = shifts + max(offset, 0), shifts + max(-offset, 0)  # m - n = offset, all >= 0
        rq = h.tensor(sol.apply_rope(q.expand(len(shifts), d).clone(), m), "output").detach().double()
        rk = h.tensor(sol.apply_rope(k.expand(len(shifts), d).clone(), n), "output").detach().double()
        if rq.shape != (len(shifts), d) or rk.shape != (len(shifts), d):
            raise AssertionError(f"output: shape {tuple(rq.shape)}, expected ({len(shifts)}, {d}) (the shape of x)")
        dots = (rq * rk).sum(-1)  # (S,)
        if float((dots - dots[0]).abs().max()) > tol:
            j = int((dots - dots[0]).abs().argmax())
            raise AssertionError(
                f"⟨rope(q, {int(m[j])}), rope(k, {int(n[j])})⟩ = {float(dots[j]):.5g} but ⟨rope(q, {int(m[0])}), "
                f"rope(k, {int(n[0])})⟩ = {float(dots[0]):.5g}: the score must depend only on the offset m - n = {offset}"
            )
        if offset >= 0:
            alone = h.tensor(sol.apply_rope(q.view(1, d).clone(), _pos(offset)), "output")
            target = float((alone.detach().double().view(d) * k).sum())
            if abs(float(dots[0]) - target) > tol:
                raise AssertionError(
                    f"⟨rope(q, {int(m[0])}), rope(k, {int(n[0])})⟩ = {float(dots[0]):.5g} but ⟨rope(q, {offset}), k⟩ = "
                    f"{target:.5g}: rotating both by n must cancel, leaving the rotation by m - n alone"
                )


def test_gradients(sol, ref, h):
    """Gradients w.r.t. x equal the reference's (the inverse rotation of the upstream gradient)."""
    x = _x(2, 2, 6, 8, seed=70, dtype=torch.float64)
    positions = _pos(3, 0, 9, 100, 4, 7)
    up = _x(2, 2, 6, 8, seed=71, dtype=torch.float64)
    got = h.grad(sol.apply_rope, x, positions, upstream=up, wrt=(0,))
    assert all(got.tracked), "the output is detached from x: gradients cannot flow"
    assert got.inputs[0] is not None, "no gradient reaches x"
    xx = x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad((ref.apply_rope(xx, positions) * up).sum(), (xx,))
    _close(h, got.inputs[0], expected, up, positions, "gradient w.r.t. x", torch.float64)


def test_edge_cases(sol, ref, h):
    """Position 0 is the identity (every dtype); L = 0 gives an empty output; x is left unchanged."""
    for dtype in (torch.float32, torch.bfloat16):
        x = _x(2, 3, 8, seed=80, dtype=dtype)
        out = h.tensor(sol.apply_rope(x, _pos(0, 0, 0)), f"output in {dtype} at positions [0, 0, 0]")
        _close(h, out, x.double(), x.double(), _pos(0, 0, 0), f"output in {dtype} at position 0 (must equal x: angle 0)", dtype)
    empty = _x(2, 0, 8, seed=81)
    _check(sol, ref, h, empty, torch.zeros(0, dtype=torch.long), "output for L = 0 (x of shape (2, 0, 8), positions of shape (0,))")
    x = _x(2, 4, 8, seed=82)
    _, args = h.call_keeping_args(sol.apply_rope, x, _pos(1, 2, 3, 4))
    h.close(args[0], x, "x after apply_rope (must not be modified in place: return a new tensor)")


def test_odd_width(sol, ref, h):
    """An odd last dim raises ValueError (the components are rotated in pairs)."""
    for d in (1, 7):
        try:
            sol.apply_rope(_x(2, 3, d, seed=90), _pos(0, 1, 2))
        except ValueError:
            continue
        except Exception as exc:  # noqa: BLE001 - any other error is the wrong one
            kind = getattr(exc, "remote_type", type(exc).__name__)
            raise AssertionError(f"apply_rope on x of shape (2, 3, {d}) raised {kind}; it must raise ValueError (d is odd)") from None
        raise AssertionError(f"apply_rope on x of shape (2, 3, {d}) must raise ValueError: d is odd, pairs cannot be formed")
