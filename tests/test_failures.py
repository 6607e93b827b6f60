"""Failures you can see: a failed check's case (inputs, worst element), the attention weights drawn
beside the reference's, and `attnquiz hint` answering the first failing check.

The renderer is tested on plain data; the rest through real gradings of known mistakes with the
console script, from a folder outside the checkout.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from rich.console import Console
from rich.text import Text

from attnquiz import failures, katas
from attnquiz.grading import runner
from attnquiz.grading.suite import HEAT_SIDE, Helpers, Mismatch, case_record

SCRIPT = Path(sys.executable).parent / ("attnquiz.exe" if os.name == "nt" else "attnquiz")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _causal_case(length: int = 5) -> dict:
    """A causal case as the CLI receives it: the learner's weights leak into the upper triangle."""
    ref = torch.softmax(torch.randn(length, length, generator=torch.Generator().manual_seed(0)).masked_fill(
        ~torch.ones(length, length, dtype=torch.bool).tril(), float("-inf")), dim=-1)  # fmt: skip
    yours = torch.full((length, length), 1.0 / length)
    yours[2, 2] = float("nan")
    side = lambda m: {"at": [0, 1], "rows": length, "cols": length, "row0": 0, "col0": 0, "values": m.tolist()}  # noqa: E731
    raw = {
        "inputs": [{"name": "q", "shape": [1, 2, length, 4], "dtype": "float32"}, {"name": "key_padding_mask", "value": "None"}],
        "what": "weights for B=1 H=2", "shape": [1, 2, length, length], "dtype": "float32",
        "index": [0, 1, 0, 1], "got": 0.2, "expected": 0.0,
        "weights": {"yours": side(yours), "reference": side(ref)},
    }  # fmt: skip
    raw["weights"]["yours"]["values"][2][2] = None  # NaN arrives as None
    case = runner.parse_case(json.loads(json.dumps(raw)))
    assert case is not None
    return case


def _grid(lines: list[str], title: str) -> tuple[list[list[str]], list[list[str]]]:
    """The digit cells (yours, reference) of the drawing that follows the line holding TITLE."""
    start = next(i for i, line in enumerate(lines) if title in line) + 1  # the title, then the column header
    header = lines[start].split()
    width = header.index("q\\k", 1) - 1  # columns of the learner's block
    yours, reference = [], []
    for line in lines[start + 1 :]:
        tokens = line.split()
        if not tokens or not tokens[0].isdigit():
            break
        yours.append(tokens[1 : 1 + width])
        reference.append(tokens[2 + width :])
    return yours, reference


def test_without_colour_each_weight_is_a_digit_and_exact_zeros_are_dots():
    lines = failures.plain_text(failures.heatmap_lines(_causal_case()["weights"], color=False, lang="en")).splitlines()
    yours, reference = _grid(lines, "your weights (0, 1, :, :)")
    assert len(reference) == 5 and all(len(row) == 5 for row in reference + yours)
    for i, row in enumerate(reference):
        assert [cell == "·" for cell in row] == [j > i for j in range(5)], "the upper triangle must be drawn empty"
        assert all(cell.isdigit() for cell in row[: i + 1])
    assert reference[0][0] == "9", "a weight of 1 is the top digit"
    assert yours[2][2] == "!" and yours[0] == ["2"] * 5  # NaN, and 0.2 everywhere else
    assert "\x1b" not in "\n".join(lines)
    assert any("· = exactly 0" in line for line in lines)


def test_with_colour_weights_are_shaded_blank_where_zero_and_leaks_are_marked():
    drawn = failures.heatmap_lines(_causal_case()["weights"], color=True, lang="en")
    console = Console(width=120, force_terminal=True, color_system="truecolor", record=True, file=open(os.devnull, "w"))
    for line in drawn:
        console.print(Text.assemble(*line))
    ansi = console.export_text(styles=True)
    assert "\x1b[" in ansi and "48;2;" in ansi, "cells carry a background colour"
    assert "your weights" in drawn[0][0][0]
    for i, line in enumerate(drawn[2:7]):  # a row: its label, five cells, a gap, the reference's label and cells
        mine = line[1:6]
        assert not any(ch.isdigit() for text, _ in mine + line[-5:] for ch in text), "no digits with colour"
        assert [text == " ×" for text, _ in mine] == [j > i and not (i == j == 2) for j in range(5)], "a leak into the future is marked"
        theirs = line[-5:]
        assert [style == "" for _, style in theirs] == [j > i for j in range(5)], "exactly 0 is blank"
    assert drawn[4][3] == ("!!", "bold white on red")
    assert any("purple" in text for line in drawn for text, _ in line)


def test_the_drawing_follows_the_language_and_keeps_its_columns_in_chinese():
    case = _causal_case()
    zh = failures.plain_text(failures.heatmap_lines(case["weights"], color=False, lang="zh")).splitlines()
    en = failures.plain_text(failures.heatmap_lines(case["weights"], color=False, lang="en")).splitlines()
    assert "你的权重" in zh[0] and "参考" in zh[0] and "恰好为 0" in "\n".join(zh)
    assert _grid(zh, "你的权重") == _grid(en, "your weights")
    # The reference's block starts in the same column on every line (a Chinese character is two wide).
    assert zh[2].index(" 0", 4) == zh[6].index(" 4", 4)


def test_the_case_block_names_the_inputs_the_shape_and_the_worst_element():
    case = _causal_case()
    en = failures.case_lines(case, "en")
    assert en[0] == "inputs: q (1, 2, 5, 4) float32 · key_padding_mask = None"
    assert en[1] == "checked: weights for B=1 H=2, shape (1, 2, 5, 5) float32"
    assert en[2] == "worst at (0, 1, 0, 1): got 0.2, expected 0"
    zh = failures.case_lines(case, "zh")
    assert zh[0].startswith("输入：q (1, 2, 5, 4)") and "你的值 0.2" in zh[2]
    wrong_shape = failures.case_lines({"what": "output", "shape": [2, 3], "got_shape": [3, 2]}, "en")
    assert wrong_shape == ["checked: output: your shape (3, 2), expected (2, 3)"]


def test_the_cli_trusts_only_well_formed_bounded_cases():
    nasty = {
        "inputs": [{"name": "q\x1b[2J", "shape": [2, 3], "dtype": "float32"}, {"name": "n", "shape": [True]}, "junk"] + [{"name": f"x{i}", "value": "1"} for i in range(20)],
        "what": "weights\r\x07" + "w" * 500, "index": [0, "1"], "got": float("nan"), "expected": "nan",
        "weights": {"yours": {"at": [0], "rows": 30, "cols": 30, "row0": 0, "col0": 0, "values": [[0.5] * 13] * 13},
                    "reference": {"at": [0], "rows": 2, "cols": 2, "row0": 0, "col0": 0, "values": [[1.0, 0.0], [0.5, 0.5]]}},
    }  # fmt: skip
    case = runner.parse_case(nasty)
    assert case is not None
    assert case["inputs"][0] == {"name": "q[2J", "shape": [2, 3], "dtype": "float32"}
    assert len(case["inputs"]) == runner.CASE_INPUTS and all(i["name"] != "n" for i in case["inputs"])
    assert len(case["what"]) <= 201 and "\r" not in case["what"] and "\x07" not in case["what"]
    assert "index" not in case and "got" not in case and case["expected"] == "nan"
    assert "weights" not in case, "a 13 x 13 matrix is over the bound: no drawing at all"
    assert runner.parse_case("a string") is None and runner.parse_case({}) is None


def test_the_judge_reports_the_inputs_the_worst_element_and_a_bounded_window_around_it():
    h = Helpers()
    q = torch.randn(2, 3, 20, 8, dtype=torch.float32)
    expected = torch.softmax(torch.randn(2, 3, 20, 20, dtype=torch.float64), dim=-1)
    got = expected.clone().float()
    got[1, 2, 15, 17] += 0.5
    h.case(q=q, window=3, mask=None, weights=(got, expected))
    with pytest.raises(Mismatch) as caught:
        h.close(got, expected, "weights for window=3", dtype=torch.float32)
    case = runner.parse_case(json.loads(json.dumps(case_record(h, caught.value))))
    assert case["inputs"] == [
        {"name": "q", "shape": [2, 3, 20, 8], "dtype": "float32"}, {"name": "window", "value": "3"}, {"name": "mask", "value": "None"}
    ]  # fmt: skip
    assert case["index"] == [1, 2, 15, 17] and case["shape"] == [2, 3, 20, 20]
    assert case["got"] == pytest.approx(float(got[1, 2, 15, 17]), rel=1e-3) and case["expected"] == pytest.approx(float(expected[1, 2, 15, 17]), rel=1e-3)
    mine = case["weights"]["yours"]
    assert mine["at"] == [1, 2] and len(mine["values"]) == len(mine["values"][0]) == HEAT_SIDE
    assert mine["row0"] <= 15 < mine["row0"] + HEAT_SIDE and mine["col0"] <= 17 < mine["col0"] + HEAT_SIDE
    assert mine["values"][15 - mine["row0"]][17 - mine["col0"]] == pytest.approx(float(got[1, 2, 15, 17]), rel=1e-2)
    assert case_record(Helpers(), AssertionError("a plain assert")) is None


def test_hints_answer_the_first_failing_check_then_go_on_in_order():
    kata = katas.load_kata("attention")
    mask, nan = kata.hints_for("mask_2d"), kata.hints_for("fully_masked_rows")
    assert mask and nan and 1 not in mask + nan
    choose = katas.choose_hint
    assert choose(kata, frozenset(), ["mask_2d", "gradients"]) == (mask[0], "mask_2d")
    assert choose(kata, frozenset(mask), ["mask_2d"]) == (1, None), "its hints seen: the next in order"
    assert choose(kata, frozenset(), ["gradients", "mask_2d"]) == (1, None), "only the FIRST failing check counts"
    assert choose(kata, frozenset(), ["shapes"]) == (1, None), "a check no hint names: in order"
    assert choose(kata, frozenset({1, 2}), []) == (3, None), "the last grading passed: in order"
    assert choose(kata, frozenset({1, 2}), None) == (3, None), "never graded: in order"
    every = frozenset(range(1, len(kata.hints) + 1))
    assert choose(kata, every, ["fully_masked_rows"]) == (nan[-1], "fully_masked_rows")
    assert choose(kata, every, ["shapes"]) == (len(kata.hints), None)


def test_a_hint_whose_checks_are_not_a_list_of_names_is_an_invalid_manifest(tmp_path, monkeypatch):
    import shutil

    from attnquiz.errors import UsageError

    shutil.copytree(katas.load_kata("attention").path, tmp_path / "attention")
    manifest = tmp_path / "attention" / "kata.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("checks: [mask_2d, mask_broadcast]", "checks: mask_2d"), encoding="utf-8")
    monkeypatch.setattr(katas, "katas_root", lambda: tmp_path)
    with pytest.raises(UsageError, match="kata.yaml") as caught:
        katas.load_kata("attention")
    assert "checks" in str(caught.value)


# --- through real gradings --------------------------------------------------------------------------


def _mistake(tmp_path: Path, kata_name: str, mistake: str) -> Path:
    kata = katas.load_kata(kata_name)
    variant = next(m for m in katas.load_mistakes(kata.path) if m.name == mistake)
    path = tmp_path / kata.entry
    path.write_text(variant.apply(kata.reference.read_text(encoding="utf-8")), encoding="utf-8")
    return path


def _cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """The installed console script, from a folder outside the checkout, with a clean colour setting."""
    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")}
    full.update(COLUMNS="120", **env)
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, env=full, timeout=180)


def test_the_smallest_failing_case_is_reported_with_both_weight_matrices(tmp_path):
    """The causal mask transposed (triu): L = 1 cases pass, and the first failing one of `shapes`
    is the smallest of the others, (3, 2, 7, 5); its drawing shows the two triangles swapped."""
    graded = _cli("grade", "causal", "--file", str(_mistake(tmp_path, "causal", "mask_transposed")), "--json", cwd=tmp_path)
    assert graded.returncode == 1, graded.stderr
    shapes = next(c for c in json.loads(graded.stdout)["checks"] if c["name"] == "shapes")
    case = shapes["case"]
    assert case["inputs"][0] == {"name": "q", "shape": [3, 2, 7, 5], "dtype": "float32"}
    assert case["inputs"][-1] == {"name": "key_padding_mask", "value": "None"}
    assert case["shape"] == [3, 2, 7, 7] and len(case["index"]) == 4
    yours, reference = case["weights"]["yours"]["values"], case["weights"]["reference"]["values"]
    assert len(yours) == len(reference) == 7
    for i in range(7):
        for j in range(7):
            assert (reference[i][j] == 0) == (j > i), "the reference keeps the lower triangle"
            assert (yours[i][j] == 0) == (j < i), "the transposed mask keeps the upper one"


def test_a_mask_mistake_is_drawn_with_digits_under_no_color_then_hint_answers_its_check(tmp_path):
    wrong = _mistake(tmp_path, "attention", "mask_ignored")
    graded = _cli("grade", "attention", "--file", str(wrong), "--lang", "en", cwd=tmp_path, NO_COLOR="1")
    assert graded.returncode == 1, graded.stderr
    out = graded.stdout
    assert "\x1b" not in out
    lines = out.splitlines()
    failed = next(i for i, line in enumerate(lines) if "✗ mask_2d" in line)
    assert lines[failed + 1].strip() == "inputs: q (2, 5, 8) float32 · k (2, 6, 8) float32 · v (2, 6, 4) float32 · mask (5, 6) bool"
    assert lines[failed + 3].strip().startswith("worst at (")
    yours, reference = _grid(lines[failed:], "your weights")
    mask = torch.rand(5, 6, generator=torch.Generator().manual_seed(1)) > 0.4  # the suite's mask_2d mask
    mask[:, 0] = True
    assert [[cell == "·" for cell in row] for row in reference] == (~mask).tolist(), "the masked keys are empty in the reference"
    assert not any(cell == "·" for row in yours for cell in row), "an ignored mask leaves no key empty"
    assert out.count("your weights") == 1, "only the first failed check is drawn"
    later = next(i for i, line in enumerate(lines) if "✗ fully_masked_rows" in line)
    assert lines[later + 1].strip().startswith("inputs: q (2, 3, 8)"), "later failures still show their case"

    hint = _cli("hint", "attention", "--lang", "en", cwd=tmp_path, NO_COLOR="1")
    kata = katas.load_kata("attention")
    assert hint.returncode == 0, hint.stderr
    mask_hint = kata.hints_for("mask_2d")[0]
    assert "mask_2d" in hint.stdout and f"Hint {mask_hint}/{len(kata.hints)}" in hint.stdout
    assert " ".join(kata.hints[mask_hint - 1].split()[:6]) in " ".join(hint.stdout.split())
    again = _cli("hint", "attention", "--lang", "en", cwd=tmp_path, NO_COLOR="1")
    assert f"Hint 1/{len(kata.hints)}" in again.stdout and "mask_2d" not in again.stdout, "then the next in order"


def test_with_colour_the_case_and_the_drawing_follow_lang_zh(tmp_path):
    wrong = _mistake(tmp_path, "causal", "padding_ignored")
    graded = _cli("grade", "causal", "--file", str(wrong), "--lang", "zh", cwd=tmp_path, FORCE_COLOR="1", TERM="xterm-256color", COLORTERM="truecolor")
    assert graded.returncode == 1, graded.stderr
    out = graded.stdout
    assert "\x1b[" in out and re.search(r"\x1b\[[0-9;]*48;", out), "the cells are shaded"
    plain = ANSI.sub("", out)
    assert "输入：q (3, 2, 6, 8) float32" in plain and "key_padding_mask (3, 6) bool" in plain
    assert "你的权重" in plain and "紫色" in plain and "差异最大处" in plain
    start = plain.index("你的权重")
    assert not re.search(r"^\s+\d( [\d·])+", plain[start : start + 600], re.M), "no digit grid with colour"
    hint = _cli("hint", "causal", "--lang", "zh", cwd=tmp_path)
    assert "right_padding" in hint.stdout and "上次评测" in hint.stdout, hint.stdout
