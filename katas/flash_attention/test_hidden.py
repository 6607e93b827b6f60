"""Hidden suite for the flash_attention kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker: calls send copies of the
arguments and return tensors. Inputs are seeded; the reference runs in float64. The bound check
runs the learner's code at Lq = Lk = 8192 (non-causal, then causal) and reads its peak memory
from outside the worker (h.bounded); the values it returns are checked on a sample of query
rows.
"""

import math

import torch

from attnquiz.grading.proxy import WorkerGone

BIG, BIG_D, LIMIT_MIB = 8192, 64, 64
NAIVE = f"one {BIG} × {BIG} float32 score matrix alone is 256 MiB"


def _qkv(b, heads, lq, lk, d, seed=0, dtype=torch.float32, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(b, heads, lq, d, generator=g, dtype=torch.float64)
    k = torch.randn(b, heads, lk, d, generator=g, dtype=torch.float64)
    v = torch.randn(b, heads, lk, d, generator=g, dtype=torch.float64)
    return (scale * q).to(dtype), k.to(dtype), v.to(dtype)


def _pair(out, what):
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise AssertionError(f"{what}: flash_attention must return (output, lse), got {type(out).__name__}")
    return out


def _check(sol, ref, h, q, k, v, label="", **kw):
    out, lse = _pair(sol.flash_attention(q, k, v, **kw), f"call{label}")
    r_out, r_lse = ref.flash_attention(q.double(), k.double(), v.double(), **kw)
    h.close(out, r_out, f"output{label}", dtype=q.dtype)
    h.close(lse, r_lse, f"lse{label} (logsumexp of each query's scaled scores)", dtype=q.dtype)


def _blocks(kw):
    return ", ".join(f"{n}={v}" for n, v in kw.items())


def _scores(q, k, causal):
    """The full score matrix, in float64, for the checks that need no reference (small sizes only)."""
    s = q.double() @ k.double().transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, H, Lq, Lk)
    if causal:
        L = q.size(-2)
        s = s.masked_fill(torch.ones(L, L, dtype=torch.bool).triu(1), float("-inf"))
    return s


def test_shapes(sol, ref, h):
    """Non-causal: batch and heads, Lq != Lk both ways, Lq = 1, Lk = 1, blocks that do not divide
    the lengths, blocks larger than the lengths, blocks of 1, the default blocks."""
    cases = [
        (1, 1, 1, 1, 4, {"block_q": 4, "block_k": 4}),
        (2, 3, 10, 13, 8, {"block_q": 4, "block_k": 5}),
        (1, 2, 1, 37, 16, {"block_q": 8, "block_k": 8}),
        (2, 1, 9, 1, 8, {"block_q": 2, "block_k": 3}),
        (1, 2, 6, 7, 8, {"block_q": 16, "block_k": 32}),
        (2, 2, 5, 6, 4, {"block_q": 1, "block_k": 1}),
        (1, 2, 70, 130, 8, {}),
    ]
    for i, (b, heads, lq, lk, d, kw) in enumerate(cases):
        q, k, v = _qkv(b, heads, lq, lk, d, seed=i)
        _check(sol, ref, h, q, k, v, label=f" for B={b} H={heads} Lq={lq} Lk={lk} d={d} {_blocks(kw) or 'default blocks'}", **kw)


def test_values_float64(sol, ref, h):
    """Exact (float64) agreement with the reference, including the single 1/√d scaling."""
    q, k, v = _qkv(2, 2, 12, 17, 16, seed=10, dtype=torch.float64, scale=3.0)
    for kw in ({"block_q": 5, "block_k": 4}, {"block_q": 12, "block_k": 17}, {"block_q": 3, "block_k": 6}):
        _check(sol, ref, h, q, k, v, label=f" with {_blocks(kw)}", **kw)


def test_max_outside_first_block(sol, ref, h):
    """Keys whose scores rise along the sequence: each query's largest score lies in a later key
    block, so the running max changes and what was summed before must be rescaled."""
    q, k, v = _qkv(2, 2, 9, 24, 8, seed=20, dtype=torch.float64)
    q[..., 0] = 2.0  # every query leans on feature 0 ...
    k[..., 0] = 0.3 * torch.arange(24, dtype=torch.float64)  # ... and later keys carry more of it
    for causal, (qq, kk, vv) in ((False, (q, k, v)), (True, (q[..., :9, :], k[..., :9, :], v[..., :9, :]))):
        s = _scores(qq, kk, causal)
        first = s[..., : min(4, s.size(-1))].amax(-1)
        assert float((s.amax(-1) > first).double().mean()) > 0.4, "test data: row maxima must lie outside the first block"
        _check(sol, ref, h, qq, kk, vv, label=f" (row maxima in later key blocks, causal={causal}, block_q=4, block_k=4)", causal=causal, block_q=4, block_k=4)


def test_causal(sol, ref, h):
    """causal=True: query i sees keys j <= i; square and non-square tiles, tiles that do not
    divide L, block_q != block_k (the diagonal crosses tiles unevenly), L = 1."""
    cases = [(1, 1, 1, 4, 4, 4), (2, 2, 7, 8, 3, 3), (1, 2, 13, 8, 4, 6), (2, 1, 13, 8, 6, 4), (1, 1, 10, 4, 16, 2), (1, 2, 9, 4, 1, 1), (1, 1, 100, 8, 64, 64)]
    for i, (b, heads, length, d, bq, bk) in enumerate(cases):
        q, k, v = _qkv(b, heads, length, length, d, seed=30 + i)
        _check(sol, ref, h, q, k, v, label=f" for causal L={length} block_q={bq} block_k={bk}", causal=True, block_q=bq, block_k=bk)


def test_causal_needs_equal_lengths(sol, ref, h):
    """causal=True with Lq != Lk raises ValueError (either way round); non-causal accepts it."""
    for lq, lk in ((3, 5), (5, 3)):
        q, k, v = _qkv(1, 1, lq, lk, 4, seed=40)
        try:
            sol.flash_attention(q, k, v, causal=True, block_q=2, block_k=2)
        except ValueError:
            pass
        else:
            raise AssertionError(f"causal=True with Lq={lq} != Lk={lk} must raise ValueError (no agreed diagonal)")
        _check(sol, ref, h, q, k, v, label=f" for non-causal Lq={lq} Lk={lk}", block_q=2, block_k=2)


def test_block_validation(sol, ref, h):
    """A block size below 1 raises ValueError."""
    q, k, v = _qkv(1, 1, 4, 4, 4, seed=41)
    for kw in ({"block_q": 0}, {"block_k": 0}, {"block_q": -4}):
        try:
            sol.flash_attention(q, k, v, **kw)
        except ValueError:
            pass
        else:
            raise AssertionError(f"flash_attention(..., {_blocks(kw)}) must raise ValueError (block sizes are at least 1)")


def test_lse_is_logsumexp_of_the_scores(sol, ref, h):
    """Property (no reference): lse = torch.logsumexp(q kᵀ / √d, dim=-1) over the allowed keys,
    and the output is exp(scores - lse) @ v."""
    q, k, v = _qkv(2, 2, 11, 11, 8, seed=50, dtype=torch.float64, scale=2.0)
    for causal in (False, True):
        out, lse = _pair(sol.flash_attention(q, k, v, causal=causal, block_q=4, block_k=3), "call")
        s = _scores(q, k, causal)
        h.close(lse, torch.logsumexp(s, dim=-1), f"lse (causal={causal}) vs torch.logsumexp of the scaled scores")
        h.close(out, torch.exp(s - torch.logsumexp(s, dim=-1, keepdim=True)) @ v.double(), f"output (causal={causal}) vs softmax(q kᵀ / √d) @ v")


def test_causal_ignores_the_future(sol, ref, h):
    """Property: changing the keys and values after position t leaves queries 0..t unchanged."""
    q, k, v = _qkv(2, 2, 12, 12, 8, seed=60, dtype=torch.float64)
    base_out, base_lse = (h.tensor(t, "output / lse") for t in _pair(sol.flash_attention(q, k, v, causal=True, block_q=4, block_k=4), "call"))
    g = torch.Generator().manual_seed(61)
    for t in (0, 4, 6):
        k2, v2 = k.clone(), v.clone()
        k2[..., t + 1 :, :] = 3.0 * torch.randn(k2[..., t + 1 :, :].shape, generator=g, dtype=torch.float64)
        v2[..., t + 1 :, :] = 3.0 * torch.randn(v2[..., t + 1 :, :].shape, generator=g, dtype=torch.float64)
        out, lse = (h.tensor(x, "output / lse") for x in _pair(sol.flash_attention(q, k2, v2, causal=True, block_q=4, block_k=4), "call"))
        h.close(out[..., : t + 1, :], base_out[..., : t + 1, :], f"causal output of queries 0..{t} after changing keys/values after position {t} (the future leaks)")
        h.close(lse[..., : t + 1], base_lse[..., : t + 1], f"causal lse of queries 0..{t} after changing keys after position {t} (the future leaks)")


def test_blocks_do_not_change_the_result(sol, ref, h):
    """Property: every tiling gives the same output and lse (up to rounding)."""
    q, k, v = _qkv(1, 2, 15, 15, 8, seed=70, dtype=torch.float64)
    for causal in (False, True):
        base = [h.tensor(t, "output / lse") for t in _pair(sol.flash_attention(q, k, v, causal=causal, block_q=15, block_k=15), "call")]
        for bq, bk in ((1, 4), (4, 7), (7, 4), (2, 15)):
            out, lse = _pair(sol.flash_attention(q, k, v, causal=causal, block_q=bq, block_k=bk), "call")
            h.close(out, base[0], f"output with block_q={bq}, block_k={bk} vs one tile (causal={causal})")
            h.close(lse, base[1], f"lse with block_q={bq}, block_k={bk} vs one tile (causal={causal})")


def test_dtypes(sol, ref, h):
    """float32, float64 and bfloat16 in, output and lse of the same dtype and close values."""
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        q, k, v = _qkv(2, 2, 19, 19, 16, seed=80, dtype=dtype, scale=2.0)
        for causal in (False, True):
            _check(sol, ref, h, q, k, v, label=f" in {dtype}, causal={causal}", causal=causal, block_q=8, block_k=5)


def _sampled_rows(sol, ref, h, causal, seed, block_q, block_k):
    what = f"flash_attention at Lq = Lk = {BIG}, d = {BIG_D}, causal={causal}, block_q={block_q}, block_k={block_k}"
    # Values first, on a small input with the same tiling ratio: a wrong algorithm is not worth
    # running (and measuring) at the long length, and its other checks already say what is wrong.
    small = _qkv(1, 2, 70, 70, 8, seed=seed - 1)
    try:
        _check(sol, ref, h, *small, causal=causal, block_q=block_q // 32, block_k=block_k // 32)
    except WorkerGone:
        raise
    except Exception as exc:  # noqa: BLE001 - a wrong value or the learner's own exception (RemoteError)
        raise AssertionError(
            f"{what}: memory not measured, because the same call is already wrong at Lq = Lk = 70 with "
            f"block_q={block_q // 32}, block_k={block_k // 32} ({str(exc)[:240]}); fix that first"
        ) from None
    q, k, v = _qkv(1, 1, BIG, BIG, BIG_D, seed=seed)
    got = _pair(h.bounded(sol.flash_attention, q, k, v, causal=causal, block_q=block_q, block_k=block_k, limit_mib=LIMIT_MIB, what=what, naive=NAIVE), what)
    out, lse = (h.tensor(t, what) for t in got)
    if tuple(out.shape) != (1, 1, BIG, BIG_D) or tuple(lse.shape) != (1, 1, BIG):
        raise AssertionError(f"{what}: output {tuple(out.shape)} and lse {tuple(lse.shape)}, expected (1, 1, {BIG}, {BIG_D}) and (1, 1, {BIG})")
    g = torch.Generator().manual_seed(seed + 1)
    rows = sorted({0, 1, block_q - 1, block_q, BIG // 2 + 3, BIG - 1, *torch.randint(0, BIG, (6,), generator=g).tolist()})
    for i in rows:
        n = i + 1 if causal else BIG  # query i sees keys 0..i: the non-causal answer over those keys
        r_out, r_lse = ref.flash_attention(q[..., i : i + 1, :].double(), k[..., :n, :].double(), v[..., :n, :].double(), block_q=1, block_k=BIG)
        h.close(out[..., i : i + 1, :], r_out, f"{what}: output of query {i}", dtype=torch.float32)
        h.close(lse[..., i : i + 1], r_lse, f"{what}: lse of query {i}", dtype=torch.float32)


def test_bound_long_sequences(sol, ref, h):
    """Bound: no Lq × Lk tensor. At Lq = Lk = 8192, d = 64, tiles of 512, non-causal then causal:
    peak extra memory <= 64 MiB each, and a sample of query rows checked against the reference.
    (The causal call runs once the non-causal one is within the bound.)"""
    _sampled_rows(sol, ref, h, causal=False, seed=90, block_q=512, block_k=512)
    _sampled_rows(sol, ref, h, causal=True, seed=95, block_q=512, block_k=512)
