"""The bank's shape as issue #5 asks for it, and a guard that every numeric key is computed in a test."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from attnquiz.bank import TYPES, check

TESTS = Path(__file__).parent
QUESTIONS = check()[0]


def test_size_topics_types_and_difficulty_spread():
    assert len(QUESTIONS) >= 150
    assert len({q.topic for q in QUESTIONS}) >= 22
    types = Counter(q.type for q in QUESTIONS)
    assert set(types) == set(TYPES), "every question type is used"
    assert types["numeric"] >= 20 and types["bug"] >= 8
    difficulty = Counter(q.difficulty for q in QUESTIONS)
    for level in ("easy", "medium", "hard"):
        assert difficulty[level] >= len(QUESTIONS) / 4, difficulty


def test_every_numeric_answer_is_computed_by_a_fact_test():
    """A numeric key nobody recomputes can be wrong silently; each id must appear in a tests/test_facts_*.py."""
    fact_tests = "\n".join(p.read_text(encoding="utf-8") for p in TESTS.glob("test_facts_*.py"))
    named = set(re.findall(r"[\"']([a-z0-9][a-z0-9._-]*)[\"']", fact_tests))
    unchecked = sorted(q.id for q in QUESTIONS if q.type == "numeric" and q.id not in named)
    assert not unchecked, f"numeric questions without a computing test: {unchecked}"


def test_explanations_say_why_and_name_a_source():
    for q in QUESTIONS:
        assert len(q.explanation["en"].split()) >= 12, f"{q.id}: the explanation is too thin to say why"
        assert len(q.source) >= 5, q.id


def test_the_longest_choice_is_not_a_giveaway():
    """Test-wise learners pick the longest (or the odd shortest) option; it may be right only some of the time."""
    choice_questions = [q for q in QUESTIONS if q.choices and q.answer_mode == "single"]
    for lang in ("en", "zh"):
        tells = 0
        for q in choice_questions:
            lengths = [len(c[lang]) for c in q.choices]
            right = lengths[q.correct_indices()[0]]
            tells += right in (max(lengths), min(lengths)) and lengths.count(right) == 1
        assert tells <= 0.4 * len(choice_questions), f"{lang}: the longest or shortest option is the answer in {tells} of {len(choice_questions)}"


def test_each_model_answer_mentions_all_of_its_key_points():
    """Keywords that miss the model answer itself would miss a learner's good answer too."""
    from attnquiz.quiz import mentioned_points

    for q in QUESTIONS:
        if q.type == "recall":
            for lang in ("en", "zh"):
                hits = mentioned_points(q, q.model_answer[lang])
                missed = [p.text["en"] for p, hit in zip(q.key_points, hits) if not hit]
                assert not missed, f"{q.id} ({lang}): the model answer does not mention {missed}"
