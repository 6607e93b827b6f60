"""Answer matching as learners really type: short phrases, recall key points and numeric expressions."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from attnquiz.bank import KeyPoint, check as check_bank
from attnquiz.quiz import InvalidAnswer, match_short, mentioned_points, parse_number

SAMPLE = {q.id: q for q in check_bank([Path(__file__).parent / "data"])[0]}
BANK = {q.id: q for q in check_bank()[0]}
RECALL = [q for q in BANK.values() if q.type == "recall"]

ROTATION = ["rotation", "2D rotation", "rotate", "rotation matrix", "旋转", "二维旋转", "旋转矩阵"]
ELU = ["elu(x)+1", "elu(x) + 1", "elu+1", "elu plus 1"]
SEP = ["[SEP]", "SEP", "sep token", "分隔符"]
SQRT = ["sqrt(d_k)", "√d_k", "square root of d_k", "根号 d_k"]


# --------------------------------------------------------------------------- short answers


@pytest.mark.parametrize(
    "given, accepted",
    [
        ("the [SEP] token", SEP),
        ("SEP", SEP),
        ("a rotation", ROTATION),
        ("it's a rotation", ROTATION),
        ("It’s a rotation.", ROTATION),
        ("I think rotation", ROTATION),
        ("rotation, I believe", ROTATION),
        ("probably a rotation matrix", ROTATION),
        ("旋 转", ROTATION),
        ("我觉得是旋转吧", ROTATION),
        ("1 + elu(x)", ELU),
        ("elu(x)+1", ELU),
        ("elu(x) + 1", ELU),
        ("1+elu(x)", ELU),
        ("it's 1 + elu(x)", ELU),
        ("ELU(x) + 1", ELU),
        ("x^2", ["x**2"]),
        ("x²", ["x**2"]),
        ("x ** 2", ["x^2"]),
        ("√d_k", SQRT),
        ("d_k^0.5", SQRT),
        ("d_k**(1/2)", SQRT),
        ("sqrt( d_k )", SQRT),
        ("1/√d_k", ["1/sqrt(d_k)"]),
        ("d*2 + n", ["n + 2*d"]),
        ("b*a", ["a*b"]),
        ("用 RoPE 旋转", ["用RoPE旋转"]),
        ("用RoPE旋转", ["用 RoPE 旋转"]),
        ("我认为用RoPE旋转", ["用 RoPE 旋转"]),
    ],
)
def test_a_right_short_answer_phrased_as_people_write_it(given, accepted):
    assert match_short(given, accepted) == (True, False)


@pytest.mark.parametrize(
    "given, accepted",
    [
        ("not a rotation", ROTATION),
        ("no rotation", ROTATION),
        ("isn't a rotation", ROTATION),
        ("it isn’t a rotation", ROTATION),
        ("it is not a rotation", ROTATION),
        ("never a rotation", ROTATION),
        ("不是旋转", ROTATION),
        ("没有旋转", ROTATION),
        ("rotation? no", ROTATION),
        ("anything but rotation", ROTATION),
        ("not elu(x)+1", ELU),
        ("not the [SEP] token", SEP),
    ],
)
def test_a_negated_answer_is_never_right(given, accepted):
    assert match_short(given, accepted) == (False, False)


@pytest.mark.parametrize(
    "given, accepted",
    [
        ("rotation and scaling of the values", ROTATION),
        ("rotation of the keys only", ROTATION),
        ("sep token or cls token", SEP),
        ("elu(x)+2", ELU),
        ("elu(x)*1", ELU),
        ("1+elu(y)", ELU),
        ("K*Q", ["Q*K"]),
        ("d_k", SQRT),
        ("sqrt(d_v)", SQRT),
        ("d_v^0.5", SQRT),
        ("fp16", ["fp32"]),
        ("the fp16 format", ["fp32 format"]),
        ("gelu", ["relu"]),
        ("旋转和缩放", ROTATION),
    ],
)
def test_other_content_and_near_misses_are_wrong(given, accepted):
    assert match_short(given, accepted) == (False, False)


@pytest.mark.parametrize(
    "given, accepted",
    [("rotaton", ROTATION), ("the rotaton", ROTATION), ("squre root of d_k", SQRT), ("I think label smoothin", ["label smoothing"])],
)
def test_typos_in_longer_words_are_forgiven(given, accepted):
    assert match_short(given, accepted) == (True, True)


def test_a_negation_in_the_accepted_answer_is_not_held_against_the_learner():
    assert match_short("there is no causal mask", ["no causal mask"]) == (True, False)


def test_every_accepted_answer_in_the_bank_matches_itself_with_filler():
    for q in BANK.values():
        for accepted in q.accept:
            assert match_short(accepted, q.accept) == (True, False), (q.id, accepted)
            assert match_short(f"I think {accepted}", q.accept)[0], (q.id, accepted)
            assert not match_short(f"not {accepted}", q.accept)[0], (q.id, accepted)


# --------------------------------------------------------------------------- recall key points


def _recall(*points: tuple[str, ...]):
    return replace(
        SAMPLE["sample.recall"],
        key_points=tuple(KeyPoint({"en": kws[0], "zh": kws[0]}, kws) for kws in points),
    )


@pytest.mark.parametrize(
    "answer",
    ["the embeddings are added", "adding them up", "it adds the two", "they are summed", "sums both", "an element-wise sum"],
)
def test_word_forms_of_a_keyword_count(answer):
    assert mentioned_points(_recall(("add", "sum")), answer) == [True]


@pytest.mark.parametrize(
    "keyword, answer",
    [
        ("mask", "future positions are masked"),
        ("mask", "by masking the scores"),
        ("mask", "two masks are combined"),
        ("scale", "the scores are scaled"),
        ("scale", "scaling by 1/√d_k"),
        ("positional encoding", "needs positional encodings"),
        ("embedding", "token embeddings"),
        ("query", "the queries"),
    ],
)
def test_plural_ed_and_ing_forms(keyword, answer):
    assert mentioned_points(_recall((keyword,)), answer) == [True]


@pytest.mark.parametrize(
    "keywords, answer",
    [
        (("mask",), "no causal mask"),
        (("mask",), "it does not use a mask"),
        (("mask",), "it doesn't need masking"),
        (("mask",), "works without masks"),
        (("add", "sum"), "they are not added but concatenated"),
        (("add", "sum"), "never summed"),
        (("掩码",), "没有因果掩码"),
        (("掩码",), "不用掩码"),
        (("掩码",), "无掩码"),
        (("相加",), "不是相加，是拼接"),
    ],
)
def test_a_negated_keyword_does_not_count(keywords, answer):
    assert mentioned_points(_recall(keywords), answer) == [False]


@pytest.mark.parametrize(
    "keywords, answer",
    [
        (("mask",), "no dropout, and a causal mask"),
        (("mask",), "not bidirectional: a causal mask"),
        (("掩码",), "不是双向的，用因果掩码"),
        (("相加",), "和词嵌入相加，而不是拼接"),
        (("未来",), "屏蔽未来位置"),
        (("状态",), "和 KV 缓存不同，状态不增长"),
    ],
)
def test_a_negation_in_another_clause_or_a_non_negating_word_does_not_hide_a_keyword(keywords, answer):
    assert mentioned_points(_recall(keywords), answer) == [True]


def test_a_negated_keyword_needs_its_negation():
    q = _recall(("no causal mask", "没有因果掩码"))
    assert mentioned_points(q, "bidirectional, no causal mask") == [True]
    assert mentioned_points(q, "双向的，没有因果掩码") == [True]
    assert mentioned_points(q, "a causal mask") == [False]


def test_whole_words_still():
    q = _recall(("view",), ("wo",), ("cat",))
    assert mentioned_points(q, "I would review the location of each token") == [False, False, False]


def test_bert_audit_case():
    """The audited answer credited Masked LM for "no causal mask" and missed the bidirectional point."""
    q = BANK["bert.q4-recall"]
    points = [p.text["en"] for p in q.key_points]
    bidirectional = points.index("Bidirectional self-attention, no causal mask")
    mlm = points.index("Masked language model pre-training because attention sees both sides")
    hits = mentioned_points(q, "bidirectional, no causal mask")
    assert hits[bidirectional] and not hits[mlm]
    hits = mentioned_points(q, "no causal mask")
    assert hits[bidirectional] and not hits[mlm]
    for answer in ("pre-trained as a masked LM", "the MLM objective", "a masked language model", "用完形填空式的掩码语言模型预训练"):
        assert mentioned_points(q, answer)[mlm], answer
    assert not mentioned_points(q, "not trained with MLM")[mlm]


@pytest.mark.parametrize("q", RECALL, ids=lambda q: q.id)
def test_realistic_answers_against_every_recall_question(q):
    for lang in ("en", "zh"):
        model = q.model_answer[lang]
        assert all(mentioned_points(q, model)), f"{lang} model answer misses a point"
        assert all(mentioned_points(q, f"I think: {model}")), f"{lang} model answer with a lead-in misses a point"
    for shrug in ("I don't know", "no idea", "不知道", ""):
        assert not any(mentioned_points(q, shrug)), shrug
    other = next(o for o in RECALL if o.topic != q.topic)
    assert not all(mentioned_points(q, other.model_answer["en"])), f"{other.id}'s answer covers all of {q.id}"


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "text, value",
    [
        ("sqrt(512)", 512**0.5),
        ("√512", 512**0.5),
        ("√ 512", 512**0.5),
        ("2√2", 2 * 2**0.5),
        ("16 GiB / (2*32*32*128*2)", 16 * 2**30 / (2 * 32 * 32 * 128 * 2)),
        ("2 * 16 GiB", 32 * 2**30),
        ("log2(1024)", 10),
        ("1e9/8", 1.25e8),
        ("16 GiB / 2 bytes", 8 * 2**30),
        ("4 * 1024 * 1024 bytes", 4 * 2**20),
        ("3 MB", 3e6),
        ("3MB", 3e6),
        ("2 KiB", 2048),
        ("1 kB", 1000),
        ("2 MiB", 2 * 2**20),
        ("100 bits", 100),
        ("1.5k", 1500),
        ("2^10 * 4", 4096),
        ("2^10 KiB", 2**20),
        ("2¹⁰", 1024),
        ("d = 2**10", None),
        ("约 512", 512),
        ("512 个", 512),
        ("约512个", 512),
        ("5 万", 50_000),
        ("about 512.", 512),
        ("~512", 512),
        ("(1+1) GiB", 2 * 2**30),
        ("512 x 2", 1024),
        ("１０２４", 1024),
        ("64 000 tokens", 64_000),
        ("1,073,741,824 bytes", 2**30),
        ("50 %", 0.5),
    ],
)
def test_number_expressions_people_type(text, value):
    if value is None:
        with pytest.raises(InvalidAnswer):
            parse_number(text)
    else:
        assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "GiB",
        "12 and 13",
        "12 13",
        "1,2",
        "__import__('os')",
        "().__class__",
        "sqrt(d_k)",
        "2**2**2**2**2",
        "10**400",
        "1e400",
        "exp(1000)",
        "sqrt(-1)",
        "log2(0)",
        "1/0",
        "()",
        "(" * 300 + "1" + ")" * 300,
        "print(1)",
        "lambda: 1",
        "[1]",
        "1 if 1 else 2",
    ],
)
def test_garbage_and_unsafe_numbers_are_refused(text):
    with pytest.raises(InvalidAnswer) as caught:
        parse_number(text)
    assert caught.value.key == "number"


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("We need them in order to tell positions apart.", [False] * 6),  # "in order to" is not word order
        (
            "Self-attention is order-blind; sine and cosine waves at geometric wavelengths are added to the "
            "embeddings, and PE(pos+k) is a linear function of PE(pos); learned ones work as well",
            [True] * 6,
        ),
        ("they are concatenated, not added, and not learned", [False] * 6),
    ],
)
def test_sinusoidal_recall_credits_what_was_said_and_only_that(answer, expected):
    assert mentioned_points(BANK["positional-encoding.recall-sinusoidal"], answer) == expected
