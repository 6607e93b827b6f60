"""Hidden suite for the beam_search kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker: the transition table crosses as
a copy, and the result comes back as plain Python data. Scores must agree with the reference's
to 1e-9 relative (any order of the float64 additions, and n ** p computed any way, is far inside
that); -inf must be -inf. Token lists must be the reference's, in its order:
- hand-made tables use values exact in binary, so their ties are real ties whatever the
  summation order, and the contract's tie order is checked exactly (exact=True);
- in random tables two paths that take the same transitions in another order (a loop walked
  twice) have equal log-probabilities in exact arithmetic, and float rounding alone orders them:
  such paths may trade places there. Every other pair is far apart.

Only test_return_format insists on the exact Python types; the other checks also accept 0-d
tensors for ids and scores and a 1-D tensor of ids, so that one slip in the format fails one
check, not all of them.
"""

import itertools
import math

import torch

INF = float("inf")


def _model(v, seed, eos, eos_bias=0.0, scale=1.5, forbid=0.0):
    """A random bigram table of log-probabilities; FORBID: the share of -inf entries (never a whole row)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(v, v, generator=g, dtype=torch.float64) * scale
    x[:, eos] += eos_bias
    if forbid:
        off = torch.rand(v, v, generator=g, dtype=torch.float64) < forbid
        off[torch.arange(v), torch.randint(0, v, (v,), generator=g)] = False  # one allowed token per row
        x = x.masked_fill(off, -INF)
    return torch.log_softmax(x, dim=-1)


def _table(rows):
    return torch.tensor(rows, dtype=torch.float64)


def _kind(x):
    return getattr(x, "remote_type", None) or type(x).__name__


def _as_int(x, what):
    if isinstance(x, torch.Tensor) and x.dim() == 0 and not x.is_floating_point() and x.dtype != torch.bool:
        return int(x)
    if isinstance(x, int) and not isinstance(x, bool):
        return x
    raise AssertionError(f"{what}: a token id must be an int, got {_kind(x)} ({x!r:.40})")


def _as_float(x, what):
    if isinstance(x, torch.Tensor) and x.dim() == 0 and x.dtype == torch.float64:
        return float(x)
    if isinstance(x, torch.Tensor) and x.is_floating_point():
        raise AssertionError(
            f"{what}: a score must be a Python float (float64), got a {x.dtype} tensor of shape {tuple(x.shape)}; "
            "torch.tensor(score) makes a float32 one, which keeps only about 7 digits"
        )
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    raise AssertionError(f"{what}: a score must be a float, got {_kind(x)} ({x!r:.40})")


def _hyps(result, what):
    """The learner's result as [(tokens, score)], leniently typed; a wrong structure fails here."""
    if not isinstance(result, (list, tuple)):
        raise AssertionError(f"{what}: beam_search must return a list of (tokens, score) tuples, got {_kind(result)}")
    out = []
    for k, item in enumerate(result):
        if not (isinstance(item, (list, tuple)) and len(item) == 2):
            raise AssertionError(f"{what}: result[{k}] must be a (tokens, score) tuple, got {_kind(item)} ({item!r:.60})")
        tokens, score = item
        if isinstance(tokens, torch.Tensor) and tokens.dim() == 1:
            tokens = tokens.tolist()  # a slip test_return_format names; judged on its values here
        if not isinstance(tokens, (list, tuple)):
            raise AssertionError(f"{what}: result[{k}]'s tokens must be a list of ints, got {_kind(tokens)}")
        out.append(([_as_int(t, f"{what}: result[{k}]") for t in tokens], _as_float(score, f"{what}: result[{k}]")))
    return out


def _close(a, b):
    if math.isnan(a):
        return False
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _show(hyps, limit=4):
    shown = ", ".join(f"({tokens}, {score:.6g})" for tokens, score in hyps[:limit])
    return f"[{shown}{', ...' if len(hyps) > limit else ''}]"


def _label(transition, bos, eos, beam_size, max_len, length_penalty):
    v = transition.size(0)
    return f"beam_search(V={v}, bos={bos}, eos={eos}, beam_size={beam_size}, max_len={max_len}, length_penalty={length_penalty})"


def _key(bos, tokens):
    """The multiset of transitions a path takes: paths with the same one (a loop walked in another
    order) have the same log-probability in exact arithmetic and the same last token, so in a
    random table float rounding alone decides their order — any order is accepted for them."""
    return tuple(sorted(zip([bos, *tokens[:-1]], tokens)))


def _compare(got, expected, what, bos, exact, against="the reference"):
    """Same number of hypotheses, the same tokens in the same order, scores within 1e-9 relative.
    Not EXACT (random tables): paths with the same transitions may trade places."""
    got = _hyps(got, what)
    if len(got) != len(expected):
        raise AssertionError(
            f"{what}: returned {len(got)} hypotheses, {against} has {len(expected)}: got {_show(got)}, expected {_show(expected)}"
        )
    for k, ((gt, gs), (et, es)) in enumerate(zip(got, expected)):
        if gt != et and (exact or _key(bos, gt) != _key(bos, et)):
            raise AssertionError(
                f"{what}: hypothesis {k} (0 = best) has tokens {gt}, {against} has {et}; "
                f"got {_show(got)}, expected {_show(expected)}"
            )
        if not _close(gs, es):
            raise AssertionError(f"{what}: hypothesis {k} {gt} has score {gs!r}, {against} has {es!r}")


def _check(sol, ref, transition, bos, eos, beam_size, max_len, length_penalty, note="", exact=False):
    """The learner's result equals the reference's; EXACT for hand-made tables, whose ties are exact."""
    what = _label(transition, bos, eos, beam_size, max_len, length_penalty) + note
    expected = ref.beam_search(transition, bos, eos, beam_size, max_len, length_penalty)
    got = sol.beam_search(transition, bos, eos, beam_size, max_len, length_penalty)
    _compare(got, expected, what, bos, exact)


def test_return_format(sol, ref, h):
    """A list of (list of int, float) tuples, at most beam_size of them; the table is left unchanged."""
    t = _model(5, 1, eos=1, eos_bias=1.0)
    out, args = h.call_keeping_args(sol.beam_search, t, 0, 1, 3, 4, 1.0)
    what = _label(t, 0, 1, 3, 4, 1.0)
    assert isinstance(out, list), f"{what}: must return a list, got {_kind(out)}"
    assert 1 <= len(out) <= 3, f"{what}: returned {len(out)} hypotheses, expected between 1 and beam_size = 3"
    for k, item in enumerate(out):
        assert isinstance(item, tuple) and len(item) == 2, f"{what}: result[{k}] must be a tuple (tokens, score), got {_kind(item)}"
        tokens, score = item
        assert isinstance(tokens, list), f"{what}: result[{k}]'s tokens must be a list, got {_kind(tokens)}"
        bad = [t for t in tokens if type(t) is not int]
        assert not bad, f"{what}: result[{k}]'s tokens must be Python ints, got {_kind(bad[0])} (use int(...) or .tolist())"
        assert type(score) is float, f"{what}: result[{k}]'s score must be a Python float, got {_kind(score)} (use float(...) or .item())"
    h.close(args[0], t, "the transition table after the call (beam_search must not modify it)", against="the table passed in")


def test_matches_reference(sol, ref, h):
    """Random bigram models, several sizes, beams and lengths (bos and eos anywhere), length_penalty 1."""
    cases = [  # V, seed, bos, eos, beam_size, max_len
        (3, 10, 0, 2, 2, 4),
        (5, 11, 0, 1, 3, 5),
        (7, 12, 3, 6, 4, 4),
        (4, 13, 2, 0, 2, 6),
        (6, 14, 5, 3, 5, 3),
    ]
    for v, seed, bos, eos, beam_size, max_len in cases:
        _check(sol, ref, _model(v, seed, eos, eos_bias=1.0), bos, eos, beam_size, max_len, 1.0)


def test_length_penalty(sol, ref, h):
    """length_penalty 0 (raw log-probability), 0.5, 1 (mean per token) and 2 on the same model."""
    for seed in (20, 21):
        t = _model(5, seed, eos=4, eos_bias=1.0)
        for lp in (0.0, 0.5, 1.0, 2.0):
            _check(sol, ref, t, 0, 4, 3, 5, lp)


def test_beam_size_one(sol, ref, h):
    """beam_size = 1: one live hypothesis; when its best extension is eos, the runner-up goes on."""
    for seed, lp in ((30, 1.0), (31, 0.0), (32, 2.0)):
        _check(sol, ref, _model(4, seed, eos=1, eos_bias=2.0), 0, 1, 1, 5, lp)


def test_max_len_one(sol, ref, h):
    """One step: each extension of [bos] finishes, by eos or by running out of steps."""
    t = _model(4, 40, eos=2, eos_bias=0.5)
    for beam_size in (1, 2, 10):
        _check(sol, ref, t, 0, 2, beam_size, 1, 1.0)


def test_eos_reached_early(sol, ref, h):
    """eos is likely at every step: many hypotheses finish early, and the walk of 2 · beam_size refills the beam."""
    for seed, beam_size, lp in ((50, 2, 1.0), (51, 3, 0.5), (52, 3, 2.0)):
        _check(sol, ref, _model(5, seed, eos=1, eos_bias=3.0), 0, 1, beam_size, 6, lp)


def test_eos_after_full_beam(sol, ref, h):
    """An eos ranked after the extensions that fill the beam, but within the best 2 · beam_size, still finishes."""
    full = _table([[-2.25, -3.0, -3.25, -2.25], [-1.25, -1.5, -1.0, -1.75], [-2.5, -3.5, -1.75, -3.0], [-3.75, -0.75, -2.5, -3.25]])
    _check(sol, ref, full, 0, 3, 2, 3, 1.0, exact=True)
    # step 1: [1] and [2] fill the beam, [3] = eos is third of the four walked; lp = 0 keeps it best
    third = _table([[-3.0, -0.5, -1.0, -2.0], [-3.0, -2.5, -2.75, -2.25], [-2.5, -3.0, -2.25, -2.75], [-1.0, -1.0, -1.0, -1.0]])
    _check(sol, ref, third, 0, 3, 2, 3, 0.0, exact=True)


def test_eos_equals_bos(sol, ref, h):
    """eos == bos: the start [bos] is live (bos is not generated); generating the bos token again ends a hypothesis."""
    for seed, beam_size in ((60, 2), (61, 3)):
        _check(sol, ref, _model(4, seed, eos=2, eos_bias=1.0), 2, 2, beam_size, 4, 1.0)


def test_nothing_live(sol, ref, h):
    """V = 1, bos = eos = 0: step 1 finishes the only extension, nothing is live, the search stops."""
    t = _table([[-0.75]])
    for beam_size, max_len, lp in ((1, 1, 1.0), (3, 5, 0.0), (2, 4, 2.0)):
        _check(sol, ref, t, 0, 0, beam_size, max_len, lp, exact=True)
        what = _label(t, 0, 0, beam_size, max_len, lp)
        _compare(sol.beam_search(t, 0, 0, beam_size, max_len, lp), [([0], -0.75)], what, 0, True, against="the contract")


def test_ties(sol, ref, h):
    """Equal log-probabilities: extensions keep (live index, token id) order; equal scores keep finishing order."""
    across_live = _table([[-2.0, -1.0, -1.0, -3.0], [-2.0, -2.0, -3.0, -4.0], [-2.0, -2.0, -3.0, -4.0], [-1.0, -1.0, -1.0, -1.0]])
    note = " (two live hypotheses with equal log-probabilities: ties keep live index, then token id order)"
    _check(sol, ref, across_live, 0, 3, 2, 3, 1.0, note, exact=True)
    uniform = torch.full((4, 4), -1.5, dtype=torch.float64)
    _check(sol, ref, uniform, 0, 3, 2, 3, 1.0, " (every transition equal: ties keep live index, then token id order)", exact=True)
    _check(sol, ref, uniform, 1, 2, 3, 4, 0.0, " (every transition equal, length_penalty 0)", exact=True)
    finishing = _table([[-3.0, -1.0, -2.0], [-5.0, -3.0, -3.0], [-1.0, -1.0, -1.0]])
    _check(sol, ref, finishing, 0, 2, 2, 2, 1.0, " (equal scores: the one that finished first comes first)", exact=True)
    _check(sol, ref, finishing, 0, 2, 5, 2, 1.0, " (equal scores, live ones finishing after max_len)", exact=True)


def test_neg_inf_transitions(sol, ref, h):
    """-inf transitions rank last and are walked like any other: a hypothesis may score -inf."""
    for seed, beam_size, lp in ((70, 3, 1.0), (71, 2, 0.0), (72, 4, 2.0)):
        _check(sol, ref, _model(5, seed, eos=4, eos_bias=1.0, forbid=0.5), 0, 4, beam_size, 4, lp)
    sparse = _table([[-INF, -0.5, -INF], [-INF, -1.0, -0.25], [-INF, -INF, -INF]])
    for beam_size, max_len in ((4, 3), (5, 2)):
        _check(sol, ref, sparse, 0, 2, beam_size, max_len, 1.0, " (few finite paths: -inf hypotheses are returned too)", exact=True)


def test_never_emits_eos(sol, ref, h):
    """eos has probability 0: every returned hypothesis ran out of steps and has max_len tokens."""
    t = _model(5, 80, eos=2)
    t[:, 2] = -INF
    for beam_size, lp in ((2, 1.0), (3, 0.0)):
        _check(sol, ref, t, 0, 2, beam_size, 4, lp)


def _exhaustive(transition, bos, eos, max_len, length_penalty):
    """Every possible output (ends in eos, or has max_len tokens without eos), best score first."""
    v = transition.size(0)
    rows = transition.tolist()
    out = []
    for n in range(1, max_len + 1):
        for body in itertools.product([t for t in range(v) if t != eos], repeat=n - 1):
            for last in ([eos] if n < max_len else range(v)):
                tokens = [*body, last]
                logp, prev = 0.0, bos
                for t in tokens:
                    logp, prev = logp + rows[prev][t], t
                out.append((tokens, logp / n**length_penalty))
    out.sort(key=lambda hyp: -hyp[1])
    return out


def test_exhaustive_search(sol, ref, h):
    """Property (no reference): with beam_size >= V ** max_len nothing is dropped, and the result is every
    possible output, best first — its first is what exhaustive search finds."""
    for v, seed, max_len, lp in ((3, 90, 4, 1.0), (4, 91, 3, 0.0), (3, 92, 4, 2.0)):
        t = _model(v, seed, eos=1, eos_bias=0.5)
        expected = _exhaustive(t, 0, 1, max_len, lp)
        beam_size = v**max_len
        what = _label(t, 0, 1, beam_size, max_len, lp)
        got = _hyps(sol.beam_search(t, 0, 1, beam_size, max_len, lp), what)
        if got:
            _compare(got[:1], expected[:1], what + ": the best hypothesis", 0, False, against="exhaustive search")
        _compare(got, expected, what, 0, False, against="exhaustive search")


def test_scores_consistent(sol, ref, h):
    """Property (no reference): each returned hypothesis is a possible output, its score is its
    log-probability / n ** length_penalty, the scores never increase, and no hypothesis repeats."""
    for seed, beam_size, max_len, lp in ((100, 4, 6, 1.0), (101, 5, 5, 2.0), (102, 3, 7, 0.5)):
        t = _model(8, seed, eos=5, eos_bias=1.0)
        rows = t.tolist()
        what = _label(t, 1, 5, beam_size, max_len, lp)
        got = _hyps(sol.beam_search(t, 1, 5, beam_size, max_len, lp), what)
        assert len(got) == beam_size, f"{what}: returned {len(got)} hypotheses; at least beam_size = {beam_size} finish here"
        for k, (tokens, score) in enumerate(got):
            assert 1 <= len(tokens) <= max_len, f"{what}: hypothesis {k} has {len(tokens)} tokens (bos excluded), expected 1 .. max_len"
            assert all(0 <= x < 8 for x in tokens), f"{what}: hypothesis {k} {tokens} has a token id outside 0 .. V-1"
            assert 5 not in tokens[:-1], f"{what}: hypothesis {k} {tokens} goes on after eos = 5 (a finished hypothesis was extended)"
            assert tokens[-1] == 5 or len(tokens) == max_len, f"{what}: hypothesis {k} {tokens} neither ends in eos nor reached max_len"
            logp, prev = 0.0, 1
            for x in tokens:
                logp, prev = logp + rows[prev][x], x
            expected = logp / len(tokens) ** lp
            assert _close(score, expected), (
                f"{what}: hypothesis {k} {tokens} has score {score!r}, but its log-probability / n ** length_penalty "
                f"(n = {len(tokens)} generated tokens, bos not counted) is {expected!r}"
            )
        scores = [score for _, score in got]
        assert all(a >= b or _close(a, b) for a, b in zip(scores, scores[1:])), f"{what}: scores {scores} are not best first"
        assert len({tuple(tokens) for tokens, _ in got}) == len(got), f"{what}: a hypothesis is returned twice: {_show(got, 6)}"
