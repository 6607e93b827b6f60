"""Hidden suite for the online_softmax kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker. Lists and tuples of tensors
cross the pipe as they are; a generator cannot, so the checks that pass one use h.stream through
h.measure / h.bounded: the worker builds the generator, the judge rebuilds the same chunks for
the expected value (torch's logsumexp of each chunk, combined in float64: cheap at 64 chunks of
2^20). Other expected values come from the reference in float64.
"""

import math

import torch

INF = float("inf")
_EXPECTED = {}  # expected values of streams


def _chunks(lead, sizes, seed=0, scale=2.0, drift=0.0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return [(scale * torch.randn(*lead, n, generator=g, dtype=torch.float64) + drift * i).to(dtype) for i, n in enumerate(sizes)]


def _expected(ref, chunks):
    return ref.streaming_logsumexp([c.double() for c in chunks])


def _check(sol, ref, h, chunks, what, dtype=None):
    got = sol.streaming_logsumexp(chunks)
    h.close(got, _expected(ref, chunks), what, dtype=dtype or chunks[0].dtype)
    return got


def _of_stream(stream):
    """The expected value of a stream: torch's logsumexp of each chunk (here, in the judge),
    combined in float64; computed once per grading run."""
    key = repr(sorted(stream.spec.items()))
    if key not in _EXPECTED:
        parts = [torch.logsumexp(c, dim=-1).double() for c in stream.chunks()]  # (...) each
        _EXPECTED[key] = torch.logsumexp(torch.stack(parts, dim=-1), dim=-1)
    return _EXPECTED[key]


def _raises_value_error(sol, chunks, what):
    try:
        sol.streaming_logsumexp(chunks)
    except ValueError:
        return
    raise AssertionError(f"streaming_logsumexp({what}) must raise ValueError: there is nothing to sum")


def test_single_chunk(sol, ref, h):
    """One chunk: the logsumexp along the last dim, for leading shapes (), (3,), (2, 3), (2, 1, 4); n = 1 too."""
    for i, lead in enumerate([(), (3,), (2, 3), (2, 1, 4)]):
        for n in (1, 6):
            _check(sol, ref, h, _chunks(lead, [n], seed=i), f"logsumexp of one chunk of shape {(*lead, n)}")


def test_many_chunks(sol, ref, h):
    """Chunks of different sizes (1 included), as a list and as a tuple: the logsumexp of their concatenation."""
    chunks = _chunks((2, 3), [3, 1, 5, 2, 7, 1], seed=10, scale=3.0)
    _check(sol, ref, h, chunks, "logsumexp of 6 chunks of sizes [3, 1, 5, 2, 7, 1] (a list)")
    _check(sol, ref, h, tuple(chunks[:4]), "logsumexp of 4 chunks (a tuple)")


def test_max_grows_late(sol, ref, h):
    """The maximum moves up chunk after chunk, or only in the last chunk: the sum so far must be rescaled."""
    rising = _chunks((2, 2), [4, 3, 5, 2], seed=20, scale=1.0, drift=4.0)
    _check(sol, ref, h, rising, "logsumexp when every chunk raises the maximum (by about 4 each)")
    late = _chunks((3,), [6, 6, 3], seed=21)
    late[2] = late[2] + 30.0
    _check(sol, ref, h, late, "logsumexp when only the last chunk holds the maximum (30 above the rest)")
    early = _chunks((3,), [3, 6, 6], seed=22)
    early[0] = early[0] + 30.0
    _check(sol, ref, h, early, "logsumexp when the first chunk holds the maximum")


def test_large_values_float32(sol, ref, h):
    """float32 inputs up to ±1e4 (rows of very different scales): finite, and close to the float64 value."""
    a = torch.tensor([[1e4, -1e4, 9990.0], [-1e4, -9999.0, -1e4], [0.0, 5000.0, -5000.0]])
    b = _chunks((3,), [5], seed=30, scale=3.0, dtype=torch.float32)[0] + torch.tensor([[9995.0], [-1e4], [4990.0]])
    c = torch.tensor([[-1e4], [-9990.0], [1e4]])
    for order, chunks in (("", [a, b, c]), (" in reverse order", [c, b, a])):
        got = h.tensor(sol.streaming_logsumexp(chunks), "logsumexp")
        bad = ~torch.isfinite(got)
        if bool(bad.any()):
            i = int(bad.nonzero()[0][0])
            raise AssertionError(
                f"float32 chunks with values up to ±1e4{order}: row {i} gives {float(got[i])}, the result must be finite "
                "(subtract the running maximum before exp)"
            )
        h.close(got, _expected(ref, chunks), f"logsumexp of float32 chunks with values up to ±1e4{order}", dtype=torch.float32)
    big = _chunks((2,), [4, 3], seed=31, scale=200.0, drift=500.0)
    _check(sol, ref, h, big, "logsumexp of float64 chunks with values near 700 (exp(710) overflows float64)")


def test_neg_inf(sol, ref, h):
    """-inf entries add nothing; a row whose first chunks are all -inf is fine; a row of all -inf gives -inf, never NaN."""
    chunks = _chunks((4,), [3, 4, 2, 5], seed=40)
    chunks[0][:3] = -INF  # rows 0-2 start with a chunk of -inf
    chunks[1][1:3] = -INF  # rows 1 and 2: two chunks of -inf first
    chunks[2][2] = -INF
    chunks[3][2] = -INF  # row 2: -inf throughout
    chunks[3][3, ::2] = -INF  # scattered -inf entries
    got = h.tensor(sol.streaming_logsumexp(chunks), "logsumexp")
    if tuple(got.shape) == (4,):
        if bool(torch.isnan(got).any()):
            rows = [int(i) for i in torch.isnan(got).nonzero().flatten()]
            raise AssertionError(
                f"NaN in rows {rows}: their first chunks are all -inf (x - m with m = -inf is NaN); "
                "subtract 0 where the running maximum is still -inf"
            )
        assert float(got[2]) == -INF, f"row 2 is -inf in every chunk: its logsumexp must be -inf, got {float(got[2])}"
    h.close(got, _expected(ref, chunks), "logsumexp with chunks of -inf at the start of some rows")
    only = [torch.full((2, 3), -INF, dtype=torch.float64), torch.full((2, 2), -INF, dtype=torch.float64)]
    h.close(sol.streaming_logsumexp(only), torch.full((2,), -INF, dtype=torch.float64), "logsumexp of chunks that are all -inf")


def test_empty_chunks(sol, ref, h):
    """An empty chunk (n_i = 0) is skipped, first, in the middle or last; no chunks, or only empty ones, raise ValueError."""
    chunks = _chunks((2, 3), [0, 4, 0, 0, 3, 0], seed=50)
    _check(sol, ref, h, chunks, "logsumexp of chunks of sizes [0, 4, 0, 0, 3, 0] (empty chunks are skipped)")
    _raises_value_error(sol, [], "[]  (no chunks at all)")
    _raises_value_error(sol, [torch.zeros(2, 0), torch.zeros(2, 0)], "[two chunks of shape (2, 0)]  (only empty chunks)")


def test_generator_read_once(sol, ref, h):
    """chunks may be a generator: read it once, in order (a second pass over it finds nothing)."""
    for seed, (lead, sizes, options) in enumerate([
        ((3,), [5, 0, 7, 1, 9], {"scale": 2.0, "drift": 2.0}),
        ((2, 2), [4, 4, 4], {"scale": 3.0, "neg_inf": (0,)}),
        ((), [8], {}),
    ]):
        stream = h.stream(60 + seed, lead, sizes, dtype="float64", **options)
        got = h.measure(sol.streaming_logsumexp, stream).value
        h.close(got, _of_stream(stream), f"logsumexp of a generator of chunks {(*lead, 'n')} with n in {sizes}", dtype=torch.float64)


def test_dtypes(sol, ref, h):
    """float32, float64 and bfloat16 chunks give a result of the same dtype, close to the float64 value."""
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        _check(sol, ref, h, _chunks((2, 3), [5, 2, 6], seed=70, scale=3.0, drift=2.0, dtype=dtype), f"logsumexp of {dtype} chunks")


def test_properties(sol, ref, h):
    """No reference: any split of the same numbers gives the same result; lse(x + c) = lse(x) + c; max <= lse <= max + log n."""
    x = _chunks((2, 3), [24], seed=80, scale=4.0)[0]
    whole = h.tensor(sol.streaming_logsumexp([x]), "logsumexp of one chunk")
    assert tuple(whole.shape) == (2, 3), f"chunks of shape (2, 3, n) must give a result of shape (2, 3), got {tuple(whole.shape)}"
    for cuts in ((1, 5, 12), (3,), (0, 0, 7, 7, 20, 24, 24), tuple(range(1, 24))):
        edges = [0, *cuts, 24]
        parts = [x[..., a:b] for a, b in zip(edges, edges[1:])]
        h.close(sol.streaming_logsumexp(parts), whole, f"the same 24 numbers split at {list(cuts)} vs in one chunk")
    for c in (1e4, -1e4):
        h.close(sol.streaming_logsumexp([x[..., :10] + c, x[..., 10:] + c]), whole + c, f"lse(x + {c:g}) vs lse(x) + {c:g}")
    top = x.amax(-1)
    assert bool((whole >= top - 1e-9).all()), "the logsumexp is below the maximum of its inputs"
    assert bool((whole <= top + math.log(24) + 1e-9).all()), "the logsumexp exceeds max + log(n)"


def test_bound_chunks_not_kept(sol, ref, h):
    """64 chunks of 2^20 float32 numbers (256 MiB in all) from a generator: peak extra memory <= 32 MiB."""
    # First a short, hard stream of large chunks (an empty one, one of -inf, then maxima near 200
    # and 300): a wrong result fails here at once, a right one has its kernels and threads
    # warmed up, so that their first use is not charged to the measured call.
    short = h.stream(89, (2,), [0, 1 << 18, 1 << 18, 1 << 18], scale=2.0, drift=100.0, neg_inf=(1,))
    got = h.measure(sol.streaming_logsumexp, short).value
    h.close(
        got, _of_stream(short), "logsumexp of a generator of 4 chunks of 2 × 2^18 numbers (empty, all -inf, "
        "near 200, near 300), checked before the memory is measured", dtype=torch.float32,
    )
    stream = h.stream(90, (2,), [1 << 19] * 64, scale=2.0, drift=0.05)
    got = h.bounded(
        sol.streaming_logsumexp,
        stream,
        limit_mib=32,
        what="streaming_logsumexp over a generator of 64 chunks of 2 × 2^19 float32 numbers",
        naive="keeping the chunks alone takes 256 MiB",
    )
    h.close(got, _of_stream(stream), "logsumexp of the 64 chunks of 2^20 numbers", dtype=torch.float32)
