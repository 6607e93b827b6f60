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
