"""Answer keys of the core attention topics, recomputed from first principles.

Covers questions/{self-attention,scaling,softmax,cross-attention,masking,multi-head,complexity,rnn-cnn}.yaml:
every numeric answer is recomputed (in torch where it can be built, else by arithmetic written out),
and the claims behind several choice and spot-the-bug questions are demonstrated by running code,
including the questions' own snippets.
"""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path

import pytest

from attnquiz.bank import check

QUESTIONS_DIR = Path(__file__).resolve().parents[1] / "questions"
CORE_FILES = [
    QUESTIONS_DIR / f"{topic}.yaml"
    for topic in ("self-attention", "scaling", "softmax", "cross-attention", "masking", "multi-head", "complexity", "rnn-cnn")
]
_LOADED, _PROBLEMS = check(CORE_FILES)
QUESTIONS = {q.id: q for q in _LOADED}


def numeric_ok(qid: str, value: float) -> bool:
    """The question's key matches `value` within the question's own tolerance (plus float noise)."""
    q = QUESTIONS[qid]
    assert q.type == "numeric"
    return abs(float(q.answer) - float(value)) <= q.tolerance + 1e-9 * max(1.0, abs(float(value)))


def chosen(qid: str) -> str:
    """English text of the keyed choice of a single / bug-by-choice question."""
    q = QUESTIONS[qid]
    (index,) = q.correct_indices()
    return q.choices[index]["en"]


def run_snippet(qid: str) -> dict:
    """Execute a question's code snippet (its prints silenced) and return its namespace."""
    namespace: dict = {"__name__": f"snippet_{qid.replace('.', '_').replace('-', '_')}"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(QUESTIONS[qid].code, f"<{qid}>", "exec"), namespace)  # noqa: S102 - our own bank
    return namespace


def reference_attention(torch, q, k, v, allowed=None):
    """softmax(QKᵀ/√d_k)V with an optional boolean 'may attend' mask, written out by hand."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def test_core_files_are_valid():
    assert not _PROBLEMS, "\n".join(map(str, _PROBLEMS))
    topics = {q.topic for q in _LOADED}
    assert topics == {p.stem for p in CORE_FILES}


ARTICLE = "自注意力机制在大模型中的应用 (Chinese interview article)"


def test_article_questions_are_covered_by_two_types():
    for n, topic in ((1, "self-attention"), (2, "rnn-cnn"), (3, "multi-head")):
        types = {q.type for q in _LOADED if f"{ARTICLE}, Q{n}" in q.source and q.topic == topic}
        assert len(types) >= 2, (n, types)


# --------------------------------------------------------------------------- self-attention


def test_weights_per_head():
    torch = pytest.importorskip("torch")
    L = 10
    mha = torch.nn.MultiheadAttention(16, 1, batch_first=True)
    x = torch.randn(1, L, 16)
    _, weights = mha(x, x, x, need_weights=True)
    assert numeric_ok("self-attention.weights-per-head", weights.numel())


def test_identical_keys_give_mean_of_values():
    torch = pytest.importorskip("torch")
    q = torch.randn(6, 8)
    k = torch.randn(1, 8).expand(6, 8)
    v = torch.randn(6, 8)
    out = reference_attention(torch, q, k, v)
    assert torch.allclose(out, v.mean(dim=0).expand(6, 8), atol=1e-6)
    assert "mean of all value vectors" in chosen("self-attention.identical-keys")


def test_self_attention_is_permutation_equivariant_and_convex():
    torch = pytest.importorskip("torch")
    x = torch.randn(7, 8)
    wq, wk, wv = (torch.randn(8, 8) for _ in range(3))

    def attend(t):
        return reference_attention(torch, t @ wq, t @ wk, t @ wv)

    perm = torch.randperm(7)
    assert torch.allclose(attend(x)[perm], attend(x[perm]), atol=1e-5)
    q = QUESTIONS["self-attention.properties"]
    assert q.choices[2]["en"].startswith("Shuffling") and "C" in q.answer
    values = x @ wv
    out = attend(x)
    assert bool((out <= values.max(dim=0).values + 1e-5).all() and (out >= values.min(dim=0).values - 1e-5).all())
    assert QUESTIONS["self-attention.convex-combination"].answer is True


def test_bug_averages_keys_never_uses_values():
    torch = pytest.importorskip("torch")
    module = run_snippet("self-attention.bug-averages-keys")["OneHeadAttention"](8)
    module(torch.randn(2, 5, 8)).sum().backward()
    assert module.to_v.weight.grad is None  # to_v never takes part
    assert "weights @ v" in chosen("self-attention.bug-averages-keys")


# --------------------------------------------------------------------------- scaling


def test_dot_product_variance():
    torch = pytest.importorskip("torch")
    d_k = 64
    # Var(sum of d_k independent products q_i k_i) = d_k · Var(q_i k_i) = d_k · E[q_i²] E[k_i²] = d_k · 1 · 1
    assert numeric_ok("scaling.dot-product-variance", d_k * 1 * 1)
    g = torch.Generator().manual_seed(0)
    q = torch.randn(50_000, d_k, generator=g)
    k = torch.randn(50_000, d_k, generator=g)
    empirical = (q * k).sum(dim=-1).var().item()
    assert abs(empirical - QUESTIONS["scaling.dot-product-variance"].answer) < 0.05 * d_k


def test_scale_factor_base_model():
    d_model, heads = 512, 8
    d_k = d_model // heads
    assert numeric_ok("scaling.factor-base-model", 1 / math.sqrt(d_k))


def test_unscaled_softmax_saturates():
    torch = pytest.importorskip("torch")
    ns = run_snippet("scaling.bug-no-scale")
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 4, 16, 256, generator=g) for _ in range(3))
    _, w = ns["attention"](q, k, v)
    assert w.max(dim=-1).values.mean() > 0.85  # nearly one-hot without 1/√d_k
    scaled = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(256), dim=-1)
    assert scaled.max(dim=-1).values.mean() < 0.5
    assert "√head_dim" in chosen("scaling.bug-no-scale")


def test_wrong_size_scales_by_sequence_length():
    torch = pytest.importorskip("torch")
    attention = run_snippet("scaling.bug-wrong-size")["attention"]
    q, k, v = torch.randn(1, 2, 9, 4), torch.randn(1, 2, 9, 4), torch.randn(1, 2, 9, 4)
    seq_len = 9
    expected = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(seq_len), dim=-1) @ v
    assert torch.allclose(attention(q, k, v), expected, atol=1e-6)
    assert "√seq_len" in chosen("scaling.bug-wrong-size")


def test_scale_keeps_argmax():
    torch = pytest.importorskip("torch")
    s = torch.randn(5, 11)
    assert torch.equal(s.softmax(-1).argmax(-1), (s / 8).softmax(-1).argmax(-1))
    assert "B" not in QUESTIONS["scaling.facts"].answer  # "can change which key gets the largest weight" is false


# --------------------------------------------------------------------------- softmax


def test_masked_uniform_weight():
    torch = pytest.importorskip("torch")
    scores = torch.zeros(5)
    scores[[1, 3]] = float("-inf")
    weights = torch.softmax(scores, dim=-1)
    assert numeric_ok("softmax.masked-uniform", weights[0].item())


def test_two_scores():
    torch = pytest.importorskip("torch")
    weights = torch.softmax(torch.tensor([0.0, math.log(3.0)]), dim=-1)
    assert numeric_ok("softmax.two-scores", weights[1].item())


def test_all_masked_row_is_nan():
    torch = pytest.importorskip("torch")
    row = torch.softmax(torch.full((4,), float("-inf")), dim=-1)
    assert torch.isnan(row).all()
    assert QUESTIONS["softmax.all-masked-row"].answer is False


def test_shift_invariance():
    torch = pytest.importorskip("torch")
    s = torch.randn(3, 7, dtype=torch.float64)
    assert torch.allclose(torch.softmax(s, -1), torch.softmax(s - s.amax(-1, keepdim=True), -1))


def test_wrong_axis_rows_do_not_sum_to_one():
    torch = pytest.importorskip("torch")
    ns = run_snippet("softmax.bug-wrong-axis")
    q, k = torch.randn(1, 2, 5, 8), torch.randn(1, 2, 7, 8)
    probs = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(8), dim=-2)
    assert not torch.allclose(probs.sum(-1), torch.ones(1, 2, 5))
    assert ns["attend"](q, k, torch.randn(1, 2, 7, 8)).shape == (1, 2, 5, 8)  # shapes hide the bug
    assert "dim=-1" in chosen("softmax.bug-wrong-axis")


def test_fp16_overflow_snippet():
    torch = pytest.importorskip("torch")
    my_softmax = run_snippet("softmax.bug-fp16-overflow")["my_softmax"]
    s = torch.tensor([[12.0, 3.0, -1.0]], dtype=torch.float16)
    assert torch.isnan(my_softmax(s)).any()
    assert not torch.isnan(torch.softmax(s, dim=-1)).any()
    assert torch.finfo(torch.float16).max < math.exp(12)
    assert "maximum" in chosen("softmax.bug-fp16-overflow")


def test_ways_to_avoid_nan_rows():
    torch = pytest.importorskip("torch")
    scores = torch.randn(2, 4)
    blocked = torch.tensor([[True] * 4, [False, True, False, True]])

    def stable_softmax(s, eps=0.0):
        e = torch.exp(s - s.amax(-1, keepdim=True))
        return e / (e.sum(-1, keepdim=True) + eps)

    inf_filled = scores.masked_fill(blocked, float("-inf"))
    works = {
        "A": not torch.isnan(stable_softmax(inf_filled)).any(),
        "B": not torch.isnan(torch.softmax(scores.masked_fill(blocked, torch.finfo(scores.dtype).min), -1)).any(),
        "C": not torch.isnan(stable_softmax(inf_filled, eps=1e-9)).any(),
        "D": not torch.isnan(torch.softmax(inf_filled, -1).masked_fill(blocked.all(-1, keepdim=True), 0.0)).any(),
    }
    assert sorted(QUESTIONS["softmax.avoid-nan-rows"].answer) == sorted(k for k, ok in works.items() if ok)


# --------------------------------------------------------------------------- cross-attention


def test_cross_attention_shapes_and_weight_count():
    torch = pytest.importorskip("torch")
    batch, heads, tgt_len, src_len, d_model = 2, 8, 10, 20, 512
    mha = torch.nn.MultiheadAttention(d_model, heads, batch_first=True)
    tgt, memory = torch.randn(batch, tgt_len, d_model), torch.randn(batch, src_len, d_model)
    out, weights = mha(tgt, memory, memory, average_attn_weights=False)
    assert numeric_ok("cross-attention.weights-numel", weights.numel())
    assert out.shape == (batch, tgt_len, d_model)
    assert chosen("cross-attention.output-shape") == "(B, L_tgt, d_model)"


def test_swapped_cross_attention_crashes_on_unequal_lengths():
    torch = pytest.importorskip("torch")
    layer = run_snippet("cross-attention.bug-swapped-roles")["DecoderLayer"](d_model=16, heads=2)
    causal = torch.triu(torch.ones(3, 3, dtype=torch.bool), diagonal=1)
    with pytest.raises(RuntimeError):
        layer(torch.randn(1, 3, 16), torch.randn(1, 5, 16), causal)
    assert "cross_attn(tgt, memory, memory)" in chosen("cross-attention.bug-swapped-roles")


def test_decoder_memory_argument_name():
    torch = pytest.importorskip("torch")
    import inspect

    params = list(inspect.signature(torch.nn.TransformerDecoder.forward).parameters)
    assert params[1:3] == ["tgt", "memory"]
    assert QUESTIONS["cross-attention.memory-name"].accept[0] == "memory"


# --------------------------------------------------------------------------- masking


def test_causal_count():
    torch = pytest.importorskip("torch")
    L = 6
    allowed = torch.tril(torch.ones(L, L, dtype=torch.bool))
    assert numeric_ok("masking.causal-count", int(allowed.sum()))
    assert numeric_ok("masking.causal-count", L * (L + 1) // 2)


def test_sdpa_causal_options():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    L = 5
    q, k, v = torch.randn(1, 2, L, 8), torch.randn(1, 2, L, 8), torch.randn(1, 2, L, 8)
    allowed = torch.tril(torch.ones(L, L, dtype=torch.bool))
    expected = reference_attention(torch, q, k, v, allowed)
    future = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)
    options = {
        "A": F.scaled_dot_product_attention(q, k, v, is_causal=True),
        "B": F.scaled_dot_product_attention(q, k, v, attn_mask=allowed),
        "C": F.scaled_dot_product_attention(q, k, v, attn_mask=future),
        "D": F.scaled_dot_product_attention(q, k, v, attn_mask=torch.zeros(L, L).masked_fill(future, float("-inf"))),
        "E": F.scaled_dot_product_attention(q, k, v, attn_mask=allowed.float()),
    }
    correct = sorted(letter for letter, out in options.items() if torch.allclose(out, expected, atol=1e-5))
    assert sorted(QUESTIONS["masking.sdpa-causal-options"].answer) == correct


def test_inverted_sdpa_mask_sees_only_future():
    torch = pytest.importorskip("torch")
    causal_attention = run_snippet("masking.bug-inverted-sdpa")["causal_attention"]
    L = 4
    q, k, v = torch.randn(1, 1, L, 8), torch.randn(1, 1, L, 8), torch.randn(1, 1, L, 8)
    inverted = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)
    out = causal_attention(q, k, v)
    assert torch.allclose(out[..., :-1, :], reference_attention(torch, q, k, v, inverted)[..., :-1, :], atol=1e-5)
    assert not torch.allclose(out, torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True))
    assert "True means" in chosen("masking.bug-inverted-sdpa")


def test_mask_after_softmax_rows_do_not_sum_to_one():
    torch = pytest.importorskip("torch")
    causal_attention = run_snippet("masking.bug-after-softmax")["causal_attention"]
    q, k = torch.randn(1, 5, 8), torch.randn(1, 5, 8)
    weights = causal_attention(q, k, torch.eye(5).unsqueeze(0))  # identity values expose the weights
    assert weights.shape == (1, 5, 5)
    assert torch.all(weights[0].triu(diagonal=1) == 0)  # future weights really are zero
    row_sums = weights.sum(-1)
    assert torch.isclose(row_sums[0, -1], torch.tensor(1.0))  # last row has no future
    assert (row_sums[0, :-1] < 1 - 1e-6).all()
    assert "after the softmax" in chosen("masking.bug-after-softmax")


def test_diagonal_off_by_one_gives_nan_first_row():
    torch = pytest.importorskip("torch")
    fn = run_snippet("masking.bug-diagonal-off-by-one")["causal_self_attention"]
    d = 8
    out = fn(torch.randn(2, 4, d), torch.randn(d, d), torch.randn(d, d), torch.randn(d, d))
    assert torch.isnan(out[:, 0]).all()
    assert not torch.isnan(out[:, 1:]).any()
    assert "diagonal=1" in chosen("masking.bug-diagonal-off-by-one")


def test_mask_conventions_and_all_padded_nan():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    x = torch.randn(2, 4, 8)
    padding = torch.tensor([[False, False, True, True], [True, True, True, True]])
    out, weights = mha(x, x, x, key_padding_mask=padding)
    # True in key_padding_mask = ignored: sample 0 puts no weight on keys 2 and 3
    assert torch.all(weights[0, :, 2:] == 0)
    assert "ignored" in chosen("masking.mha-bool-convention")
    assert torch.isnan(out[1]).all() and not torch.isnan(out[0]).any()
    assert QUESTIONS["masking.mha-all-padded-nan"].answer is True
    # scaled_dot_product_attention: True = may attend, so an all-False row is fully masked
    q = torch.randn(1, 1, 3, 8)
    allowed = torch.tensor([[True, False, False], [True, True, False], [True, True, True]])
    assert torch.allclose(F.scaled_dot_product_attention(q, q, q, attn_mask=allowed), reference_attention(torch, q, q, q, allowed), atol=1e-5)


# --------------------------------------------------------------------------- multi-head


def test_mha_param_count():
    torch = pytest.importorskip("torch")
    d_model = 512
    mha = torch.nn.MultiheadAttention(d_model, 8)
    count = sum(p.numel() for p in mha.parameters())
    assert numeric_ok("multi-head.params-base", count)
    assert count == 4 * d_model * d_model + 4 * d_model


def test_heads_do_not_change_param_count():
    torch = pytest.importorskip("torch")
    counts = {h: sum(p.numel() for p in torch.nn.MultiheadAttention(512, h).parameters()) for h in (1, 8, 16)}
    assert len(set(counts.values())) == 1
    assert QUESTIONS["multi-head.more-heads-more-params"].answer is False


def test_dk_bert_base():
    hidden, heads = 768, 12
    assert numeric_ok("multi-head.dk-bert-base", hidden / heads)


def test_feature_column_indexing_breaks_on_3d_input():
    torch = pytest.importorskip("torch")
    module = run_snippet("multi-head.bug-feature-column")["HeadLoopAttention"](16, 4)
    x = torch.randn(2, 5, 16)
    q = module.wq(x)
    assert q[:, :, 0].shape == (2, 5)  # one feature column, not a (2, 5, 4) head
    assert module(x).shape == (2, 20)
    assert "(2, 20)" in chosen("multi-head.bug-feature-column")


def test_article_style_indexing_raises_index_error():
    torch = pytest.importorskip("torch")
    q = k = v = torch.randn(2, 5, 16)
    heads = 4
    scores = torch.cat([q[:, :, i] @ k[:, :, i].transpose(-2, -1) for i in range(heads)], dim=-1)
    weights = torch.softmax(scores, dim=-1)
    with pytest.raises(IndexError):
        torch.cat([weights[:, :, i] @ v[:, :, i] for i in range(heads)], dim=-1)


def test_never_splits_is_one_full_width_head():
    torch = pytest.importorskip("torch")
    module = run_snippet("multi-head.bug-never-splits")["MultiHead"](32, 4)
    x = torch.randn(2, 6, 32)
    q, k, v = module.q_proj(x), module.k_proj(x), module.v_proj(x)
    one_head = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(32 // 4), dim=-1) @ v
    assert torch.allclose(module(x), one_head, atol=1e-6)
    assert not any("out" in name for name, _ in module.named_modules())
    assert "no output projection" in chosen("multi-head.bug-never-splits")


def test_reshape_without_transpose_scrambles_heads():
    torch = pytest.importorskip("torch")
    ns = run_snippet("multi-head.bug-reshape-no-transpose")
    b, L, d, h = 2, 10, 512, 8
    x = torch.randn(b, L, d)
    right = x.view(b, L, h, d // h).transpose(1, 2)
    wrong = ns["split_heads"](x, h)
    assert wrong.shape == right.shape and not torch.equal(wrong, right)
    assert torch.equal(ns["merge_heads"](right), x)  # merge_heads is the correct inverse
    assert "transpose(1, 2)" in chosen("multi-head.bug-reshape-no-transpose")
    assert "transpose(1, 2)" in chosen("multi-head.split-shapes")


def test_output_projection_name_matches_pytorch():
    torch = pytest.importorskip("torch")
    assert hasattr(torch.nn.MultiheadAttention(8, 2), "out_proj")
    assert "out_proj" in QUESTIONS["multi-head.output-projection-name"].accept


# --------------------------------------------------------------------------- complexity


def test_qk_flops():
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    n, d_k = 1024, 64
    q, k = torch.randn(n, d_k), torch.randn(n, d_k)
    with FlopCounterMode(display=False) as counter:
        torch.matmul(q, k.t())
    assert numeric_ok("complexity.qk-flops", counter.get_total_flops())
    assert numeric_ok("complexity.qk-flops", n * n * d_k * 2)


def test_score_bytes():
    torch = pytest.importorskip("torch")
    batch, heads, n = 1, 16, 8192
    bytes_per_value = torch.empty((), dtype=torch.float16).element_size()
    assert numeric_ok("complexity.score-bytes", batch * heads * n * n * bytes_per_value)


def test_ratio_vs_rnn():
    n, d = 128, 512
    assert numeric_ok("complexity.ratio-vs-rnn", (n * n * d) / (n * d * d))


def test_double_context_scaling():
    n, d = 4096, 1024
    projections = lambda length: 4 * length * d * d  # noqa: E731
    attention = lambda length: 2 * length * length * d  # noqa: E731
    assert projections(2 * n) / projections(n) == 2
    assert attention(2 * n) / attention(n) == 4
    assert "quadruple" in chosen("complexity.double-context")


# --------------------------------------------------------------------------- rnn-cnn


def _reach(torch, layers: list, length: int) -> set[int]:
    """Input positions that influence the output at the last position (for causal stacks) or the centre."""
    x = torch.zeros(1, 1, length, requires_grad=True)
    y = x
    for layer in layers:
        y = layer(y)
    y[0, 0, y.size(-1) // 2 if layers[0].padding != (0,) else -1].backward()
    return {i for i in range(length) if x.grad[0, 0, i] != 0}


def _ones_conv(torch, kernel: int, dilation: int = 1, padding: int = 0):
    conv = torch.nn.Conv1d(1, 1, kernel, dilation=dilation, padding=padding, bias=False)
    torch.nn.init.ones_(conv.weight)
    return conv


def test_conv_layers_to_reach():
    torch = pytest.importorskip("torch")
    kernel, distance, length = 5, 16, 81
    centre = length // 2
    needed = None
    for depth in range(1, 20):
        layers = [_ones_conv(torch, kernel, padding=kernel // 2) for _ in range(depth)]
        if centre + distance in _reach(torch, layers, length):
            needed = depth
            break
    assert numeric_ok("rnn-cnn.conv-layers-to-reach", needed)


def test_dilated_layers():
    torch = pytest.importorskip("torch")
    target = 1024

    def receptive_field(depth: int) -> int:
        return 1 + sum(2**i for i in range(depth))  # a width-2 kernel with dilation δ adds δ positions

    needed = next(depth for depth in range(1, 20) if receptive_field(depth) >= target)
    for depth in (needed - 1, needed):  # check the formula against a real conv stack around the answer
        layers = [_ones_conv(torch, 2, dilation=2**i) for i in range(depth)]
        assert len(_reach(torch, layers, receptive_field(depth) + 8)) == receptive_field(depth)
    assert numeric_ok("rnn-cnn.dilated-layers", needed)
