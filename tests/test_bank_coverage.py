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


def _choice_questions():
    return [q for q in check()[0] if q.type in ("single", "multi", "bug") and q.choices]


def test_most_wrong_options_say_why_in_both_languages():
    wrong = [(q, i) for q in _choice_questions() for i in range(len(q.choices)) if i not in q.correct_indices()]
    explained = [(q, i) for q, i in wrong if q.choices[i].get("why")]
    assert len(explained) >= 0.6 * len(wrong), f"{len(explained)}/{len(wrong)} wrong options have a reason"
    for q, i in explained:
        why = q.choices[i]["why"]
        assert why["en"].strip() and why["zh"].strip(), q.id
        assert len(why["en"]) <= 160, f"{q.id}: a reason is one line ({len(why['en'])} characters)"


LETTER_REFERENCE = re.compile(
    r"\b(?:options?|choices?|answers?)\s+[A-E]\b|\b[A-E]\s+(?:and|or)\s+[A-E]\b|(?<!\w)\([A-E]\)|选项\s*[A-E]|[A-E]\s*选项"
    r"|all of the above|none of the above|both of the above|以上(?:都|全|均)",
    re.IGNORECASE,
)


def test_shuffled_questions_never_name_an_option_by_its_letter():
    """Options are shuffled each time: only questions marked `ordered` may refer to A, B, C..."""
    for q in _choice_questions():
        if q.ordered:
            continue
        texts = [q.prompt[lang] for lang in ("en", "zh")] + [q.explanation[lang] for lang in ("en", "zh")]
        texts += [c[lang] for c in q.choices for lang in ("en", "zh")]
        texts += [c["why"][lang] for c in q.choices if c.get("why") for lang in ("en", "zh")]
        for text in texts:
            found = LETTER_REFERENCE.search(text)
            assert not found, f"{q.id}: refers to an option by its letter or position: {found.group(0)!r}"


def test_every_question_stands_alone():
    """Review asks one question at a time: none may lean on the one before."""
    lean = re.compile(r"^\s*(?:same\b|and (?:one|the)\b|同上|那么)|previous question|question above|上一题|上题", re.IGNORECASE)
    for q in check()[0]:
        for lang in ("en", "zh"):
            assert not lean.search(q.prompt[lang]), f"{q.id} ({lang}) does not stand alone: {q.prompt[lang][:60]!r}"
