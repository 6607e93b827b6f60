"""attnquiz's own words in both languages, and grading messages that keep their template.

A grading message is a `Text`: the English (what --json, logs and most tests read) that also
keeps its key and arguments, crosses the judge's report as `key` + `args`, and is rebuilt by the
CLI only from a known template with plain arguments.
"""

from __future__ import annotations

import ast
import copy
import json
import pickle
import string
from pathlib import Path

import pytest

from attnquiz import grading, i18n, katas
from attnquiz.grading import runner
from attnquiz.i18n import GRADING, MESSAGES, Text, from_wire, localized

TOKEN = "t0k3n"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_has_both_languages_with_the_same_placeholders(key):
    entry = MESSAGES[key]
    assert set(entry) == {"en", "zh"}, f"{key}: languages {sorted(entry)}"
    assert entry["en"].strip() and entry["zh"].strip(), f"{key}: an empty text"
    assert _fields(entry["en"]) == _fields(entry["zh"]), f"{key}: the placeholders differ between en and zh"


def test_no_key_is_defined_twice():
    """MESSAGES.update(GRADING) would silently replace a command's line by a grading message."""
    tree = ast.parse(Path(i18n.__file__).read_text(encoding="utf-8"))
    literal = {
        node.target.id: [k.value for k in node.value.keys]
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Dict) and isinstance(node.target, ast.Name)
    }
    commands, grader = literal["MESSAGES"], literal["GRADING"]
    assert len(commands) == len(set(commands)) and len(grader) == len(set(grader))
    assert not set(commands) & set(grader)
    assert all(MESSAGES[k] is GRADING[k] for k in GRADING)


def test_a_text_is_its_english_and_renders_in_chinese():
    text = Text(
        "differs_by", what="output", against=Text("the_reference"), diff="0.5", index="(0, 1)", got="1", expected="0.5"
    )
    assert text == "output: differs from the reference by 0.5 at index (0, 1) (got 1, expected 0.5)"
    zh = text.in_lang("zh")
    assert _has_chinese(zh) and "参考实现" in zh and "(0, 1)" in zh and "output" in zh
    assert json.loads(json.dumps({"m": text})) == {"m": str(text)}
    for copied in (copy.deepcopy(text), pickle.loads(pickle.dumps(text)), copy.copy(text)):
        assert copied == text and copied.in_lang("zh") == zh
    listed = Text("items", items=[Text("uses_forbidden", line=3, name="torch.softmax"), "plain"])
    assert listed == "line 3: uses torch.softmax, which this kata forbids; plain"
    assert listed.in_lang("zh").endswith("；plain") and "第 3 行" in listed.in_lang("zh")
    assert localized("as it is", "zh") == "as it is" and localized(text, "en") == str(text)


@pytest.mark.parametrize(
    "key, args",
    [
        ("no_such_key", {}),
        ("err_os", {"where": "", "reason": "x"}),  # a command's line, not a grading message
        ("differs_by", {"what": "x"}),  # the template cannot be filled
        ("not_run", {"reason": None}),
        ("not_run", {"reason": True}),
        ("not_run", {"reason": {"key": "no_such_key", "args": {}}}),
        ("not_run", {"reason": {"key": "not_run", "args": {"reason": {"key": "not_run", "args": {"reason": {"key": "not_run", "args": {"reason": {"key": "not_run", "args": {"reason": {"key": "not_run", "args": {"reason": "deep"}}}}}}}}}}}),
        ("not_run", {"Reason!": "x"}),
        ("not_run", ["reason"]),
        (["not_run"], {}),
    ],
)
def test_a_template_from_a_report_must_be_a_known_grading_message_with_plain_arguments(key, args):
    rebuilt = from_wire("the English", key, args)
    assert type(rebuilt) is str and rebuilt == "the English"


def test_a_template_from_a_report_is_rebuilt_with_its_arguments_cleaned():
    args = {"reason": {"key": "killed_by", "args": {"signal": "SIG\x1bKILL"}}}
    rebuilt = from_wire("not run: …", "not_run", args, clean=lambda v: v.replace("\x1b", ""))
    assert isinstance(rebuilt, Text) and rebuilt == "not run: …"  # the English stays the judge's
    assert "SIGKILL" in rebuilt.in_lang("zh") and "\x1b" not in rebuilt.in_lang("zh") and _has_chinese(rebuilt.in_lang("zh"))


def _line(**record) -> bytes:
    return (json.dumps({**record, "token": TOKEN}) + "\n").encode()


def test_the_report_keeps_a_checks_template_and_drops_a_forged_one():
    english = "out: shape (2,), expected (3,)"
    wire = {"key": "wrong_shape", "args": {"what": "out", "got": "(2,)", "expected": "(3,)"}}
    report = runner.parse_report(
        _line(kind="check", cand="c0", check="shapes", status="failed", message=english, **wire)
        + _line(kind="check", cand="c0", check="masks", status="failed", message="forged", key="err_os", args={})
        + _line(kind="notice", text="file access is not confined: no Landlock", key="not_confined", args={"reason": "no Landlock"}),
        TOKEN,
    )
    status, message = report.candidates["c0"]["checks"]["shapes"]
    assert message == english and isinstance(message, Text) and "形状" in message.in_lang("zh")
    _, forged = report.candidates["c0"]["checks"]["masks"]
    assert type(forged) is str and forged == "forged"
    assert isinstance(report.notices[0], Text) and _has_chinese(report.notices[0].in_lang("zh"))


def test_runner_messages_are_texts():
    outcome = runner.JudgeOutcome(returncode=None, timed_out=True, tail="")
    checks = runner._judged_checks({"checks": {}, "running": "shapes"}, ["shapes", "masks"], outcome, 7)
    by_name = {c.name: c.message for c in checks}
    assert by_name["shapes"] == "did not finish within the 7 s time limit (an infinite loop?)"
    assert by_name["masks"] == "not run: the 7 s time limit was reached"
    for message in by_name.values():
        assert isinstance(message, Text) and "7" in message.in_lang("zh") and _has_chinese(message.in_lang("zh"))


def test_real_grading_messages_come_with_their_template(tmp_path):
    """One judge grades files that fail in the grader's own words: a comparison in the suite's
    `h` helper, a missing name (the worker), a syntax error (the CLI), a forbidden call seen while
    running (the worker's guard). Each message is the English as before, and has a Chinese form."""
    kata = katas.load_kata("multihead")
    reference = kata.reference.read_text(encoding="utf-8")
    mistake = next(m for m in katas.load_mistakes(kata.path) if m.name == "merge_without_transpose")
    sources = {
        "mistake": mistake.apply(reference),
        "missing": "x = 1\n",
        "syntax": "def broken(:\n",
        "forbidden": reference.replace("import math\n", "import math\nimport importlib\n", 1).replace(
            "return self.out_proj(y)",
            "getattr(importlib.import_module('torch.nn.functional'), 'scaled_dot_' + 'product_attention')(q, k, v)\n        return self.out_proj(y)",
        ),
    }
    files = []
    for name, source in sources.items():
        path = tmp_path / name / kata.entry
        path.parent.mkdir()
        path.write_text(source, encoding="utf-8")
        files.append(path)
    mistaken, missing, syntax, forbidden = grading.grade_many(kata, files, timeout=120)

    def check(result, name):
        return next(c for c in result.checks if c.name == name)

    shapes = check(mistaken, "shapes").message
    assert "differs from the reference by" in shapes and isinstance(shapes, Text) and shapes.key == "differs_by"
    assert "参考实现" in shapes.in_lang("zh") and "differs" not in shapes.in_lang("zh")
    loads = check(missing, "loads").message
    assert "defines no `MultiHeadSelfAttention`" in loads and isinstance(loads, Text)
    assert "MultiHeadSelfAttention" in loads.in_lang("zh") and _has_chinese(loads.in_lang("zh"))
    assert check(missing, "shapes").message == "not run: the file did not load"
    assert _has_chinese(localized(check(missing, "shapes").message, "zh"))
    bad = check(syntax, "syntax").message
    assert bad.startswith("SyntaxError at multihead.py line 1") and isinstance(bad, Text) and "第 1 行" in bad.in_lang("zh")
    assert _has_chinese(localized(check(syntax, "loads").message, "zh"))
    caught = check(forbidden, "no_forbidden_calls")
    assert caught.status == "failed" and "scaled_dot_product_attention" in caught.message
    assert "禁止" in localized(caught.message, "zh") and "scaled_dot_product_attention" in localized(caught.message, "zh")
