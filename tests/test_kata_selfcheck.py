"""Content lint for every kata folder (discovered, so a new kata is picked up without edits).

For each kata ONE real grading subprocess grades the reference, the untouched starter and every
known-mistake variant: the reference passes, the starter fails, each mistake fails and is
diagnosed as itself.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from attnquiz import grading as grader, katas

KATAS = katas.kata_names()
MIRRORED = ("kata.yaml", "starter.py", "reference.py", "test_hidden.py", "test_visible.py", "mistakes.py")


def test_the_three_katas_exist():
    assert {"attention", "multihead", "generator"} <= set(KATAS)


@pytest.mark.parametrize("name", KATAS)
def test_kata_folder_is_complete(name):
    kata = katas.load_kata(name)
    for file in MIRRORED:
        assert (kata.path / file).is_file(), f"katas/{name}/{file} is missing"
    assert len(kata.hints) >= 3, "hints must be progressive: several of them"
    assert kata.entry.endswith(".py") and kata.symbols and kata.description
    assert yaml.safe_load((kata.path / "kata.yaml").read_text(encoding="utf-8"))["version"] == 1
    tests = grader.expected_tests(kata)
    assert tests and len(set(tests)) == len(tests)
    starter_doc = ast.get_docstring(ast.parse(kata.starter.read_text(encoding="utf-8")))
    assert starter_doc and all(symbol in kata.starter.read_text(encoding="utf-8") for symbol in kata.symbols)
    assert len(starter_doc) > 400, "the starter's docstring must state the full contract"


@pytest.mark.parametrize("name", KATAS)
def test_every_hidden_check_says_what_it_verifies_in_both_languages(name):
    """`attnquiz grade --lang zh` shows each check with its Chinese description (kata.yaml checks:)."""
    kata = katas.load_kata(name)
    tests = grader.expected_tests(kata)
    assert set(kata.checks) == set(tests), f"checks: missing {set(tests) - set(kata.checks)}, stale {set(kata.checks) - set(tests)}"
    raw = yaml.safe_load((kata.path / "kata.yaml").read_text(encoding="utf-8"))["checks"]
    for test in tests:
        entry = raw[test]
        assert isinstance(entry, dict) and set(entry) == {"en", "zh"}, f"{name}: checks.{test} needs en and zh"
        assert str(entry["en"]).strip() and "\n" not in str(entry["en"]).strip(), f"{name}: checks.{test}.en must be one line"
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(entry["zh"])), f"{name}: checks.{test}.zh is not Chinese"
    for check in grader.expected_checks(kata):  # the grader's own checks (syntax, loads...) too
        assert kata.check_text(check, "en") and kata.check_text(check, "zh") != kata.check_text(check, "en"), check


@pytest.mark.parametrize("name", KATAS)
def test_mistake_patches_apply_exactly_once(name):
    kata = katas.load_kata(name)
    mistakes = katas.load_mistakes(kata.path)
    assert len(mistakes) >= 3
    assert len({m.name for m in mistakes}) == len(mistakes)
    reference = kata.reference.read_text(encoding="utf-8")
    for mistake in mistakes:
        assert mistake.title and mistake.fix
        assert mistake.apply(reference) != reference


@pytest.mark.parametrize("name", KATAS)
def test_sample_test_passes_the_reference_and_fails_the_starter(name, tmp_path):
    kata = katas.load_kata(name)
    for source, expected in ((kata.reference, 0), (kata.starter, 1)):
        ws = katas.create_workspace(kata, tmp_path / source.stem)
        ws.entry.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=ws.path, capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == expected, f"sample test on {source.name}:\n{proc.stdout[-2000:]}"
        # As a learner runs it: no warning (torch warns at import when numpy is missing).
        assert "warning" not in proc.stdout.lower() + proc.stderr.lower(), proc.stdout[-2000:]


def test_allowed_code_is_not_flagged_as_forbidden():
    source = (
        "import torch\nfrom torch import nn\nimport torch.nn.functional as F\n"
        "__all__ = ['scaled_dot_product_attention']\n"
        "def scaled_dot_product_attention(q, k, v, mask=None):\n"
        "    return F.softmax(q, -1), nn.Linear(2, 2)\n"
        "class M(nn.Module):\n    def scaled_dot_product_attention(self):\n        return self.scaled_dot_product_attention\n"
    )
    assert grader.forbidden_uses(ast.parse(source), katas.load_kata("attention").forbidden) == []


@pytest.mark.parametrize("name", KATAS)
def test_reference_passes_starter_fails_mistakes_diagnosed(name, tmp_path):
    kata = katas.load_kata(name)
    variants = katas.mistake_sources(kata)
    files = [kata.reference, kata.starter]
    for mistake, source in variants.items():
        path = tmp_path / mistake / kata.entry
        path.parent.mkdir()
        path.write_text(source, encoding="utf-8")
        files.append(path)
    results = grader.grade_many(kata, files, timeout=240)

    reference, starter, *wrong = results
    assert reference.passed, [c for c in reference.checks if not c.passed]
    assert [c.name for c in reference.checks] == grader.expected_checks(kata)
    assert not reference.diagnosis
    assert not starter.passed, "the untouched starter must fail the hidden suite"
    assert all(c.passed for c in starter.checks[:3]), "the starter must at least parse, be allowed, and load"
    bound_checks = {m.name: m.check for m in katas.load_mistakes(kata.path) if m.check}
    for mistake, result in zip(variants, wrong):
        assert not result.passed, f"mistake {mistake} passes the hidden suite: the suite misses it"
        assert result.diagnosis, f"mistake {mistake} is not diagnosed"
        top = result.diagnosis[0]
        assert (top.mistake, top.full) == (mistake, True), f"{mistake} diagnosed as {result.diagnosis}"
        if mistake in bound_checks:  # a naive algorithm: caught by the bound, with the memory it used
            check = next(c for c in result.checks if c.name == bound_checks[mistake])
            assert not check.passed and "MiB" in check.message and "bound" in check.message, check.message


@pytest.mark.parametrize("name", KATAS)
def test_every_bound_has_a_naive_mistake_it_catches(name):
    """A kata with a resource bound (a `test_bound_*` check) names a naive solution among its mistakes."""
    kata = katas.load_kata(name)
    bounds = [t for t in grader.expected_tests(kata) if t.startswith("bound")]
    named = {m.check for m in katas.load_mistakes(kata.path) if m.check}
    assert named <= set(bounds), f"{name}: mistakes name checks that do not exist: {named - set(bounds)}"
    assert set(bounds) <= named, f"{name}: no naive mistake for {set(bounds) - named}"


@pytest.mark.parametrize("name", KATAS)
def test_hints_name_only_checks_of_the_hidden_suite(name):
    """A hint's `checks:` are what `attnquiz hint` matches the last grading's first failing check against."""
    kata = katas.load_kata(name)
    assert len(kata.hint_checks) == len(kata.hints)
    known = set(grader.expected_checks(kata))
    for number, checks in enumerate(kata.hint_checks, start=1):
        assert set(checks) <= known, f"{name}: hint {number} names checks that do not exist: {set(checks) - known}"


def test_the_ladder_lists_every_kata_after_the_ones_it_requires():
    ladder = katas.list_katas()
    assert sorted(k.name for k in ladder) == sorted(KATAS)
    position = {k.name: i for i, k in enumerate(ladder)}
    for kata in ladder:
        for before in kata.requires:
            assert before in position, f"{kata.name} requires {before!r}, which is no kata"
            assert position[before] < position[kata.name], f"{kata.name} is listed before {before}"


def test_the_readme_lists_every_kata_in_ladder_order():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- kata-list", 1)[1].split("\n", 1)[1].split("\n\n", 1)[0]
    listed = [line.split("`")[1] for line in block.splitlines() if line.startswith("- `")]
    assert listed == [k.name for k in katas.list_katas()]


def _chinese(text) -> bool:
    return bool(text) and any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize("name", KATAS)
def test_both_languages_are_present(name):
    """Title, description, every hint and every mistake's title and fix, in English and Chinese."""
    kata = katas.load_kata(name)
    assert kata.title and kata.description and all(kata.hints)
    assert _chinese(kata.zh.get("title")) and _chinese(kata.zh.get("description")), name
    assert len(kata.zh["hints"]) == len(kata.hints) and all(_chinese(h) for h in kata.zh["hints"]), name
    assert len(kata.hints) >= 4, "at least four progressive hints"
    for mistake in katas.load_mistakes(kata.path):
        assert _chinese(mistake.title_zh) and _chinese(mistake.fix_zh), f"{name}: {mistake.name} has no Chinese title/fix"
