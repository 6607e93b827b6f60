"""Hidden suite for the sinusoidal kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker: calls return real tensors. The
reference computes in float64 and returns float32. Tables are compared with h.close's float32
tolerance plus the contract's allowance for float32 angles, 5e-7·p at row p (correct float32
implementations stay below 1e-7·(p + 1) up to length 4096; every known mistake is off by ~1).
"""

import torch


def _pe(sol, length, d_model, *base):
    return sol.sinusoidal_positions(length, d_model, *base)


def _table(h, got, length, d_model, what):
    """The learner's table as float64, after checking its type, shape and dtype."""
    got = h.tensor(got, what)
    if tuple(got.shape) != (length, d_model):
        raise AssertionError(f"{what}: shape {tuple(got.shape)}, expected ({length}, {d_model})")
    if got.dtype != torch.float32:
        raise AssertionError(f"{what}: dtype {got.dtype}, expected torch.float32")
    if bool(torch.isnan(got).any()):
        raise AssertionError(f"{what}: contains NaN")
    return got.double()


def _compare(h, got, expected, what):
    """got (float64, from _table) within 1e-5 + 1e-4·|expected| + 5e-7·p of expected at row p."""
    rtol, atol = h.TOLERANCES["float32"]
    expected = expected.double()
    allowed = atol + rtol * expected.abs() + 5e-7 * torch.arange(len(expected), dtype=torch.float64).unsqueeze(1)
    excess = (got - expected).abs() - allowed
    if got.numel() and bool((excess > 0).any()):
        p, j = (int(v) for v in torch.unravel_index(excess.argmax(), excess.shape))
        raise AssertionError(
            f"{what}: PE[{p}, {j}] = {float(got[p, j]):.6g}, expected {float(expected[p, j]):.6g} "
            f"(off by {float((got - expected)[p, j].abs()):.3g}, allowed {float(allowed[p, j]):.3g})"
        )


def _check(sol, ref, h, length, d_model, *base):
    label = f"PE for length={length}, d_model={d_model}" + (f", base={base[0]}" if base else "")
    got = _table(h, _pe(sol, length, d_model, *base), length, d_model, label)
    _compare(h, got, ref.sinusoidal_positions(length, d_model, *base), label)


def test_shapes_and_dtype(sol, ref, h):
    """(length, d_model) float32 for one row, one pair, d_model/2 odd, and the usual sizes."""
    for length, d_model in [(1, 2), (1, 8), (5, 4), (7, 6), (12, 2), (16, 32)]:
        _check(sol, ref, h, length, d_model)


def test_position_zero_first(sol, ref, h):
    """Property: positions start at 0, so row 0 is [0, 1, 0, 1, ...] (sin 0, cos 0)."""
    for length in (1, 4):
        pe = _table(h, _pe(sol, length, 8), length, 8, f"PE for length={length}, d_model=8")
        row = pe[0]
        assert torch.allclose(row, torch.tensor([0.0, 1.0] * 4, dtype=torch.float64), atol=1e-6), (
            f"row 0 of PE (length={length}, d_model=8) is {[round(v, 4) for v in row.tolist()]}, expected "
            "[0, 1, 0, 1, 0, 1, 0, 1]: row p encodes position p, starting at 0, with sin in the even columns"
        )
        _compare(h, pe, ref.sinusoidal_positions(length, 8), f"PE for length={length}, d_model=8")


def test_pairs_interleaved(sol, ref, h):
    """Property: columns (2i, 2i+1) are (sin, cos) of one angle — on the unit circle — and pair 0 is (sin p, cos p)."""
    pe = _table(h, _pe(sol, 20, 12), 20, 12, "PE for length=20, d_model=12")
    radius = pe[:, 0::2] ** 2 + pe[:, 1::2] ** 2  # (20, 6)
    bad = (radius - 1).abs() > 1e-5
    if bool(bad.any()):
        p, i = (int(v) for v in bad.nonzero()[0])
        raise AssertionError(
            f"PE[{p}, {2 * i}]² + PE[{p}, {2 * i + 1}]² = {float(radius[p, i]):.4g}, expected 1: columns 2i and 2i+1 "
            "must be the sin and cos of the SAME angle p·ω_i (interleaved pairs sharing one frequency)"
        )
    p = torch.arange(20, dtype=torch.float64)
    first = torch.stack((torch.sin(p), torch.cos(p)), dim=1)  # (20, 2)
    _compare(h, pe[:, :2], first, "columns 0 and 1 (must be sin(p) and cos(p): ω_0 = 1, sine first)")


def test_relative_offsets(sol, ref, h):
    """Property: ⟨PE[p], PE[p + k]⟩ = Σ_i cos(k·ω_i) depends only on the offset k, not on p."""
    pe = _table(h, _pe(sol, 48, 16), 48, 16, "PE for length=48, d_model=16")
    for k in (1, 3, 10):
        dots = (pe[: 48 - k] * pe[k:]).sum(-1)  # (48 - k,)
        spread = (dots - dots[0]).abs()
        if float(spread.max()) > 1e-3:  # float32 tables are off by ~1e-5 at most here
            p = int(spread.argmax())
            raise AssertionError(
                f"⟨PE[{p}], PE[{p + k}]⟩ = {float(dots[p]):.4g} but ⟨PE[0], PE[{k}]⟩ = {float(dots[0]):.4g}: with (sin, cos) "
                f"pairs sharing one frequency, the dot product of two rows depends only on their offset ({k} here)"
            )


def test_base(sol, ref, h):
    """Other bases (100, 500000 as in Llama 3, 2.0, an int): the base argument is used, not 10000."""
    for base in (100.0, 500000.0, 2.0, 100):
        _check(sol, ref, h, 12, 16, base)


def test_long_range(sol, ref, h):
    """length 4096: within 1e-5 + 1e-4·|PE| + 5e-7·p of the exact table at row p (float32 angles are allowed)."""
    for length, d_model, base in [(4096, 128, 10000.0), (2048, 64, 500000.0)]:
        what = f"PE for length={length}, d_model={d_model}, base={base}"
        got = _table(h, _pe(sol, length, d_model, base), length, d_model, what)
        _compare(h, got, ref.sinusoidal_positions(length, d_model, base), what)


def test_length_zero(sol, ref, h):
    """length = 0 gives an empty (0, d_model) float32 table."""
    _check(sol, ref, h, 0, 8)


def test_odd_d_model(sol, ref, h):
    """An odd d_model raises ValueError (the columns come in sin/cos pairs)."""
    for d_model in (1, 5, 33):
        try:
            sol.sinusoidal_positions(4, d_model)
        except ValueError:
            continue
        except Exception as exc:  # noqa: BLE001 - any other error is the wrong one
            kind = getattr(exc, "remote_type", type(exc).__name__)
            raise AssertionError(f"sinusoidal_positions(4, {d_model}) raised {kind}; it must raise ValueError (d_model is odd)") from None
        raise AssertionError(f"sinusoidal_positions(4, {d_model}) must raise ValueError: d_model is odd, the columns come in sin/cos pairs")
