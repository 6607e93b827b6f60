"""Answer checking for every question type, question selection and the session's bookkeeping."""

from __future__ import annotations

from pathlib import Path

import pytest

from attnquiz.bank import Bank, check as check_bank, index_letter
from attnquiz.errors import UsageError
from attnquiz.quiz import (
    InvalidAnswer,
    Session,
    check,
    default_lang,
    match_short,
    mentioned_points,
    numeric_relation,
    parse_number,
    parse_rating,
    presented,
    select,
)

SAMPLE = {q.id: q for q in check_bank([Path(__file__).parent / "data"])[0]}


@pytest.mark.parametrize(
    "answer, correct",
    [("b", True), ("B", True), (" 2 ", True), ("a", False), ("3", False)],
)
def test_single_choice_by_letter_or_number(answer, correct):
    assert check(SAMPLE["sample.single"], answer).correct is correct


@pytest.mark.parametrize("answer", ["z", "4", "0", "a,b", "softmax"])
def test_single_choice_rejects_unreadable_answers(answer):
    with pytest.raises(InvalidAnswer):
        check(SAMPLE["sample.single"], answer)


@pytest.mark.parametrize(
    "answer, correct",
    [("a,b,d", True), ("ABD", True), ("d b a", True), ("1 2 4", True), ("a，b、d", True), ("a,b", False), ("a,b,c,d", False)],
)
def test_multiple_answer_needs_exactly_the_right_set(answer, correct):
    assert check(SAMPLE["sample.multi"], answer).correct is correct


@pytest.mark.parametrize(
    "answer, correct",
    [("f", True), ("False", True), ("no", True), ("错", True), ("t", False), ("对", False), ("yes", False)],
)
def test_true_false_in_both_languages(answer, correct):
    assert check(SAMPLE["sample.truefalse"], answer).correct is correct


def test_true_false_rejects_other_words():
    with pytest.raises(InvalidAnswer):
        check(SAMPLE["sample.truefalse"], "maybe")


@pytest.mark.parametrize(
    "answer, correct",
    [
        ("1050624", True),
        ("1,050,624", True),
        ("1 050 624", True),
        ("4*512**2 + 4*512", True),
        ("4*512^2+4*512", True),
        ("1050624 parameters", True),
        ("1.050624e6", True),
        ("1048576", False),
        ("1.05M", False),
    ],
)
def test_numeric_answers_as_people_type_them(answer, correct):
    assert check(SAMPLE["sample.numeric"], answer).correct is correct


def test_numeric_tolerance():
    q = SAMPLE["sample.numeric"]
    from dataclasses import replace

    loose = replace(q, tolerance=1000)
    assert check(loose, "1.05M").correct
    assert not check(loose, "1.04M").correct


@pytest.mark.parametrize(
    "text, value",
    [("2^30", 2**30), ("1 GiB", 2**30), ("64K", 64_000), ("50%", 0.5), ("-3.5", -3.5), ("(512/8)", 64), ("1_000", 1000)],
)
def test_parse_number(text, value):
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["abc", "2**2**2**2**2", "1e400", "12 and 13", "1,2", "__import__('os')", "()"])
def test_parse_number_refuses_non_numbers_and_huge_powers(text):
    with pytest.raises(InvalidAnswer):
        parse_number(text)


@pytest.mark.parametrize(
    "answer, correct, typo",
    [
        ("sqrt(d_k)", True, False),
        ("SQRT (D_K)", True, False),
        ("√d_k", True, False),
        ("square root of d_k", True, False),
        ("squre root of d_k", True, True),
        ("根号 d_k", True, False),
        ("d_k", False, False),
        ("sqrt(d_v)", False, False),
        ("", False, False),
    ],
)
def test_short_answers_ignore_case_space_punctuation_and_forgive_typos(answer, correct, typo):
    verdict = check(SAMPLE["sample.short"], answer)
    assert (verdict.correct, verdict.typo) == (correct, typo)


def test_short_answer_digits_must_match_exactly():
    assert match_short("fp16 precision", ["fp32 precision"]) == (False, False)
    assert match_short("layer norm", ["layernorm"]) == (True, False)
    assert match_short("softmaxx", ["softmax"]) == (True, True)
    assert match_short("relu", ["gelu"]) == (False, False), "short words get no typo budget"


def test_recall_key_points_and_ratings():
    q = SAMPLE["sample.recall"]
    assert mentioned_points(q, "a Weighted sum of the values") == [True, False]
    assert mentioned_points(q, "按查询和键的相似度加权") == [True, True]
    assert mentioned_points(q, "no idea") == [False, False]
    assert [parse_rating(x) for x in ("1", "h", "Good", "简单")] == ["again", "hard", "good", "easy"]
    with pytest.raises(InvalidAnswer):
        parse_rating("5")
    with pytest.raises(ValueError):
        check(q, "anything")


def test_spot_the_bug_by_choice():
    q = SAMPLE["sample.bug"]
    assert q.answer_mode == "single"
    assert check(q, "A").correct and not check(q, "B").correct


def test_spot_the_bug_by_short_answer():
    from dataclasses import replace

    q = replace(SAMPLE["sample.bug"], choices=(), answer=None, accept=("missing 1/sqrt(d_k) scaling", "no scaling", "没有缩放"))
    assert q.answer_mode == "short"
    assert check(q, "No scaling!").correct
    assert check(q, "没有缩放").correct
    assert not check(q, "wrong axis").correct


def test_empty_answer_counts_as_wrong_for_every_auto_graded_type():
    for q in SAMPLE.values():
        if q.type != "recall":
            assert check(q, "  ") .correct is False, q.id


def test_select_filters_and_seeds():
    bank = Bank(list(SAMPLE.values()))
    assert [q.id for q in select(bank, qtype="numeric")] == ["sample.numeric"]
    assert {q.topic for q in select(bank, topics=["sample-numbers"])} == {"sample-numbers"}
    assert [q.id for q in select(bank, seed=3)] == [q.id for q in select(bank, seed=3)]
    assert len({tuple(q.id for q in select(bank, seed=s)) for s in range(6)}) > 1, "the seed changes the order"
    assert len(select(bank, count=2)) == 2
    assert [q.id for q in select(bank, qid="sample.bug")] == ["sample.bug"]
    assert all(q.difficulty == "hard" for q in select(bank, difficulty="hard"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"topics": ["nope"]}, "--topic nope: no such topic; choose from sample, sample-numbers"),
        ({"qtype": "essay"}, "--type essay: no such type"),
        ({"qid": "sample"}, "--id sample: no such question (did you mean"),
        ({"count": 0}, "--count 0: must be 1 or more"),
        ({"topics": ["sample"], "qtype": "numeric"}, "no question matches these filters"),
    ],
)
def test_select_explains_bad_filters(kwargs, message):
    with pytest.raises(UsageError, match=None) as info:
        select(Bank(list(SAMPLE.values())), **kwargs)
    assert str(info.value).startswith(message)


def test_session_summary_by_topic_and_review_list():
    session = Session(planned=4)
    session.record(SAMPLE["sample.single"], "b", True, 1.0)
    session.record(SAMPLE["sample.multi"], "a", False, 2.0)
    session.record(SAMPLE["sample.numeric"], "1", False, 1.0)
    session.record(SAMPLE["sample.recall"], "x", True, 1.0, rating="hard")
    session.record(SAMPLE["sample.short"], "no idea", False, 1.0, rating="again")
    scores = session.by_topic()
    assert (scores["sample"].right, scores["sample"].total) == (2, 4)
    assert (scores["sample-numbers"].right, scores["sample-numbers"].total) == (0, 1)
    assert [r.rating for r in session.results] == ["good", "again", "again", "hard", "again"]
    # One rule: the review list is exactly what the score counts wrong (Hard was recalled: right, not listed).
    assert [q.id for q in session.to_review()] == ["sample.multi", "sample.numeric", "sample.short"]
    assert len(session.to_review()) == len(session.results) - session.right


@pytest.mark.parametrize(
    "env, lang",
    [({"LANG": "zh_CN.UTF-8"}, "zh"), ({"LANG": "en_US.UTF-8"}, "en"), ({"LC_ALL": "zh_TW", "LANG": "en_US"}, "zh"), ({}, "en"), ({"LANG": "C"}, "en")],
)
def test_default_language_from_locale(env, lang):
    assert default_lang(env) == lang


def test_chinese_text_shows_without_folding_spaces():
    from attnquiz.bank import check as check_bank
    from attnquiz.markup import render, tidy_cjk

    assert tidy_cjk("交叉注意力。 正因如此 （即 i = 128） 的") == "交叉注意力。正因如此（即 i = 128）的"
    assert tidy_cjk("使用 RoPE 时") == "使用 RoPE 时", "a space between Chinese and a Latin word stays"
    import re

    gap = re.compile(r"[\u4e00-\u9fff。，、；：？！）] +[\u4e00-\u9fff（]")
    for q in check_bank()[0]:
        for text in (q.prompt["zh"], q.explanation["zh"], *(c["zh"] for c in q.choices)):
            shown = render(text).plain
            assert not gap.search(shown), f"{q.id}: {gap.search(shown).group(0)!r}"


def test_recall_keywords_match_whole_words_not_fragments():
    from dataclasses import replace

    from attnquiz.bank import KeyPoint

    q = replace(
        SAMPLE["sample.recall"],
        key_points=(
            KeyPoint({"en": "W^O", "zh": "W^O"}, ("wo", "W_O", "output projection")),
            KeyPoint({"en": "view", "zh": "view"}, ("view",)),
            KeyPoint({"en": "masked LM", "zh": "掩码语言模型"}, ("masked lm", "mask", "掩码")),
        ),
    )
    assert mentioned_points(q, "I would review the location of each token") == [False, False, False]
    assert mentioned_points(q, "then the output projection W_O; view as heads") == [True, True, False]
    assert mentioned_points(q, "a Masked-LM objective") == [False, False, True]
    assert mentioned_points(q, "用掩码语言模型预训练") == [False, False, True]
    assert mentioned_points(q, "no causal masking here") == [False, False, False], "'masking' is not the keyword 'mask'"


SHUFFLE = {q.id: q for q in check_bank([Path(__file__).parent / "data-shuffle"])[0]}


def _texts(question):
    return [c["en"] for c in question.choices]


def test_choices_are_shuffled_reproducibly_and_the_answer_follows_its_option():
    single = SHUFFLE["shuffle.single"]
    orders = {tuple(_texts(presented([single], seed)[0])) for seed in range(12)}
    assert len(orders) > 3, "the options should come in different orders"
    assert _texts(presented([single], 5)[0]) == _texts(presented([single], 5)[0])  # a seed reproduces it
    for seed in range(12):
        shown = presented([single, SHUFFLE["shuffle.multi"]], seed)
        assert [shown[0].choices[i]["en"] for i in shown[0].correct_indices()] == ["softmax"]
        assert sorted(shown[1].choices[i]["en"] for i in shown[1].correct_indices()) == ["keys", "queries", "values"]
        assert shown[0].id == single.id  # progress is keyed on the question, not on a letter
        right = index_letter(shown[0].correct_indices()[0])
        assert check(shown[0], right).correct and check(shown[0], right.lower()).correct


def test_ordered_questions_and_bug_code_stay_put():
    ordered = SAMPLE["sample.single"]
    assert ordered.ordered
    assert all(presented([ordered], seed)[0] is ordered for seed in range(5))
    bug = SAMPLE["sample.bug"]
    assert all(presented([bug], seed)[0].code == bug.code for seed in range(5))


@pytest.mark.parametrize(
    "value, target, key",
    [
        (2 * 1050624, 1050624, "rel_double"),
        (1050624 / 2, 1050624, "rel_half"),
        (8 * 4096, 4096, "rel_bits_bytes"),
        (512, 4096, "rel_bits_bytes"),
        (1e9, 2**30, "rel_binary"),
        (16 * 2**30, 16e9, "rel_binary"),
        (-3.5, 3.5, "rel_sign"),
        (5120, 512, "rel_pow10"),
        (0.512, 512, "rel_pow10"),
        (4 * 512, 512, "rel_pow2"),
        (512 / 64, 512, "rel_pow2"),
        (513, 512, None),
        (3 * 512, 512, None),
        (0, 512, None),
    ],
)
def test_a_wrong_number_is_related_to_the_answer_when_that_says_something(value, target, key):
    relation = numeric_relation(value, target)
    assert (relation.key if relation else None) == key


def test_a_wrong_pick_keeps_what_was_picked():
    multi = SHUFFLE["shuffle.multi"]
    verdict = check(multi, "a,d")
    assert not verdict.correct and verdict.picked == (0, 3)
    numeric = check(SAMPLE["sample.numeric"], "2*1050624")
    assert not numeric.correct and numeric.value == 2 * 1050624
