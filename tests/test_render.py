"""How text looks: mixed Chinese/English wrapping, narrow terminals, piped output never cut."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from attnquiz import katas
from attnquiz.bank import check as check_bank
from attnquiz.markup import Wrapped, highlight_python, render, wrap

DATA = Path(__file__).parent / "data"
MIXED = (
    "在缩放点积注意力中，为什么要把 QK^T 除以 sqrt(d_k)？这是因为当维度 d_k 很大的时候，点积的方差会变大，"
    "softmax 会进入饱和区域，梯度变得非常小，训练就会变慢。"
)


def _lines(renderable, width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text().rstrip("\n").split("\n")


@pytest.mark.parametrize("width", [24, 30, 40, 57, 80])
def test_mixed_chinese_and_english_wraps_full_lines_without_breaking_words(width):
    lines = _lines(render(MIXED), width)
    english = set(re.findall(r"[A-Za-z_^()]+", MIXED))
    for i, line in enumerate(lines):
        assert cell_len(line) <= width
        for word in re.findall(r"[A-Za-z_^()]+", line):
            assert word in english, f"an English word was split: {word!r} in {line!r}"
        if i < len(lines) - 1:  # no half-empty line: the next line's first piece would not have fitted
            nxt = lines[i + 1].lstrip()
            first = re.match(r"[A-Za-z_^()0-9.]+|.", nxt).group(0)
            assert cell_len(line.rstrip()) + cell_len(first) + 1 > width, (line, nxt)
    assert "".join(lines).replace(" ", "") == MIXED.replace(" ", "")


def test_list_items_and_code_indent_their_continuation_lines():
    item = _lines(render("- 第二个要点：很长的中文要点需要换行才能显示完整的内容，再多写一点"), 24)
    assert item[0].startswith("  • ") and all(line.startswith("    ") for line in item[1:]), item
    code = "def f(q, k):\n    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(k.size(-1)), dim=-1)\n"
    lines = _lines(Wrapped(highlight_python(code, line_numbers=True), code=True), 40)
    assert lines[1].startswith("2     return") and len(lines) > 3
    assert all(line.startswith(" " * 10) for line in lines[2:]), lines


def test_a_word_wider_than_the_line_is_folded_not_lost():
    out = wrap(Text("x" * 50 + " tail"), 20)
    assert [len(line.plain) for line in out] == [20, 20, 15] and out[-1].plain.endswith("tail")


def _attnquiz(*args: str, columns: int, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "attnquiz", *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("columns", [40, 60])
def test_a_narrow_terminal_keeps_the_question_header_whole(columns):
    result = _attnquiz("ask", "--bank", str(DATA), "--id", "sample.numeric", "--lang", "en", columns=columns, stdin="\n")
    assert result.returncode == 0, result.stderr
    inside = " ".join(line.strip("│╭╮╰╯─ ") for line in result.stdout.splitlines())
    assert "Question 1/1 · sample-numbers · numeric · hard" in " ".join(inside.split()), result.stdout[:600]
    assert all(cell_len(line) <= columns for line in result.stdout.splitlines())


def test_piped_bank_list_keeps_every_id_and_source_whole():
    result = _attnquiz("bank", "list", columns=80)
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    questions = check_bank(None)[0]
    assert len(rows) == len(questions) and all(len(row) == 5 for row in rows)
    assert {row[0] for row in rows} == {q.id for q in questions}
    assert {row[4] for row in rows} == {q.source for q in questions}


def test_piped_solution_is_the_file_as_it_is():
    kata = katas.load_kata("multihead")
    result = _attnquiz("solution", "multihead", "--give-up", columns=80)
    assert result.returncode == 0 and result.stdout == kata.reference.read_text(encoding="utf-8")
