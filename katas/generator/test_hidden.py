"""Hidden suite for the generator kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker; a torch.Generator passed to it
crosses as its state, so a seed reproduces the reference's draws.

The learner's model always receives the reference model's weights through load_state_dict, so
nothing depends on initialisation order or on the learner's random number use.
"""

import torch

CONFIG = dict(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=16)


def _models(sol, ref, seed=0, **overrides):
    cfg = {**CONFIG, **overrides}
    torch.manual_seed(seed)
    r = ref.GPT(ref.GPTConfig(**cfg)).double()
    s = sol.GPT(sol.GPTConfig(**cfg))
    try:
        s.load_state_dict(r.state_dict())
    except RuntimeError as exc:
        raise AssertionError(
            f"could not load the reference weights (keep the starter's submodules): {_first_error(exc)}"
        ) from None
    return s.double(), r



def _first_error(exc):
    lines = [ln.strip() for ln in str(exc).splitlines()[1:] if ln.strip()]
    return (lines[0] if lines else str(exc))[:300]


def _idx(b, t, seed=1, vocab=CONFIG["vocab_size"]):
    return torch.randint(0, vocab, (b, t), generator=torch.Generator().manual_seed(seed))


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def test_attention_values(sol, ref, h):
    """CausalSelfAttention alone equals the reference (float64 and float32)."""
    cfg = ref.GPTConfig(**CONFIG)
    torch.manual_seed(2)
    r = ref.CausalSelfAttention(cfg).double()
    s = sol.CausalSelfAttention(sol.GPTConfig(**CONFIG))
    s.load_state_dict(r.state_dict())
    for dtype in (torch.float64, torch.float32):
        x = torch.randn(2, 5, 16, generator=_gen(3), dtype=torch.float64)
        h.close(s.to(dtype)(x.to(dtype)), r(x), f"attention output in {dtype}", dtype=dtype)
    x = torch.randn(1, 1, 16, generator=_gen(4), dtype=torch.float64)
    h.close(s.double()(x), r(x), "attention output for T = 1")


def test_logits_match_reference(sol, ref, h):
    """The whole model's logits equal the reference's, for several lengths up to block_size."""
    s, r = _models(sol, ref, seed=5)
    for t in (1, 4, 8):
        idx = _idx(3, t, seed=t)
        h.close(s(idx), r(idx), f"logits for T = {t}")


def test_causality(sol, ref, h):
    """Changing a later token changes no earlier position's logits."""
    s, _ = _models(sol, ref, seed=6)
    idx = _idx(2, 8, seed=7)
    base = h.tensor(s(idx), "logits").detach()
    for t in (3, 6):
        changed = idx.clone()
        changed[:, t] = (changed[:, t] + 1) % CONFIG["vocab_size"]
        after = h.tensor(s(changed), "logits").detach()
        h.close(after[:, :t], base[:, :t], f"logits before position {t} after changing token {t} (the future leaked)")


def test_gradients(sol, ref, h):
    """Gradients of the logits (times a fixed upstream gradient) w.r.t. every weight equal the reference's."""
    s, r = _models(sol, ref, seed=8)
    idx = _idx(2, 6, seed=9)
    up = torch.randn(2, 6, CONFIG["vocab_size"], generator=_gen(10), dtype=torch.float64)
    got = h.grad(s, idx, upstream=up, params=s)
    assert all(got.tracked), "the logits are detached: gradients cannot flow"
    params = dict(sorted(r.named_parameters()))
    expected = torch.autograd.grad((r(idx) * up).sum(), list(params.values()), allow_unused=True)
    for (name, _), e in zip(params.items(), expected):
        g = got.params.get(name)
        assert g is not None, f"no gradient reaches {name}"
        h.close(g, e, f"gradient w.r.t. {name}")


def test_generate_shape_and_prefix(sol, ref, h):
    """(B, T) long -> (B, T + n) long, starting with the untouched input; n = 0 works."""
    s, _ = _models(sol, ref, seed=11)
    idx = _idx(2, 3, seed=12)
    before = idx.clone()
    out, args_after = h.call_keeping_args(sol.generate, s, idx, 4, temperature=0)
    out = h.tensor(out, "generate output")
    assert tuple(out.shape) == (2, 7), f"generate returned shape {tuple(out.shape)}, expected (2, 7): input plus 4 new tokens"
    assert out.dtype == torch.long, f"generate returned dtype {out.dtype}, expected torch.int64"
    h.equal(args_after[1], before, "the input idx (generate must not modify it)")
    h.equal(out[:, :3], before, "the first T tokens of the output (they must be the prompt)")
    out0 = h.tensor(sol.generate(s, idx, 0, temperature=0), "generate output with max_new_tokens=0")
    h.equal(out0, before, "generate with max_new_tokens=0")


def test_greedy_matches_reference(sol, ref, h):
    """temperature=0 is greedy and equals the reference token for token."""
    s, r = _models(sol, ref, seed=13)
    idx = _idx(3, 2, seed=14)
    h.equal(sol.generate(s, idx, 5, temperature=0), ref.generate(r, idx, 5, temperature=0), "greedy tokens")


def test_crops_context(sol, ref, h):
    """Generating past block_size feeds only the last block_size tokens each step."""
    s, r = _models(sol, ref, seed=15)
    idx = _idx(2, 6, seed=16)
    expected = ref.generate(r, idx, 10, temperature=0)
    try:
        out = sol.generate(s, idx, 10, temperature=0)
    except ValueError as exc:
        raise AssertionError(f"generate past block_size failed ({exc}): crop to the last block_size tokens") from None
    h.equal(out, expected, "greedy tokens past block_size")


def test_sampling_reproducible(sol, ref, h):
    """A seeded torch.Generator gives the same tokens twice, and the reference's tokens."""
    s, r = _models(sol, ref, seed=17)
    idx = _idx(4, 3, seed=18)
    a = sol.generate(s, idx, 6, generator=_gen(19))
    b = sol.generate(s, idx, 6, generator=_gen(19))
    h.equal(a, b, "tokens from two runs with the same generator seed")
    h.equal(a, ref.generate(r, idx, 6, generator=_gen(19)), "sampled tokens (torch.multinomial with the given generator)")


def test_temperature(sol, ref, h):
    """Temperature divides the logits: low and high temperatures match the reference's samples."""
    s, r = _models(sol, ref, seed=20)
    idx = _idx(4, 2, seed=21)
    for temperature in (0.3, 3.0):
        got = sol.generate(s, idx, 5, temperature=temperature, generator=_gen(22))
        h.equal(got, ref.generate(r, idx, 5, temperature=temperature, generator=_gen(22)), f"tokens at temperature {temperature}")


def test_top_k(sol, ref, h):
    """top_k keeps the k likeliest tokens: every sample is among them; top_k=1 is greedy."""
    s, r = _models(sol, ref, seed=23)
    idx = _idx(4, 2, seed=24)
    out = h.tensor(sol.generate(s, idx, 5, temperature=5.0, top_k=3, generator=_gen(25)), "generate output")
    logits = h.tensor(s(out[:, :-1]), "logits").detach()  # your model's own logits
    allowed = torch.topk(logits, 3, dim=-1).indices  # (B, T-1, 3)
    for t in range(2, out.size(1)):
        ok = (allowed[:, t - 1] == out[:, t : t + 1]).any(-1)
        assert bool(ok.all()), f"token {t} was sampled outside the top 3 (top_k ignored?)"
    h.equal(out, ref.generate(r, idx, 5, temperature=5.0, top_k=3, generator=_gen(25)), "tokens with top_k=3")
    greedy = ref.generate(r, idx, 5, temperature=0)
    h.equal(sol.generate(s, idx, 5, temperature=1.0, top_k=1, generator=_gen(26)), greedy, "tokens with top_k=1 (must be greedy)")


def test_no_grad(sol, ref, h):
    """generate tracks no gradients (the model runs under torch.no_grad)."""
    s, _ = _models(sol, ref, seed=27)
    watch = h.watch(s)
    sol.generate(s, _idx(1, 2, seed=28), 3, temperature=0)
    seen = watch.seen()
    assert seen, "generate never called the model"
    assert not any(seen), "generate builds an autograd graph: decorate it with @torch.no_grad()"
