"""Answer keys of the positions / blocks / BERT / training questions, recomputed from first principles.

Every numeric answer in positional-encoding, rope, alibi, transformer-block, architectures, bert,
embeddings and training is checked here against a value computed in code (torch where a module
can be built, plain arithmetic written out from the formula otherwise), so a wrong key fails CI.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from attnquiz.bank import check

QUESTIONS = {q.id: q for q in check([Path(__file__).resolve().parents[1] / "questions"])[0]}


def _q(qid: str):
    if qid not in QUESTIONS:
        pytest.fail(f"question {qid} is missing from the bank (or invalid)")
    return QUESTIONS[qid]


def _assert_numeric(qid: str, computed: float) -> None:
    q = _q(qid)
    assert q.type == "numeric"
    assert abs(q.answer - computed) <= q.tolerance, f"{qid}: key {q.answer}, computed {computed}"


# --------------------------------------------------------------------------- positional encoding


def _sinusoidal(torch, max_len: int, d_model: int):
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)
    angles = pos / 10000 ** (two_i / d_model)
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe


def test_pe_wavelength_middle():
    d_model, two_i = 512, 256
    omega = 1 / 10000 ** (two_i / d_model)
    _assert_numeric("positional-encoding.wavelength-middle", 2 * math.pi / omega)


def test_pe_wavelength_middle_measured():
    """The column really repeats after about 628 positions."""
    torch = pytest.importorskip("torch")
    pe = _sinusoidal(torch, 2000, 512)
    col = pe[:, 256].tolist()
    # zero crossings going upwards are one wavelength apart
    ups = [p for p in range(1, 2000) if col[p - 1] < 0 <= col[p]]
    assert abs((ups[1] - ups[0]) - _q("positional-encoding.wavelength-middle").answer) < 1.5


def test_attention_without_positions_is_permutation_equivariant():
    torch = pytest.importorskip("torch")
    assert _q("positional-encoding.permutation-equivariant").answer is True
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(16, 4, batch_first=True).eval()
    x = torch.randn(1, 7, 16)
    perm = torch.randperm(7)
    out, _ = mha(x, x, x)
    out_p, _ = mha(x[:, perm], x[:, perm], x[:, perm])
    assert torch.allclose(out[:, perm], out_p, atol=1e-6)


def test_pe_shift_is_a_rotation_independent_of_pos():
    torch = pytest.importorskip("torch")
    assert _q("positional-encoding.relative-offset-linear").answer == "D"
    d_model, k = 8, 5
    pe = _sinusoidal(torch, 50, d_model)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)
    omega = 1 / 10000 ** (two_i / d_model)
    m = torch.zeros(d_model, d_model, dtype=torch.float64)
    for j, w in enumerate(omega):
        c, s = math.cos(w * k), math.sin(w * k)
        # [sin(w(p+k)), cos(w(p+k))] = [[c, s], [-s, c]] @ [sin(wp), cos(wp)]
        m[2 * j : 2 * j + 2, 2 * j : 2 * j + 2] = torch.tensor([[c, s], [-s, c]], dtype=torch.float64)
    for p in (0, 3, 17, 40):
        assert torch.allclose(m @ pe[p], pe[p + k])


def test_pe_is_defined_beyond_any_training_length():
    torch = pytest.importorskip("torch")
    assert _q("positional-encoding.no-length-limit").answer is False
    pe = _sinusoidal(torch, 5000, 64)
    assert torch.isfinite(pe).all() and len({tuple(r.tolist()) for r in pe[::97]}) == len(pe[::97])


def test_pe_bug_same_frequency_makes_pairs_identical():
    torch = pytest.importorskip("torch")
    assert _q("positional-encoding.bug-same-frequency").answer == "C"
    d_model, max_len = 512, 100
    pos = torch.arange(max_len, dtype=torch.float32)[:, None]
    div = torch.full((d_model // 2,), 10000.0 ** (2 / d_model))
    buggy = torch.sin(pos / div)
    assert torch.equal(buggy[:, 0], buggy[:, -1])  # every pair the same
    assert abs(2 * math.pi * 10000 ** (2 / d_model) - 6.5) < 0.05  # wavelength quoted in the choice


# --------------------------------------------------------------------------- RoPE


def _rope(torch, x, pos, base=10000.0):
    """Reference RoPE on interleaved (even, odd) pairs; x: (..., L, d)."""
    d = x.shape[-1]
    inv_freq = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    ang = pos[:, None].double() * inv_freq[None, :]
    cos, sin = ang.cos(), ang.sin()
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


def test_rope_num_frequencies():
    head_dim = 128
    freqs = {10000 ** (-2 * i / head_dim) for i in range(head_dim // 2)}
    _assert_numeric("rope.num-frequencies", len(freqs))


def test_rope_angle_at_position():
    d, i, pos = 128, 32, 100
    _assert_numeric("rope.angle-at-position", pos * 10000 ** (-2 * i / d))


def test_rope_scores_depend_only_on_offset_and_norms_kept():
    torch = pytest.importorskip("torch")
    assert _q("rope.relative-only").answer is True
    assert sorted(_q("rope.properties").answer) == ["B", "C", "E"]
    torch.manual_seed(0)
    q, k = torch.randn(6, 16, dtype=torch.float64), torch.randn(6, 16, dtype=torch.float64)
    pos = torch.arange(6)
    s0 = _rope(torch, q, pos) @ _rope(torch, k, pos).T
    s1 = _rope(torch, q, pos + 37) @ _rope(torch, k, pos + 37).T
    assert torch.allclose(s0, s1)
    assert torch.allclose(_rope(torch, q, pos).norm(dim=-1), q.norm(dim=-1))


def test_rope_bug_rotating_v_instead_of_k_breaks_shift_invariance():
    torch = pytest.importorskip("torch")
    assert _q("rope.bug-rotates-value").answer == "C"
    torch.manual_seed(0)
    q, k = torch.randn(6, 16, dtype=torch.float64), torch.randn(6, 16, dtype=torch.float64)
    pos = torch.arange(6)
    buggy0 = _rope(torch, q, pos) @ k.T
    buggy1 = _rope(torch, q, pos + 10) @ k.T
    assert not torch.allclose(buggy0, buggy1)


# --------------------------------------------------------------------------- ALiBi


def _alibi_slopes(n_heads: int) -> list[float]:
    """Press et al. §3: geometric sequence starting at 2^(-8/n) with that same ratio."""
    start = 2 ** (-8 / n_heads)
    return [start * start**h for h in range(n_heads)]


def test_alibi_slopes_8_heads_are_powers_of_one_half():
    assert _alibi_slopes(8) == [1 / 2**h for h in range(1, 9)]
    _assert_numeric("alibi.last-slope-8-heads", _alibi_slopes(8)[-1])


def test_alibi_first_slope_16_heads():
    slopes16 = _alibi_slopes(16)
    # every other 16-head slope is an 8-head slope
    assert all(math.isclose(a, b) for a, b in zip(slopes16[1::2], _alibi_slopes(8)))
    _assert_numeric("alibi.first-slope-16-heads", slopes16[0])


def test_alibi_bias_value():
    m, i, j = 1 / 4, 10, 2
    _assert_numeric("alibi.bias-value", -m * (i - j))


# --------------------------------------------------------------------------- transformer block


def _n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_ffn_params_arithmetic_and_torch():
    d_model, d_ff = 512, 2048
    by_hand = (d_model * d_ff + d_ff) + (d_ff * d_model + d_model)
    _assert_numeric("transformer-block.ffn-params", by_hand)
    torch = pytest.importorskip("torch")
    ffn = torch.nn.Sequential(torch.nn.Linear(d_model, d_ff), torch.nn.ReLU(), torch.nn.Linear(d_ff, d_model))
    _assert_numeric("transformer-block.ffn-params", _n_params(ffn))


def test_encoder_layer_params():
    torch = pytest.importorskip("torch")
    layer = torch.nn.TransformerEncoderLayer(512, 8, 2048)
    _assert_numeric("transformer-block.encoder-layer-params", _n_params(layer))
    d = 512
    _assert_numeric("transformer-block.encoder-layer-params", (4 * d * d + 4 * d) + (2 * d * 2048 + 2048 + d) + 2 * 2 * d)


def test_decoder_layer_params():
    torch = pytest.importorskip("torch")
    layer = torch.nn.TransformerDecoderLayer(512, 8, 2048)
    _assert_numeric("transformer-block.decoder-layer-params", _n_params(layer))


def test_pre_ln_bug_block_loses_identity_path():
    """With LayerNorm overwriting x, a zero sub-layer no longer gives back the input."""
    torch = pytest.importorskip("torch")
    assert _q("transformer-block.bug-residual-through-ln").answer == "C"
    assert _q("transformer-block.pre-ln-formula").answer == "B"
    ln = torch.nn.LayerNorm(8)
    x = 3 + 5 * torch.randn(2, 4, 8)

    def zero(h):
        return torch.zeros_like(h)

    correct = x + zero(ln(x))
    buggy_x = ln(x)
    buggy = buggy_x + zero(buggy_x)
    assert torch.equal(correct, x)
    assert not torch.allclose(buggy, x)


# --------------------------------------------------------------------------- architectures


def test_encoder_without_causal_mask_leaks_the_next_token():
    """The architectures.bug-no-causal-mask claim: position 0's output depends on token 1 unless masked."""
    torch = pytest.importorskip("torch")
    assert _q("architectures.bug-no-causal-mask").answer == "B"
    assert sorted(_q("architectures.causal-mask-where").answer) == ["B", "D"]
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
    body = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()
    x = torch.randn(1, 5, 16)
    y = x.clone()
    y[:, 1] = torch.randn(16)  # change only the "next token"
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    with torch.no_grad():
        assert not torch.allclose(body(x)[:, 0], body(y)[:, 0])
        assert torch.allclose(body(x, mask=mask)[:, 0], body(y, mask=mask)[:, 0], atol=1e-6)


# --------------------------------------------------------------------------- BERT


def test_bert_attentions_numel():
    layers, batch, heads, seq = 12, 2, 12, 7
    per_layer = batch * heads * seq * seq
    _assert_numeric("bert.attentions-numel", layers * per_layer)
    assert layers * batch * heads * 512 * 512 > 75_000_000  # the "over 75 million" in the explanation


def test_per_head_attention_map_shape_is_b_h_l_l():
    """Per-head maps are (B, H, L, L) with rows summing to 1, as bert.attentions-structure says."""
    torch = pytest.importorskip("torch")
    assert _q("bert.attentions-structure").answer == "D"
    mha = torch.nn.MultiheadAttention(48, 12, batch_first=True).eval()
    x = torch.randn(2, 7, 48)
    _, w = mha(x, x, x, need_weights=True, average_attn_weights=False)
    assert tuple(w.shape) == (2, 12, 7, 7)
    assert torch.allclose(w.sum(-1), torch.ones(2, 12, 7))


def test_bert_snippet_bug_tensor_of_strings_fails():
    torch = pytest.importorskip("torch")
    assert _q("bert.bug-attention-weights").answer == "C"
    with pytest.raises((TypeError, ValueError)):
        torch.tensor([["今天", "天气", "不错"], ["我们", "去", "公园", "散步"]])
    with pytest.raises((TypeError, ValueError)):
        torch.tensor([["今天", "天气"], ["我们", "去"]])


def test_bert_mlm_mask_count():
    tokens, selected, to_mask = 10_000, 0.15, 0.80
    _assert_numeric("bert.mlm-mask-count", round(tokens * selected * to_mask))


# --------------------------------------------------------------------------- embeddings


def test_tying_savings_counted_in_torch():
    torch = pytest.importorskip("torch")
    vocab, d_model = 50_257, 768
    tok = torch.nn.Embedding(vocab, d_model, _weight=torch.empty(vocab, d_model))  # no random init
    head = torch.nn.Linear(d_model, vocab, bias=False)
    untied = torch.nn.ModuleList([tok, head])
    n_untied = _n_params(untied)
    head.weight = tok.weight
    n_tied = _n_params(untied)  # parameters() de-duplicates a shared Parameter
    _assert_numeric("embeddings.tying-savings", n_untied - n_tied)


def test_tying_by_clone_is_not_tying():
    torch = pytest.importorskip("torch")
    assert _q("embeddings.bug-tying-copy").answer == "B"
    tok = torch.nn.Embedding(10, 4)
    head = torch.nn.Linear(4, 10, bias=False)
    head.weight = torch.nn.Parameter(tok.weight.clone())
    assert head.weight.shape == tok.weight.shape and head.weight is not tok.weight
    assert _n_params(torch.nn.ModuleList([tok, head])) == 2 * 10 * 4


def test_embedding_scale_factor():
    _assert_numeric("embeddings.scale-factor", math.sqrt(512))


def test_pe_norm_vs_small_embedding():
    """embeddings.scale-why: ‖PE(pos)‖² = d_model/2 exactly."""
    torch = pytest.importorskip("torch")
    assert _q("embeddings.scale-why").answer == "B"
    pe = _sinusoidal(torch, 20, 512)
    assert torch.allclose((pe**2).sum(-1), torch.full((20,), 256.0, dtype=torch.float64))


def test_bert_embedding_tables():
    vocab, positions, segments, hidden = 30_522, 512, 2, 768
    by_hand = vocab * hidden + positions * hidden + segments * hidden
    _assert_numeric("embeddings.bert-table-params", by_hand)
    torch = pytest.importorskip("torch")
    tables = torch.nn.ModuleList(torch.nn.Embedding(n, hidden, _weight=torch.empty(n, hidden)) for n in (vocab, positions, segments))
    _assert_numeric("embeddings.bert-table-params", _n_params(tables))


def test_padding_idx_row_gets_no_gradient():
    torch = pytest.importorskip("torch")
    assert _q("embeddings.padding-idx").answer is True
    emb = torch.nn.Embedding(5, 3, padding_idx=0)
    emb(torch.tensor([0, 1, 0, 2])).sum().backward()
    assert torch.equal(emb.weight.grad[0], torch.zeros(3))
    assert emb.weight.grad[1].abs().sum() > 0


# --------------------------------------------------------------------------- training


def _noam(step: int, d_model: int = 512, warmup: int = 4000) -> float:
    """Vaswani et al. 2017, equation 3."""
    return d_model ** -0.5 * min(step ** -0.5, step * warmup ** -1.5)


def test_lr_at_warmup_end():
    _assert_numeric("training.lr-at-warmup-end", _noam(4000))
    assert _noam(4000) > max(_noam(3999), _noam(4001))  # it is the peak


def test_lr_during_warmup():
    _assert_numeric("training.lr-during-warmup", _noam(1000))
    assert math.isclose(_noam(1000), _noam(4000) / 4)


def test_lr_after_warmup():
    _assert_numeric("training.lr-after-warmup", _noam(16000))
    assert math.isclose(_noam(16000), _noam(4000) / 2)


def test_lambdalr_calls_lambda_with_step_zero():
    torch = pytest.importorskip("torch")
    assert _q("training.bug-lambdalr-step-zero").answer == "D"
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    with pytest.raises(ZeroDivisionError):
        torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=_noam)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=lambda s: _noam(max(s, 1)))
    assert math.isclose(sched.get_last_lr()[0], _noam(1))


def test_label_smoothing_target_mass():
    """training.label-smoothing-name: with 0.1 smoothing over V classes the true class gets 0.9 + 0.1/V."""
    torch = pytest.importorskip("torch")
    V = 10
    logits = torch.zeros(1, V, requires_grad=True)
    torch.nn.functional.cross_entropy(logits, torch.tensor([3]), label_smoothing=0.1).backward()
    # d loss / d logits = softmax - target, softmax is uniform here
    target = 1 / V - logits.grad[0]
    assert math.isclose(target[3].item(), 0.9 + 0.1 / V, rel_tol=1e-6)
