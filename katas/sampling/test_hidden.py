"""Hidden suite for the sampling kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker: calls send copies of the
arguments and return tensors; a torch.Generator crosses as its state, so a seed reproduces the
reference's draws. The reference runs in float64 on the same values.

A correct implementation with another rounding (float32 or bfloat16 probabilities, another
summation order) must land on the same side of every bound, so the random inputs here keep
each top-p running sum at least 1e-3 from top_p (0.04 in bfloat16) and each min-p ratio at
least 2 % from min_p (4 % in bfloat16); the boundary itself is tested on rows whose
probabilities are exact (tied tokens of probability 1/4, tokens of probability 0 with a finite
logit), where every rounding agrees.
Each request to the worker costs several ms of CPU, so cases that share options share a call.
"""

import math

import torch

NEG = float("-inf")
OPTIONS = ("temperature", "top_k", "top_p", "min_p")


_FNS = {}


def _fn(sol, name):
    """The learner's function, fetched from the worker once per candidate: every attribute read
    through the proxy is a request of its own."""
    key = (id(sol), name)
    if key not in _FNS or _FNS[key][0] is not sol:
        _FNS[key] = (sol, getattr(sol, name))
    return _FNS[key][1]


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _logits(b, v, seed, scale=2.0, dtype=torch.float64):
    return (scale * torch.randn(b, v, generator=_gen(seed), dtype=torch.float64)).to(dtype)


def _log_probs(*rows, width=None):
    """Rows of logits whose softmax is the given probabilities, padded with -inf to WIDTH."""
    width = width or max(len(r) for r in rows)
    return torch.tensor([[math.log(p) for p in r] + [NEG] * (width - len(r)) for r in rows], dtype=torch.float64)


def _label(opts):
    return ", ".join(f"{k}={opts[k]}" for k in OPTIONS if k in opts) or "no options"


def _kept(row):
    return [i for i, ok in enumerate(torch.isfinite(row).tolist()) if ok]


def _same_filtered(h, got, expected, what, dtype=None):
    """The same kept tokens as EXPECTED (told row by row), then the same kept values."""
    got = h.tensor(got, what)
    if tuple(got.shape) != tuple(expected.shape):
        raise AssertionError(f"{what}: shape {tuple(got.shape)}, expected {tuple(expected.shape)} (the logits' shape)")
    if dtype is not None and got.dtype != dtype:
        raise AssertionError(f"{what}: dtype {got.dtype}, expected {dtype} (keep the logits' dtype)")
    for bad, name in ((torch.isnan(got), "NaN"), (got == float("inf"), "+inf")):
        if bool(bad.any()):
            b, v = (int(i) for i in bad.nonzero()[0])
            raise AssertionError(f"{what}: {name} at row {b}, token {v} (removed tokens must be -inf, kept ones finite)")
    for b in range(expected.size(0)):
        mine, right = _kept(got[b]), _kept(expected[b])
        if mine != right:
            extra, missing = sorted(set(mine) - set(right)), sorted(set(right) - set(mine))
            why = "; ".join(
                s for s in (f"{extra} must be removed" if extra else "", f"{missing} must be kept" if missing else "") if s
            )
            raise AssertionError(f"{what}: row {b} keeps tokens {mine}, expected {right} ({why})")
    h.close(got, expected, f"{what}: the kept tokens' logits", dtype=dtype)


def _check(sol, ref, h, logits, label="", **opts):
    got = _fn(sol, "filter_logits")(logits, **opts)
    expected = ref.filter_logits(logits.double(), **opts)
    _same_filtered(h, got, expected, f"filter_logits({_label(opts)}){label}", dtype=logits.dtype)


def _raises(fn, what, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ValueError:
        return
    raise AssertionError(f"{what} must raise ValueError")


def test_argument_checks(sol, ref, h):
    """ValueError for temperature < 0, top_k < 0, top_p < 0, min_p > 1 (from sample too), penalty <= 0."""
    x = _logits(2, 5, seed=1)
    for opts in ({"temperature": -0.5}, {"top_k": -1}, {"min_p": 1.5}):
        _raises(_fn(sol, "filter_logits"), f"filter_logits({_label(opts)})", x, **opts)
    _raises(_fn(sol, "sample"), "sample(top_p=-0.1)", x, _gen(0), top_p=-0.1)
    _raises(_fn(sol, "apply_repetition_penalty"), "apply_repetition_penalty(penalty=0.0)", x, torch.tensor([[0], [1]]), 0.0)


def test_temperature(sol, ref, h):
    """Kept logits are logit / temperature; top_k >= V, top_p=None and min_p=0 filter nothing."""
    _check(sol, ref, h, _logits(3, 11, seed=10), temperature=0.25, top_k=15, top_p=None, min_p=0.0)


def test_temperature_zero(sol, ref, h):
    """temperature=0 keeps only the argmax (the first of tied maxima) with its logit unchanged, whatever the other options."""
    x = torch.tensor(
        [[1.0, 4.0, 4.0, -2.0, 0.5], [-3.0, -1.5, -7.0, -1.5, -1.5], [NEG, 2.0, NEG, 9.0, 9.0], [0.3, 0.1, -0.2, 0.25, 0.0]],
        dtype=torch.float64,
    )
    _check(sol, ref, h, x, " with tied maxima", temperature=0, top_k=3, top_p=0.5, min_p=0.2)


def test_top_k(sol, ref, h):
    """top_k keeps every logit >= the k-th largest: ties with it stay, -inf stays (top_k >= V: see temperature)."""
    ties = torch.tensor([[1.0, 3.0, 3.0, 2.0, 3.0, 0.0], [5.0, 2.0, 2.0, 2.0, 1.0, 2.0], [NEG, 1.0, NEG, 0.5, 0.5, NEG]], dtype=torch.float64)
    x = torch.cat([ties, _logits(3, 6, seed=30)])  # rows 0-2 with ties, rows 3-5 random
    _check(sol, ref, h, x, " (rows 0-2 have ties)", top_k=2)
    _check(sol, ref, h, x, " (rows 0-2 have ties)", temperature=0.7, top_k=3)


def _known_rows():
    # rows 0-4: probabilities with a known running sum; rows 5-6: four tokens of exactly 1/4 and two of 0
    known = _log_probs([0.55, 0.28, 0.12, 0.05], [0.05, 0.12, 0.28, 0.55], [0.07, 0.42, 0.31, 0.2],
                       [0.22, 0.34, 0.22, 0.22], [0.12, 0.12, 0.38, 0.38], width=6)
    exact = torch.tensor([[-1000.0, 3.0, 3.0, 3.0, 3.0, -1000.0], [2.0, -900.0, 2.0, 2.0, -800.0, 2.0]], dtype=torch.float64)
    return torch.cat([known, exact])


def test_top_p_crossing_token(sol, ref, h):
    """The token that makes the running sum reach top_p is kept; when the first n tokens sum to exactly
    top_p, token n + 1 goes; equally likely tokens rank by lower index first."""
    x = _known_rows()
    for p in (0.25, 0.5, 0.75):
        _check(sol, ref, h, x, " on rows of known probabilities (rows 5-6: 1/4 four times, 0 twice)", top_p=p)


def test_top_p_zero_and_one(sol, ref, h):
    """top_p=0 keeps only the most likely token (the lowest index among ties); top_p >= 1 removes
    nothing, not even a token of probability 0."""
    x = _known_rows()
    for p in (0.0, 1.0):
        _check(sol, ref, h, x, " on rows of known probabilities (rows 5-6: 1/4 four times, 0 twice)", top_p=p)


def test_top_p_random(sol, ref, h):
    """Nucleus filtering of random rows at temperature 2 (B > 1: each row keeps its own set); top_k=0 is no top-k."""
    x = _logits(4, 16, seed=40)
    _check(sol, ref, h, x, " on random rows", temperature=2.0, top_k=0, top_p=0.5)


def test_min_p(sol, ref, h):
    """min_p keeps probability >= min_p x the largest (ties with the bound kept), for positive and negative
    logits: it compares probabilities, not logits."""
    x = _logits(4, 12, seed=50)
    x[1] -= 6.0  # all negative
    x[2] += 5.0  # all positive
    _check(sol, ref, h, x, " on random rows", temperature=3.0, min_p=0.5)
    ties = torch.tensor([[1.0, 2.0, 2.0, 0.0, 2.0], [-3.0, -1.0, -1.0, -2.0, NEG]], dtype=torch.float64)
    _check(sol, ref, h, ties, " on rows with tied maxima", min_p=1.0)


def test_steps_in_order(sol, ref, h):
    """temperature, then top_k, then top_p on the probabilities top-k left, then min_p: combinations."""
    x = _logits(3, 14, seed=60)
    for opts in (
        {"temperature": 0.6, "top_k": 6, "top_p": 0.75},
        {"temperature": 1.7, "top_k": 8, "top_p": 0.7, "min_p": 0.2},
    ):
        _check(sol, ref, h, x, " on random rows", **opts)
    # top_k=2 leaves 0.4 and 0.35, renormalised to 0.53 and 0.47: top_p=0.5 keeps only the first
    # (on the probabilities from before top-k, 0.4 alone would not reach 0.5)
    _check(sol, ref, h, _log_probs([0.4, 0.35, 0.25], [0.25, 0.35, 0.4]), " (top-p must use what top-k left)", top_k=2, top_p=0.5)


def test_dtypes(sol, ref, h):
    """float32 and bfloat16 logits: the same kept tokens, values within the dtype's tolerance, dtype kept."""
    base = _logits(3, 12, seed=211)
    prev = torch.tensor([[0, 3, 3], [1, 2, 11], [5, 6, 7]])
    for dtype in (torch.float32, torch.bfloat16):
        x = base.to(dtype)
        _check(sol, ref, h, x, f" in {dtype}", temperature=2.0, top_k=6, top_p=0.8, min_p=0.3)
        got = _fn(sol, "apply_repetition_penalty")(x, prev, 1.3)
        h.close(got, ref.apply_repetition_penalty(x.double(), prev, 1.3), f"apply_repetition_penalty in {dtype}", dtype=dtype)


def test_kept_logits_are_scaled_inputs(sol, ref, h):
    """Property (no reference): every kept token holds its logit / temperature, and each row keeps its argmax."""
    x = _logits(5, 20, seed=80)
    opts = {"temperature": 0.8, "top_k": 6, "top_p": 0.9, "min_p": 0.1}
    what = f"filter_logits({_label(opts)})"
    got = h.tensor(_fn(sol, "filter_logits")(x, **opts), what)
    kept = torch.isfinite(got)
    assert bool(kept[torch.arange(5), x.argmax(dim=-1)].all()), f"{what} removed a row's most likely token"
    h.close(got[kept], (x / 0.8)[kept], f"{what}: kept logits", against="logit / temperature")


def test_inputs_untouched(sol, ref, h):
    """filter_logits, sample and apply_repetition_penalty return new tensors: the logits passed in keep their values."""
    x = _logits(2, 8, seed=90)
    before = x.clone()
    calls = (
        ("filter_logits", _fn(sol, "filter_logits"), (x,), {"temperature": 0.5, "top_k": 3, "top_p": 0.5, "min_p": 0.2}),
        ("sample", _fn(sol, "sample"), (x, _gen(1)), {"top_k": 3, "top_p": 0.5, "min_p": 0.2}),
        ("apply_repetition_penalty", _fn(sol, "apply_repetition_penalty"), (x, torch.tensor([[0, 1, 2], [3, 3, 7]]), 1.5), {}),
    )
    for name, fn, args, kwargs in calls:
        _, after = h.call_keeping_args(fn, *args, **kwargs)
        h.close(after[0], before, f"the logits passed to {name} (never modify them: return a new tensor)", against="their values before the call")


def test_sample_matches_reference(sol, ref, h):
    """A seeded generator gives the reference's tokens: one multinomial draw on softmax(filtered), shape (B,), int64."""
    x = _logits(6, 15, seed=100)
    cases = ({"temperature": 0.7}, {"temperature": 1.5, "top_k": 8, "top_p": 0.85, "min_p": 0.05})
    for seed, opts in enumerate(cases):
        got = h.tensor(_fn(sol, "sample")(x, _gen(seed), **opts), f"sample({_label(opts)})")
        assert tuple(got.shape) == (6,), f"sample({_label(opts)}) returned shape {tuple(got.shape)}, expected (6,): one token per row"
        h.equal(got, ref.sample(x, _gen(seed), **opts), f"tokens from sample({_label(opts)}) with generator seed {seed}")
    h.equal(_fn(sol, "sample")(_logits(1, 1, seed=101), _gen(0)), torch.zeros(1, dtype=torch.long), "sample on (1, 1) logits")


def test_sample_dtypes(sol, ref, h):
    """float32 and bfloat16 logits sample the reference's tokens."""
    base = _logits(5, 10, seed=110)
    for dtype, opts in ((torch.float32, {"temperature": 0.8}), (torch.bfloat16, {"top_k": 3, "top_p": 0.8})):
        x = base.to(dtype)
        h.equal(_fn(sol, "sample")(x, _gen(1), **opts), ref.sample(x.double(), _gen(1), **opts), f"tokens from sample({_label(opts)}) in {dtype}")


def test_sampled_tokens_never_filtered(sol, ref, h):
    """Property (no reference): over many draws and seeds, every sampled token is one your filter_logits keeps."""
    x = _logits(1, 12, seed=120, scale=1.0).expand(96, 12).clone()  # 64 draws from one row per call...
    x[64:] = _logits(32, 12, seed=121, scale=1.0)  # ...and one from each of 32 other rows
    opts = {"temperature": 1.5, "top_k": 6, "top_p": 0.7, "min_p": 0.3}
    what = f"sample({_label(opts)})"
    kept = torch.isfinite(h.tensor(_fn(sol, "filter_logits")(x, **opts), f"filter_logits({_label(opts)})"))
    for seed in (7, 8):
        tokens = h.tensor(_fn(sol, "sample")(x, _gen(seed), **opts), what)
        assert tuple(tokens.shape) == (96,), f"{what} returned shape {tuple(tokens.shape)}, expected (96,)"
        bad = (tokens < 0) | (tokens >= 12)
        bad |= ~kept[torch.arange(96), tokens.long().clamp(0, 11)]
        if bool(bad.any()):
            b = int(bad.nonzero()[0])
            raise AssertionError(
                f"{what} with seed {seed} drew token {int(tokens[b])} in row {b}, which your filter_logits "
                f"removes (it keeps {[i for i, ok in enumerate(kept[b].tolist()) if ok]}): draw from softmax(filtered)"
            )


def test_repetition_penalty(sol, ref, h):
    """Positive logits divided, negative multiplied, a repeated id penalised once, each row by its own
    tokens; 0 and -inf stay; penalty = 1 and T = 0 change nothing."""
    x = _logits(3, 10, seed=130)
    x[0, 4], x[1, 2], x[2, 9] = 0.0, NEG, -3.5
    prev = torch.tensor([[4, 1, 1, 7, 1, 0], [2, 2, 5, 8, 3, 3], [9, 9, 9, 6, 0, 5]])
    got = _fn(sol, "apply_repetition_penalty")(x, prev, 1.5)
    h.close(got, ref.apply_repetition_penalty(x, prev, 1.5), "apply_repetition_penalty with repeated ids, penalty=1.5")
    h.close(_fn(sol, "apply_repetition_penalty")(x, prev, 1.0), x, "apply_repetition_penalty with penalty=1 (changes nothing)", against="the logits")
    empty = torch.zeros(3, 0, dtype=torch.long)
    h.close(_fn(sol, "apply_repetition_penalty")(x, empty, 2.0), x, "apply_repetition_penalty with no previous tokens (T = 0)", against="the logits")
