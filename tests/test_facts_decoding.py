"""Answer keys of the decoding / inference-efficiency / interpretability questions, recomputed.

Content group C: decoding, kv-cache, mqa-gqa, flash-attention, sparse-attention, linear-attention,
interpretability. Every numeric key is recomputed here from first principles (plain arithmetic
or torch), and a few choice questions' claims are demonstrated in torch.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from attnquiz.bank import check

QUESTIONS = {q.id: q for q in check([Path(__file__).resolve().parents[1] / "questions"])[0]}


def q(qid: str):
    assert qid in QUESTIONS, f"{qid} missing from the bank (or invalid)"
    return QUESTIONS[qid]


def assert_numeric(qid: str, expected: float) -> None:
    question = q(qid)
    assert question.type == "numeric"
    assert abs(question.answer - expected) <= question.tolerance, (qid, question.answer, expected)


# --------------------------------------------------------------------------- decoding


def test_temperature_prob():
    torch = pytest.importorskip("torch")
    logits = torch.tensor([2.0, 1.0, 0.0])
    probs = torch.softmax(logits / 0.5, dim=-1)
    assert_numeric("decoding.temperature-prob", probs[0].item())


def test_temperature_keeps_argmax_and_flattens():
    torch = pytest.importorskip("torch")
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0])
    p1 = torch.softmax(logits, dim=-1)
    for t in (0.1, 0.5, 2.0, 10.0):
        assert torch.softmax(logits / t, dim=-1).argmax() == logits.argmax()
    # T > 1 is flatter (higher entropy), T -> 0 approaches one-hot
    entropy = lambda p: -(p * p.log()).sum().item()  # noqa: E731
    assert entropy(torch.softmax(logits / 2.0, dim=-1)) > entropy(p1)
    assert torch.softmax(logits / 0.01, dim=-1)[0].item() > 0.999
    assert q("decoding.temperature-effects").answer == ["A", "C", "D"]


def test_topk_prob():
    torch = pytest.importorskip("torch")
    logits = torch.tensor([3.0, 2.0, 1.0, 0.0])
    vals, idx = torch.topk(logits, 2)
    filtered = torch.full_like(logits, float("-inf"))
    filtered[idx] = vals
    probs = torch.softmax(filtered, dim=-1)
    assert_numeric("decoding.topk-prob", probs[0].item())


def test_top_p_set_size():
    probs = [0.5, 0.2, 0.15, 0.1, 0.05]
    p, total, size = 0.8, 0.0, 0
    for value in sorted(probs, reverse=True):
        total += value
        size += 1
        if total >= p - 1e-12:
            break
    assert_numeric("decoding.top-p-set-size", size)


def test_bert_width_mismatch_raises():
    torch = pytest.importorskip("torch")
    mix = torch.nn.MultiheadAttention(512, 8, batch_first=True)
    h = torch.randn(1, 4, 768)  # bert-base hidden size
    with pytest.raises((AssertionError, RuntimeError)):
        mix(h, h, h)
    # concatenating on the feature dim doubles the width a 768-wide head expects
    assert torch.cat([h, h], dim=-1).shape[-1] == 2 * 768


def test_no_crop_overflows_position_table():
    torch = pytest.importorskip("torch")
    pos = torch.nn.Embedding(128, 8)
    pos(torch.arange(128))  # fine
    with pytest.raises(IndexError):
        pos(torch.arange(100 + 50))


def test_topk_zero_fill_leaks_probability():
    torch = pytest.importorskip("torch")
    logits = torch.tensor([-1.0, -2.0, -3.0, -4.0])
    top_vals, top_idx = torch.topk(logits, 2)
    filtered = torch.zeros_like(logits)
    filtered[top_idx] = top_vals
    probs = torch.softmax(filtered, dim=-1)
    # the discarded tokens keep probability, and here even more than the kept ones
    assert probs[2] > 0 and probs[3] > 0
    assert probs[2] > probs[0]


def test_temperature_after_softmax_is_a_no_op():
    torch = pytest.importorskip("torch")
    logits = torch.tensor([2.0, 1.0, 0.0])
    probs = torch.softmax(logits, dim=-1)
    scaled = probs / 0.7
    assert torch.allclose(scaled / scaled.sum(), probs)
    assert not torch.allclose(torch.softmax(logits / 0.7, dim=-1), probs)


# --------------------------------------------------------------------------- kv-cache


def kv_cache_bytes(batch, seq_len, n_layers, n_kv_heads, head_dim, bytes_per_value):
    """One K and one V tensor of shape (batch, n_kv_heads, seq_len, head_dim) per layer."""
    per_tensor = batch * n_kv_heads * seq_len * head_dim * bytes_per_value
    return n_layers * 2 * per_tensor


def test_kv_cache_bytes_base():
    torch = pytest.importorskip("torch")
    # build the real cache tensors for one layer and count their bytes
    k = torch.empty(1, 32, 2048, 128, dtype=torch.float16)
    one_layer = 2 * k.numel() * k.element_size()
    assert_numeric("kv-cache.bytes-base", 32 * one_layer)
    assert_numeric("kv-cache.bytes-base", kv_cache_bytes(1, 2048, 32, 32, 128, 2))


def test_kv_cache_bytes_per_token():
    assert_numeric("kv-cache.bytes-per-token", kv_cache_bytes(1, 1, 32, 32, 128, 2))
    assert q("kv-cache.bytes-per-token").answer * 2048 == q("kv-cache.bytes-base").answer


def test_kv_cache_bytes_batch_fp32():
    torch = pytest.importorskip("torch")
    bytes_fp32 = torch.empty((), dtype=torch.float32).element_size()
    assert_numeric("kv-cache.bytes-batch-fp32", kv_cache_bytes(16, 1024, 24, 16, 64, bytes_fp32))


def test_kv_cache_bytes_gqa():
    gqa = kv_cache_bytes(1, 4096, 80, 8, 128, 2)
    mha = kv_cache_bytes(1, 4096, 80, 64, 128, 2)
    assert_numeric("kv-cache.bytes-gqa", gqa)
    assert mha // gqa == 64 // 8


def test_kv_cache_max_tokens():
    budget = 16 * 1024**3
    assert_numeric("kv-cache.max-tokens", budget // kv_cache_bytes(1, 1, 32, 32, 128, 2))


def test_kv_cache_grows_on_seq_dim_and_matches_full_attention():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    B, H, T, D = 2, 3, 5, 4
    qs, ks, vs = (torch.randn(B, H, T, D) for _ in range(3))
    full = torch.nn.functional.scaled_dot_product_attention(qs, ks, vs, is_causal=True)
    cache_k, cache_v = ks[:, :, :1], vs[:, :, :1]
    for t in range(1, T):
        cache_k = torch.cat([cache_k, ks[:, :, t : t + 1]], dim=2)
        cache_v = torch.cat([cache_v, vs[:, :, t : t + 1]], dim=2)
        w = torch.softmax(qs[:, :, t : t + 1] @ cache_k.transpose(-2, -1) / math.sqrt(D), dim=-1)
        assert torch.allclose(w @ cache_v, full[:, :, t : t + 1], atol=1e-5)
    # the bug: concatenating on head_dim fails once the cache holds more than one token
    with pytest.raises(RuntimeError):
        torch.cat([ks[:, :, :2], ks[:, :, 2:3]], dim=-1)
    # with a one-token cache the cat succeeds, but the 2D-wide keys no longer fit the query
    wide = torch.cat([ks[:, :, :1], ks[:, :, 1:2]], dim=-1)
    with pytest.raises(RuntimeError):
        qs[:, :, 1:2] @ wide.transpose(-2, -1)
    assert q("kv-cache.bug-concat-dim").answer == "D"


# --------------------------------------------------------------------------- mqa-gqa


def test_gqa_cache_ratio():
    n_heads, n_kv_heads = 32, 8
    mha = kv_cache_bytes(1, 1000, 1, n_heads, 128, 2)
    gqa = kv_cache_bytes(1, 1000, 1, n_kv_heads, 128, 2)
    assert_numeric("mqa-gqa.cache-ratio", mha / gqa)


def _gqa_projections(torch, d_model=4096, n_heads=32, head_dim=128, n_kv_heads=8):
    lin = lambda i, o: torch.nn.Linear(i, o, bias=False, device="meta")  # noqa: E731
    return {
        "q": lin(d_model, n_heads * head_dim),
        "k": lin(d_model, n_kv_heads * head_dim),
        "v": lin(d_model, n_kv_heads * head_dim),
        "o": lin(n_heads * head_dim, d_model),
    }


def test_gqa_kv_proj_params():
    torch = pytest.importorskip("torch")
    proj = _gqa_projections(torch)
    kv = sum(p.numel() for name in ("k", "v") for p in proj[name].parameters())
    assert_numeric("mqa-gqa.kv-proj-params", kv)


def test_gqa_attn_params_total():
    torch = pytest.importorskip("torch")
    proj = _gqa_projections(torch)
    total = sum(p.numel() for m in proj.values() for p in m.parameters())
    assert_numeric("mqa-gqa.attn-params-total", total)
    mha = sum(p.numel() for m in _gqa_projections(torch, n_kv_heads=32).values() for p in m.parameters())
    assert mha == 4 * 4096**2 and 0.3 < 1 - total / mha < 0.4  # "~37%" in the explanation


def test_repeat_vs_repeat_interleave_grouping():
    torch = pytest.importorskip("torch")
    n_kv, n_heads = 2, 8
    group = n_heads // n_kv
    k = torch.arange(n_kv).float().view(1, n_kv, 1, 1)  # each KV head holds its own index
    tiled = k.repeat(1, group, 1, 1).flatten().long().tolist()
    interleaved = k.repeat_interleave(group, dim=1).flatten().long().tolist()
    assert interleaved == [h // group for h in range(n_heads)]
    assert tiled == [h % n_kv for h in range(n_heads)] and tiled != interleaved
    # expand + reshape (as in Hugging Face's repeat_kv) matches repeat_interleave
    expanded = k[:, :, None].expand(1, n_kv, group, 1, 1).reshape(1, n_heads, 1, 1)
    assert expanded.flatten().long().tolist() == interleaved
    assert q("mqa-gqa.bug-repeat-kv").answer == "A"


# --------------------------------------------------------------------------- flash-attention


def test_flash_score_bytes():
    torch = pytest.importorskip("torch")
    n = 8192
    scores = torch.empty(n, n, dtype=torch.float16, device="meta")
    assert_numeric("flash-attention.score-bytes", scores.numel() * scores.element_size())


def test_flash_qk_flops():
    n, d = 2048, 128
    multiplies = n * n * d  # one d-long dot product per (query, key) pair
    adds = n * n * d  # counted as d adds per dot product (multiply-add = 2 FLOPs)
    assert_numeric("flash-attention.same-flops", multiplies + adds)


def _online_softmax_stats(blocks):
    m, l = float("-inf"), 0.0
    factors = []
    for block in blocks:
        m_new = max(m, max(block))
        factor = math.exp(m - m_new) if m != float("-inf") else 0.0
        factors.append(factor)
        l = l * factor + sum(math.exp(s - m_new) for s in block)
        m = m_new
    return m, l, factors


def test_online_softmax_rescale_and_sum():
    torch = pytest.importorskip("torch")
    m, l, factors = _online_softmax_stats([[1.0, 2.0], [3.0]])
    assert_numeric("flash-attention.online-rescale", factors[1])
    assert_numeric("flash-attention.online-sum", l)
    # l relative to the final max is the softmax denominator, and 1/l the weight of the score 3
    scores = torch.tensor([1.0, 2.0, 3.0])
    assert math.isclose(l, torch.exp(scores - scores.max()).sum().item(), rel_tol=1e-6)
    assert math.isclose(1 / l, torch.softmax(scores, dim=0)[2].item(), rel_tol=1e-5)


def test_online_softmax_bug_snippet():
    torch = pytest.importorskip("torch")
    question = q("flash-attention.bug-online-softmax")
    namespace: dict = {}
    exec(compile(question.code, "<bug snippet>", "exec"), namespace)
    buggy = namespace["blockwise_attention_row"]
    torch.manual_seed(0)
    values = torch.randn(4, 3)
    # max in the first block: the bug is invisible
    s1 = torch.tensor([5.0, 1.0, 0.0, -1.0])
    assert torch.allclose(buggy(s1, values), torch.softmax(s1, 0) @ values, atol=1e-5)
    # max arrives later: the result is wrong
    s2 = torch.tensor([0.0, 1.0, 2.0, 6.0])
    assert not torch.allclose(buggy(s2, values), torch.softmax(s2, 0) @ values, atol=1e-3)

    def fixed(scores, vals, block=2):
        m, l, acc = float("-inf"), torch.tensor(0.0), torch.zeros(vals.shape[1])
        for start in range(0, scores.shape[0], block):
            s, v = scores[start : start + block], vals[start : start + block]
            m_new = max(m, s.max().item())
            scale = math.exp(m - m_new)
            p = torch.exp(s - m_new)
            l = l * scale + p.sum()
            acc = acc * scale + p @ v
            m = m_new
        return acc / l

    assert torch.allclose(fixed(s2, values), torch.softmax(s2, 0) @ values, atol=1e-5)
    assert question.answer == "C"


# --------------------------------------------------------------------------- sparse-attention


def _reach_after_layers(torch, n, back, layers):
    """Farthest distance information travels when position i attends to i-back ... i, stacked `layers` times."""
    i = torch.arange(n)
    dist = i[:, None] - i[None, :]
    one = ((dist >= 0) & (dist <= back)).float()  # row = query, column = key
    reach = torch.eye(n)
    for _ in range(layers):
        reach = (one @ reach > 0).float()
    last = n - 1
    sources = torch.nonzero(reach[last]).flatten()
    return int(last - sources.min())


def test_sliding_window_reach_small():
    torch = pytest.importorskip("torch")
    assert_numeric("sparse-attention.reach-small", _reach_after_layers(torch, 64, back=3, layers=6))


def test_mistral_span():
    torch = pytest.importorskip("torch")
    # the k * W rule, checked by brute force on a small window, then applied to Mistral's numbers
    assert _reach_after_layers(torch, 80, back=5, layers=4) == 4 * 5
    n_layers, window = 32, 4096
    assert_numeric("sparse-attention.mistral-span", n_layers * window)


def test_sliding_window_score_ratio():
    n, w = 16384, 512
    assert_numeric("sparse-attention.score-ratio", (n * n) / (n * w))


# --------------------------------------------------------------------------- linear-attention


def test_linear_attention_crossover_and_speedup():
    d = 128
    crossover = next(n for n in range(1, 10_000) if n * n * d >= n * d * d)
    assert_numeric("linear-attention.crossover", crossover)
    n, d = 4096, 64
    assert_numeric("linear-attention.speedup", (n * n * d) / (n * d * d))


def test_linear_attention_associativity_and_rnn_state():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    torch.manual_seed(0)
    n, d = 6, 4
    phi = lambda x: F.elu(x) + 1  # noqa: E731
    Q, K, V = (torch.randn(n, d, dtype=torch.float64) for _ in range(3))
    fq, fk = phi(Q), phi(K)
    assert (fk > 0).all()
    # associativity: (phi(Q) phi(K)^T) V == phi(Q) (phi(K)^T V)
    assert torch.allclose((fq @ fk.T) @ V, fq @ (fk.T @ V))
    # causal masked form == running-state recurrence
    mask = torch.tril(torch.ones(n, n, dtype=torch.float64))
    sims = (fq @ fk.T) * mask
    masked = (sims @ V) / sims.sum(-1, keepdim=True)
    S = torch.zeros(d, d, dtype=torch.float64)
    z = torch.zeros(d, dtype=torch.float64)
    outs = []
    for i in range(n):
        S = S + torch.outer(fk[i], V[i])
        z = z + fk[i]
        outs.append((fq[i] @ S) / (fq[i] @ z))
    assert torch.allclose(torch.stack(outs), masked)
    # the state size does not depend on n
    d_k = d_v = 64
    state = torch.zeros(d_k, d_v).numel() + torch.zeros(d_k).numel()
    assert_numeric("linear-attention.state-size", state)


# --------------------------------------------------------------------------- interpretability


def test_attention_map_rows_sum_to_one_columns_do_not():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    x = torch.randn(1, 7, 16)
    _, w = mha(x, x, x, need_weights=True, average_attn_weights=False)  # (B, H, L_query, L_key)
    assert w.shape == (1, 4, 7, 7)
    assert torch.allclose(w.sum(-1), torch.ones(1, 4, 7), atol=1e-5)  # rows: queries
    assert not torch.allclose(w.sum(-2), torch.ones(1, 4, 7), atol=1e-3)  # columns: unconstrained
    assert not torch.allclose(w, w.transpose(-1, -2))
    assert q("interpretability.map-axes").answer == "C"
    assert q("interpretability.column-sum").answer is False
    assert q("interpretability.bug-read-row").answer == "D"


def test_attention_rollout_numeric():
    torch = pytest.importorskip("torch")
    A = torch.tensor([[1.0, 0.0], [0.5, 0.5]], dtype=torch.float64)
    A_hat = 0.5 * A + 0.5 * torch.eye(2, dtype=torch.float64)
    A_hat = A_hat / A_hat.sum(-1, keepdim=True)
    rollout = A_hat @ A_hat  # layer 2 times layer 1
    assert torch.allclose(rollout.sum(-1), torch.ones(2, dtype=torch.float64))
    assert_numeric("interpretability.rollout-numeric", rollout[1, 0].item())
