"""Hidden suite for the speculative kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

The models are the grader's, not the learner's: h.define runs model.py as a module in the
grading worker, where the target and the draft are built and given target.pt / draft.pt, so
the learner's function receives real models of a class it did not write, and `target.calls` is
the model's own count of its forward calls. For the expected values the judge builds the same
models from the same files. Everything runs in float64; the prompts were chosen so that no
argmax the decoding depends on is a near-tie.

Most checks need no reference: plain greedy decoding of the target (written here) is what
speculative decoding must reproduce while the sequence fits in the target's block. Past the
block the sequence is cropped, the result depends on the rounds, and the reference decides.
"""

import math
import sys
import types

import torch

_LOCAL = {}


def _checkpoint(h, name):
    if name not in _LOCAL:
        _LOCAL[name] = torch.load(h.content(f"{name}.pt"), weights_only=True)
    return _LOCAL[name]


def _local_module(h):
    """model.py as a fresh module here in the judge (the same source the worker runs)."""
    if "model" not in _LOCAL:
        module = types.ModuleType("_speculative_suite_model")
        sys.modules[module.__name__] = module  # while it runs only (dataclasses look their module up)
        try:
            exec(compile(h.content("model.py").read_text(encoding="utf-8"), "<model.py>", "exec"), module.__dict__)
        finally:
            sys.modules.pop(module.__name__, None)
        _LOCAL["model"] = module
    return _LOCAL["model"]


def _worker_models(sol, h, same=False):
    """(target, draft) built in the worker from model.py, in float64; SAME: the draft is a second
    copy of the target. Built once per candidate (a model build costs more than most checks): the
    checks read the target's counter before and after each call, so earlier calls do not matter."""
    key = ("worker", id(sol), same)
    if key not in _LOCAL:
        m = h.define(sol, "model.py")
        models = m.from_checkpoint(_checkpoint(h, "target")), m.from_checkpoint(_checkpoint(h, "target" if same else "draft"))
        _LOCAL[key] = (sol, models)  # (sol kept alive, so that its id is not reused)
    return _LOCAL[key][1]


def _judge_models(h):
    """The same (target, draft) here in the judge, for the expected values."""
    if "models" not in _LOCAL:
        m = _local_module(h)
        _LOCAL["models"] = m.from_checkpoint(_checkpoint(h, "target")), m.from_checkpoint(_checkpoint(h, "draft"))
    return _LOCAL["models"]


def _expected_greedy(h, prompt, n):
    """The target's plain greedy decoding (computed once per grading, for every candidate)."""
    key = ("greedy", prompt, n)
    if key not in _LOCAL:
        _LOCAL[key] = _greedy(_judge_models(h)[0], _encode(h, prompt), n)
    return _LOCAL[key]


def _expected_reference(ref, h, prompt, n, k):
    """The reference's (tokens, target calls) with the real draft."""
    key = ("reference", prompt, n, k)
    if key not in _LOCAL:
        target, draft = _judge_models(h)
        _LOCAL[key] = ref.speculative_generate(target, draft, _encode(h, prompt), n, k)
    return _LOCAL[key]


def _chars(h):
    return _checkpoint(h, "target")["chars"]


def _encode(h, text):
    return torch.tensor([[_chars(h).index(c) for c in text]])


@torch.no_grad()
def _greedy(model, idx, n):
    """Plain greedy decoding: one call per token, the last block_size tokens each time."""
    for _ in range(n):
        logits = model(idx[:, -model.config.block_size :])[:, -1, :]
        idx = torch.cat((idx, logits.argmax(dim=-1, keepdim=True)), dim=1)
    return idx


def _unpack(out, what):
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise AssertionError(f"{what}: speculative_generate must return (tokens, target_calls), got {type(out).__name__}")
    tokens, calls = out
    if isinstance(calls, bool) or not isinstance(calls, int):
        kind = getattr(calls, "remote_type", type(calls).__name__)
        raise AssertionError(f"{what}: the number of target calls must be a Python int, got {kind}")
    return tokens, calls


def _same_tokens(h, got, expected, prompt_len, what, against):
    """Exactly the expected tokens; the message names the first wrong new token, as text."""
    got = h.tensor(got, what)
    if tuple(got.shape) != tuple(expected.shape):
        raise AssertionError(f"{what}: tokens of shape {tuple(got.shape)}, expected {tuple(expected.shape)} (the prompt plus max_new_tokens)")
    if got.dtype != torch.long:
        raise AssertionError(f"{what}: tokens of dtype {got.dtype}, expected torch.int64")
    wrong = (got != expected).nonzero()
    if len(wrong):
        t = int(wrong[0, 1])
        before = _text(h, expected[0, max(0, t - 12) : t].tolist())
        where = f"prompt token {t}" if t < prompt_len else f"new token {t - prompt_len} (after {before!r})"
        raise AssertionError(f"{what}: {where} is {_show(h, int(got[0, t]))} where {against} gives {_show(h, int(expected[0, t]))}")


def _text(h, ids):
    chars = _chars(h)
    return "".join(chars[i] for i in ids)


def _show(h, i):
    chars = _chars(h)
    return f"{i} ({chars[i]!r})" if 0 <= i < len(chars) else str(i)


def _run(sol, h, models, prompt, n, k, same=False):
    """The learner's (tokens, calls) with MODELS (target, draft), and the target's own count of its calls."""
    target, draft = models
    before = int(target.calls)
    out = sol.speculative_generate(target, draft, _encode(h, prompt), n, k)
    tokens, calls = _unpack(out, _label(prompt, n, k, same))
    return tokens, calls, int(target.calls) - before


def _times(count):
    return "once" if count == 1 else f"{count} times"


def _label(prompt, n, k, same=False):
    return f"prompt {prompt!r}, max_new_tokens={n}, k={k}" + (", draft = a copy of the target" if same else "")


# Prompts inside the target's block (T + max_new_tokens <= block_size = 32): in every case the
# draft's guesses are both accepted and rejected. The last one ends exactly at the block's end,
# where a round that proposed more than needed would shift the target's window.
INSIDE = [
    ("The ", 12, 4),
    ("Attention is a way ", 8, 2),
    ("q", 10, 1),
    ("value", 10, 3),
    ("A word compares its query", 7, 5),
    ("a word shows to the others is", 3, 4),
]
GREEDY = "the target's plain greedy decoding"


def test_returns_tokens_and_calls(sol, ref, h):
    """(tokens (1, T + n) long starting with the untouched prompt, target calls as an int)."""
    target, draft = _worker_models(sol, h)
    idx = _encode(h, "The ")
    out, args_after = h.call_keeping_args(sol.speculative_generate, target, draft, idx, 6, 4)
    tokens, calls = _unpack(out, _label("The ", 6, 4))
    tokens = h.tensor(tokens, "the tokens returned")
    assert tuple(tokens.shape) == (1, 10), f"tokens of shape {tuple(tokens.shape)}, expected (1, 10): the 4 prompt tokens plus 6 new ones"
    assert tokens.dtype == torch.long, f"tokens of dtype {tokens.dtype}, expected torch.int64"
    h.equal(args_after[2], idx, "the idx passed in (speculative_generate must not modify it)")
    h.equal(tokens[:, :4], idx, "the first T tokens returned (they must be the prompt)")
    assert 1 <= calls <= 6, f"{calls} target calls reported for 6 new tokens: every round makes one and adds at least one token"


def test_equals_greedy_decoding(sol, ref, h):
    """Inside the block, the tokens are exactly the target's plain greedy decoding (no reference needed)."""
    models = _worker_models(sol, h)
    for prompt, n, k in INSIDE:
        tokens, _, _ = _run(sol, h, models, prompt, n, k)
        _same_tokens(h, tokens, _expected_greedy(h, prompt, n), len(prompt), _label(prompt, n, k), GREEDY)


def test_calls_counted_by_the_target(sol, ref, h):
    """The number returned is the number of times the target model ran (its own counter)."""
    models = _worker_models(sol, h)
    for prompt, n, k in INSIDE[:3]:
        _, calls, counted = _run(sol, h, models, prompt, n, k)
        assert calls == counted, (
            f"{_label(prompt, n, k)}: you reported {calls} target calls, but the target model counted "
            f"{counted} calls of its forward (count the target's calls only, every one of them)"
        )


def test_one_target_call_per_round(sol, ref, h):
    """With the real draft (guesses accepted and rejected), as many target calls as the reference's rounds."""
    models = _worker_models(sol, h)
    for prompt, n, k in INSIDE:
        _, _, counted = _run(sol, h, models, prompt, n, k)
        _, expected = _expected_reference(ref, h, prompt, n, k)
        if counted != expected:
            why = (
                "more calls than rounds: score the context and all of a round's proposals in ONE target call, "
                "and append the target's own token after the accepted prefix (a bonus one when all agree)"
                if counted > expected
                else "fewer calls than rounds: were proposals accepted past the target's first disagreement?"
            )
            raise AssertionError(f"{_label(prompt, n, k)}: the target ran {_times(counted)}, the reference needs {expected} ({why})")


def test_draft_equal_to_target(sol, ref, h):
    """A draft identical to the target is always right: ceil(n / (k + 1)) target calls (no reference needed)."""
    models = _worker_models(sol, h, same=True)
    for prompt, n, k in [("q", 14, 3), ("value", 9, 1), ("A word ", 1, 4), ("Attention ", 11, 10)]:
        tokens, calls, counted = _run(sol, h, models, prompt, n, k, same=True)
        _same_tokens(h, tokens, _expected_greedy(h, prompt, n), len(prompt), _label(prompt, n, k, True), GREEDY)
        expected = math.ceil(n / (k + 1))
        assert counted == expected and calls == expected, (
            f"{_label(prompt, n, k, True)}: every proposal is accepted, so each round adds k + 1 = {k + 1} tokens "
            f"and {n} tokens need ceil({n} / {k + 1}) = {expected} target calls; the target ran {_times(counted)} "
            f"and you reported {calls}"
        )


def test_past_block_size(sol, ref, h):
    """Past block_size each model sees only its last block_size tokens; the tokens are the reference's."""
    models = _worker_models(sol, h)
    # the second prompt alone is longer than the block
    for prompt, n, k in [("Attention is a way for a mode", 12, 4), ("The question is called the query, the label", 5, 3)]:
        try:
            tokens, _, counted = _run(sol, h, models, prompt, n, k)
        except ValueError as exc:
            raise AssertionError(f"{_label(prompt, n, k)}: {exc} — feed each model only its last config.block_size tokens") from None
        expected, expected_calls = _expected_reference(ref, h, prompt, n, k)
        _same_tokens(
            h, tokens, expected, len(prompt), _label(prompt, n, k),
            "the reference (each round the target sees the last block_size tokens of the context plus the proposals)",
        )
        assert counted == expected_calls, f"{_label(prompt, n, k)}: the target ran {_times(counted)}, the reference needs {expected_calls}"


def test_edge_cases(sol, ref, h):
    """max_new_tokens = 0 (no call) and 1 (one call); k = block_size - 1; a one-token prompt."""
    models = _worker_models(sol, h)
    draft_before = int(models[1].calls)
    tokens, calls, counted = _run(sol, h, models, "The ", 0, 4)
    h.equal(h.tensor(tokens, "tokens for max_new_tokens=0"), _encode(h, "The "), "tokens for max_new_tokens=0 (the prompt alone)")
    assert calls == 0 and counted == 0, f"max_new_tokens=0: the target ran {_times(counted)} and you reported {calls}; expected 0 and 0"
    assert int(models[1].calls) == draft_before, "max_new_tokens=0 must not call the draft either: there is nothing to propose"
    for prompt, n, k in [("The ", 1, 4), ("q", 12, 31)]:
        tokens, calls, counted = _run(sol, h, models, prompt, n, k)
        _same_tokens(h, tokens, _expected_greedy(h, prompt, n), len(prompt), _label(prompt, n, k), GREEDY)
        if n == 1:
            assert calls == counted == 1, f"{_label(prompt, n, k)}: one new token takes exactly one target call; the target ran {_times(counted)}, you reported {calls}"


def test_invalid_k(sol, ref, h):
    """k < 1 or k >= the target's block_size raises ValueError."""
    target, draft = _worker_models(sol, h)
    idx = _encode(h, "The ")
    for k in (0, 32):
        try:
            sol.speculative_generate(target, draft, idx, 5, k)
        except ValueError:
            continue
        raise AssertionError(f"k={k} must raise ValueError: k is at least 1 and below the target's block_size (32)")


def test_no_grad(sol, ref, h):
    """Decoding builds no autograd graph in either model (keep @torch.no_grad())."""
    target, draft = _worker_models(sol, h)
    watch_target, watch_draft = h.watch(target), h.watch(draft)
    sol.speculative_generate(target, draft, _encode(h, "The "), 6, 2)
    seen_target = watch_target.seen()
    assert seen_target, "speculative_generate never called the target"
    assert not any(seen_target + watch_draft.seen()), "decoding builds an autograd graph: keep @torch.no_grad() on speculative_generate"
