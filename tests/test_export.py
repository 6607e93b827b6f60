"""`attnquiz export anki` and `attnquiz export markdown`: the deck opens as an Anki package with one
note per question and stable GUIDs, the cheat sheet groups by topic and --missed picks what the
store says was missed; bad options are one line and exit 2.

End-to-end tests run the console script installed beside this Python, from a folder outside the
checkout (see test_installed.py); the deck is read back with zipfile and sqlite3, and, where Anki's
own library is installed (the test extra brings it), imported the way Anki imports it.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from attnquiz import export
from attnquiz.bank import check as check_bank
from attnquiz.bank import load_bank
from attnquiz.store import Store

DATA = Path(__file__).parent / "data"
SAMPLE = {q.id: q for q in check_bank([DATA / "sample-bank.yaml"])[0]}
SAMPLE_ARGS = ["--bank", str(DATA / "sample-bank.yaml"), "--topic", "sample", "--topic", "sample-numbers"]
SCRIPT = Path(sys.executable).parent / ("attnquiz.exe" if os.name == "nt" else "attnquiz")
NOW = "2026-01-31T09:00:00Z"
T0 = datetime(2026, 1, 21, 9, 0, tzinfo=timezone.utc)  # ten days before NOW
AT = datetime(2026, 1, 31, 9, 0, tzinfo=timezone.utc)


def attnquiz(*args: str, cwd: Path, now: str = NOW, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a learner's shell runs it (ATTNQUIZ_HOME from the autouse fixture)."""
    full = {**os.environ, "ATTNQUIZ_NOW": now, "COLUMNS": "200", **(env or {})}
    full.pop("PYTHONPATH", None)
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, env=full, timeout=120)


def read_deck(path: Path, scratch: Path) -> dict[str, dict]:
    """The notes of an .apkg by question id: guid, tags, model id and the fields by name."""
    assert zipfile.is_zipfile(path)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
        collection = next(name for name in ("collection.anki21", "collection.anki2") if name in names)
        assert json.loads(archive.read("media")) == {}
        database = archive.extract(collection, scratch / f"unpacked-{path.stem}")
    conn = sqlite3.connect(database)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        models = json.loads(conn.execute("SELECT models FROM col").fetchone()[0])
        decks = json.loads(conn.execute("SELECT decks FROM col").fetchone()[0])
        field_names = {int(mid): [f["name"] for f in model["flds"]] for mid, model in models.items()}
        notes = {}
        for guid, mid, flds, tags in conn.execute("SELECT guid, mid, flds, tags FROM notes"):
            fields = dict(zip(field_names[mid], flds.split("\x1f")))
            notes[fields["Id"]] = {"guid": guid, "mid": mid, "tags": tags.split(), "fields": fields}
        cards = conn.execute("SELECT count(*), count(DISTINCT did) FROM cards").fetchone()
        card_decks = {row[0] for row in conn.execute("SELECT DISTINCT did FROM cards")}
    finally:
        conn.close()
    assert cards[0] == len(notes), "one card per note"
    assert card_decks == {export.DECK_ID} and decks[str(export.DECK_ID)]["name"] == export.DECK_NAME
    return notes


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# --------------------------------------------------------------------------- the deck, end to end


def test_the_deck_is_a_valid_anki_package_with_one_note_per_question(outside, tmp_path):
    result = attnquiz("export", "anki", "--lang", "en", cwd=outside)
    assert result.returncode == 0, result.stderr
    deck = outside / export.DEFAULT_APKG
    bank = load_bank().questions
    assert f"{len(bank)} notes" in result.stdout and export.DEFAULT_APKG in result.stdout
    notes = read_deck(deck, tmp_path)
    assert sorted(notes) == sorted(q.id for q in bank)
    assert {note["mid"] for note in notes.values()} == {export.MODEL_ID}
    assert len({note["guid"] for note in notes.values()}) == len(bank)
    for q in bank:
        note = notes[q.id]
        fields = note["fields"]
        for name in ("Id", "Topic", "Kind", "Prompt", "Answer", "Explanation", "Source"):
            assert fields[name].strip(), f"{q.id}: empty {name}"
        assert fields["Topic"] == q.topic and f"attnquiz::{q.topic}" in note["tags"]
        assert note["guid"] == export.note_guid(q.id)
        if q.choices:  # the options stay, in the written order, and the answer names the right ones
            assert fields["Choices"].count("<li>") == len(q.choices), q.id
            if q.answer_mode in ("single", "multi"):
                assert all(f"<b>{'ABCDEFGHIJ'[i]}.</b>" in fields["Answer"] for i in q.correct_indices()), q.id
        else:
            assert fields["Choices"] == ""
        if q.code:
            assert fields["Code"].startswith("<pre><code") and "<" not in re.sub(r"</?(pre|code|span)[^>]*>", "", fields["Code"])
        assert not re.search(r"[\u4e00-\u9fff]", fields["Prompt"]), f"{q.id}: Chinese in an English deck"


def test_a_second_export_has_the_same_guids_and_replaces_the_first(outside, tmp_path):
    first = attnquiz("export", "anki", *SAMPLE_ARGS, "--out", "deck.apkg", cwd=outside)
    assert first.returncode == 0, first.stderr
    guids = {qid: note["guid"] for qid, note in read_deck(outside / "deck.apkg", tmp_path / "1").items()}
    second = attnquiz("export", "anki", *SAMPLE_ARGS, "--out", "deck.apkg", "--lang", "zh", cwd=outside, now="2026-02-01T09:00:00Z")
    assert second.returncode == 0, second.stderr
    assert "replaced" in second.stdout or "替换" in second.stdout
    again = read_deck(outside / "deck.apkg", tmp_path / "2")
    assert {qid: note["guid"] for qid, note in again.items()} == guids
    assert sorted(guids) == sorted(SAMPLE)
    assert "哪个函数" in again["sample.single"]["fields"]["Prompt"]


def test_guids_are_pinned_to_question_ids():
    """The same GUID on every machine and every run: a value computed once, written down."""
    assert export.note_guid("scaling.why-sqrt-dk") == "MxFRgwl5-}"
    assert export.note_guid("sample.single") == "b,A5hJW$Cg"
    assert export.note_guid("sample.multi") != export.note_guid("sample.single")


def test_topic_and_language_selection(outside, tmp_path):
    result = attnquiz("export", "anki", "--topic", "masking", "--topic", "scaling", "--lang", "zh", "--out", "zh.apkg", cwd=outside)
    assert result.returncode == 0, result.stderr
    notes = read_deck(outside / "zh.apkg", tmp_path / "zh")
    bank = load_bank().questions
    assert sorted(notes) == sorted(q.id for q in bank if q.topic in ("masking", "scaling"))
    assert all(re.search(r"[\u4e00-\u9fff]", n["fields"]["Prompt"]) for n in notes.values())
    assert all(n["fields"]["Kind"].split(" · ")[0] in ("单选", "多选", "判断", "数值", "简答", "自由回忆", "找 bug") for n in notes.values())

    both = attnquiz("export", "anki", *SAMPLE_ARGS, "--lang", "both", "--out", "both.apkg", cwd=outside)
    assert both.returncode == 0, both.stderr
    fields = read_deck(outside / "both.apkg", tmp_path / "both")["sample.single"]["fields"]
    assert '<div class="en" lang="en">' in fields["Prompt"] and '<div class="zh" lang="zh">' in fields["Prompt"]
    assert "Which function" in fields["Prompt"] and "哪个函数" in fields["Prompt"]
    assert "softmax 让每一行" in fields["Explanation"] and "Softmax makes" in fields["Explanation"]
    assert fields["Choices"].count("softmax") == 1, "a choice that reads the same in both languages shows once"


def test_a_file_attnquiz_did_not_write_is_kept_unless_forced(outside, tmp_path):
    mine = outside / "mine.apkg"
    mine.write_bytes(b"my own deck")
    refused = one_line_error(attnquiz("export", "anki", *SAMPLE_ARGS, "--out", "mine.apkg", cwd=outside))
    assert "mine.apkg" in refused and "--force" in refused
    assert mine.read_bytes() == b"my own deck"
    assert [p.name for p in outside.iterdir()] == ["mine.apkg"], "no temporary file left behind"
    forced = attnquiz("export", "anki", *SAMPLE_ARGS, "--out", "mine.apkg", "--force", cwd=outside)
    assert forced.returncode == 0, forced.stderr
    assert len(read_deck(mine, tmp_path)) == len(SAMPLE)

    folder = outside / "decks"
    folder.mkdir()
    into = attnquiz("export", "anki", *SAMPLE_ARGS, "--out", "decks", cwd=outside)
    assert into.returncode == 0, into.stderr
    assert (folder / export.DEFAULT_APKG).is_file()


@pytest.mark.parametrize(
    "args, names",
    [
        (["anki", "--lang", "fr"], ["--lang", "fr"]),
        (["anki", "--out", "no-such-folder/deck.apkg"], ["no-such-folder"]),
        (["anki", "--out", "deck.txt"], ["deck.txt", ".apkg"]),
        (["anki", "--topic", "no-such-topic"], ["--topic", "no-such-topic"]),
        (["markdown", "--lang", "both"], ["--lang", "both"]),
        (["markdown", "--out", "no-such-folder/sheet.md"], ["no-such-folder"]),
        (["markdown", "--topic", "no-such-topic"], ["--topic", "no-such-topic"]),
        (["anki", "--colour"], ["--colour"]),
    ],
)
def test_bad_options_are_one_line_and_exit_2(outside, args, names):
    line = one_line_error(attnquiz("export", *args, cwd=outside))
    for name in names:
        assert name in line
    assert list(outside.iterdir()) == []


def test_without_genanki_the_deck_is_one_line_that_says_what_to_install(tmp_path):
    block = (
        "import runpy, sys\n"
        "sys.modules['genanki'] = None  # as if it were not installed\n"
        "sys.argv = ['attnquiz', *sys.argv[1:]]\n"
        "runpy.run_module('attnquiz', run_name='__main__')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", block, "export", "anki", *SAMPLE_ARGS], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    line = one_line_error(result)
    assert "genanki" in line and "attnquiz[export]" in line
    assert list(tmp_path.glob("*.apkg")) == []


def test_the_cli_and_the_core_import_nothing_heavy_up_front():
    def loaded(code: str, names: tuple[str, ...]) -> list[str]:
        probe = f"import sys, {code}; print([m for m in {names!r} if m in sys.modules])"
        return json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.replace("'", '"'))

    assert loaded("attnquiz.export", ("typer", "rich", "genanki", "fsrs", "torch")) == []
    assert loaded("attnquiz.cli", ("attnquiz.export", "genanki")) == [], "the export is loaded at every start-up"


@pytest.mark.skipif(not __import__("importlib").util.find_spec("anki"), reason="Anki's library (the test extra) is not installed")
def test_anki_imports_the_deck_and_a_reimport_updates_instead_of_duplicating(outside, tmp_path):
    from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
    from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition

    if_newer = ImportAnkiPackageUpdateCondition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER
    col = Collection(str(tmp_path / "collection.anki2"))
    try:

        def import_(name: str, now: str, *args: str):
            result = attnquiz("export", "anki", *SAMPLE_ARGS, *args, "--out", name, cwd=outside, now=now)
            assert result.returncode == 0, result.stderr
            options = ImportAnkiPackageOptions(update_notes=if_newer, update_notetypes=if_newer, with_scheduling=False)
            return col.import_anki_package(ImportAnkiPackageRequest(package_path=str(outside / name), options=options)).log

        first = import_("en.apkg", NOW, "--lang", "en")
        assert (len(first.new), len(first.updated), len(first.duplicate)) == (len(SAMPLE), 0, 0)
        assert col.note_count() == len(SAMPLE)
        note = col.get_note(col.find_notes("Id:sample.single")[0])
        assert "Which function" in note["Prompt"]
        second = import_("zh.apkg", "2026-02-01T09:00:00Z", "--lang", "zh")
        assert (len(second.new), len(second.updated), len(second.duplicate)) == (0, len(SAMPLE), 0)
        assert col.note_count() == len(SAMPLE)
        assert "哪个函数" in col.get_note(note.id)["Prompt"]
        card = col.get_note(note.id).cards()[0]
        assert "softmax" in card.question() and "Vaswani" in card.answer()
    finally:
        col.close()


# --------------------------------------------------------------------------- the deck's fields, as data


def test_light_markdown_becomes_html_with_code_monospace_and_text_escaped():
    text = "Use `a<b`, **bold** and *x*, not <script>.\nStill the same paragraph.\n\n- one\n  more of one\n- two\n\n3. third"
    assert export.markup_html(text) == (
        "<div>Use <code>a&lt;b</code>, <b>bold</b> and <i>x</i>, not &lt;script&gt;. Still the same paragraph.</div>"
        "<ul><li>one more of one</li><li>two</li></ul>"
        '<ol><li value="3">third</li></ol>'
    )
    assert export.markup_html("中文换行\n继续") == "<div>中文换行继续</div>"
    bug = export.code_html(SAMPLE["sample.bug"])
    assert bug.startswith('<pre><code class="language-python">') and '<span class="ln">1</span>  scores = q @ k' in bug
    assert export.code_html(SAMPLE["sample.single"]) == ""


def test_every_question_type_keeps_its_answer():
    def fields(qid: str, *langs: str) -> dict[str, str]:
        return export.anki_fields(SAMPLE[qid], langs or ("en",))

    multi = fields("sample.multi")
    assert multi["Answer"] == "<b>A.</b> queries<br><b>B.</b> keys<br><b>D.</b> values"
    assert multi["Choices"].startswith('<ol type="A" class="choices"><li>queries</li>')
    assert fields("sample.truefalse")["Answer"] == "false" and fields("sample.truefalse", "zh")["Answer"] == "错"
    assert fields("sample.numeric")["Answer"] == "1,050,624 parameters"
    assert fields("sample.numeric", "zh")["Answer"] == "1,050,624 个参数"
    short = fields("sample.short", "zh")["Answer"]
    assert short.startswith("根号 d_k") and all(a in short for a in SAMPLE["sample.short"].accept)
    recall = fields("sample.recall")["Answer"]
    assert "Each position mixes the values" in recall and "<li>weighted sum of values</li>" in recall
    assert fields("sample.bug")["Answer"] == "<b>A.</b> No 1/√d_k scaling"
    assert fields("sample.single")["Kind"] == "single choice · easy"
    assert fields("sample.single", "en", "zh")["Kind"] == "single choice · easy / 单选 · 简单"


# --------------------------------------------------------------------------- the cheat sheet


def _sections(markdown: str) -> list[tuple[str, list[str]]]:
    """(topic, question ids) in the order the sheet shows them."""
    out: list[tuple[str, list[str]]] = []
    for line in markdown.splitlines():
        if line.startswith("## "):
            out.append((line[3:], []))
        elif line.startswith("### "):
            out[-1][1].append(line[4:])
    return out


def test_the_cheat_sheet_groups_every_question_by_topic(outside):
    result = attnquiz("export", "markdown", "--lang", "en", cwd=outside)
    assert result.returncode == 0, result.stderr
    assert list(outside.iterdir()) == [], "without --out the sheet goes to standard output only"
    bank = load_bank().questions
    sections = _sections(result.stdout)
    assert [topic for topic, _ in sections] == list(dict.fromkeys(q.topic for q in bank))
    by_id = {q.id: q for q in bank}
    assert sorted(qid for _, ids in sections for qid in ids) == sorted(by_id)
    assert all(by_id[qid].topic == topic for topic, ids in sections for qid in ids)
    assert result.stdout.startswith(export.SHEET_MARK)
    assert "**Answer:**" in result.stdout and "**Why:**" in result.stdout and "```python" in result.stdout


def test_the_cheat_sheet_speaks_the_chosen_language(outside):
    zh = attnquiz("export", "markdown", *SAMPLE_ARGS, "--lang", "zh", cwd=outside)
    assert zh.returncode == 0, zh.stderr
    assert [t for t, _ in _sections(zh.stdout)] == ["sample", "sample-numbers"]
    assert "哪个函数把注意力分数变成权重" in zh.stdout and "**答案：** B. softmax" in zh.stdout
    assert "Which function" not in zh.stdout
    en = attnquiz("export", "markdown", *SAMPLE_ARGS, "--lang", "en", cwd=outside)
    assert "**Answer:** 1,050,624 parameters" in en.stdout and "**Answer:** false" in en.stdout
    assert "4\\*512" not in en.stdout  # numbers are not mangled; accepted answers are escaped, not dropped
    assert "sqrt(d_k)" in en.stdout


def _record(store: Store, qid: str, correct: bool, at: datetime, rating: str | None = None) -> None:
    store.record_answer(qid, "scripted", correct, rating or ("good" if correct else "again"), 3.0, at)


def test_missed_selects_only_answers_wrong_last_time_or_weak_now(outside):
    with Store.open() as store:
        store.begin_session(T0)
        _record(store, "sample.single", True, T0)  # right once, ten days ago: FSRS recall has fallen under 90%
        _record(store, "sample.multi", True, T0)
        _record(store, "sample.multi", False, AT - timedelta(hours=1))  # wrong last time
        _record(store, "sample.truefalse", False, T0)
        _record(store, "sample.truefalse", True, AT - timedelta(hours=2))  # wrong once, right since: not missed
        _record(store, "sample.numeric", True, AT - timedelta(days=1), "easy")  # known well
        cards = {qid: card.card for qid, card in store.cards().items()}
        answers = [(a.question_id, a.correct) for a in store.answers()]
    records = export.records(answers, cards, AT)
    assert records["sample.single"].recall < export.WEAK_RECALL <= records["sample.numeric"].recall
    assert records["sample.truefalse"] == records["sample.truefalse"]._replace(answers=2, right=1, last_correct=True)

    result = attnquiz("export", "markdown", *SAMPLE_ARGS, "--missed", "--lang", "en", cwd=outside)
    assert result.returncode == 0, result.stderr
    assert _sections(result.stdout) == [("sample", ["sample.multi", "sample.single"])]
    assert "you: 1/2 right, the last one wrong" in result.stdout
    assert re.search(r"you: 1/1 right, recall now [0-8]\d%", result.stdout)
    assert "FSRS" in result.stdout  # the sheet states its rule

    written = attnquiz("export", "markdown", *SAMPLE_ARGS, "--missed", "--lang", "zh", "--out", "missed.md", cwd=outside)
    assert written.returncode == 0, written.stderr
    sheet = (outside / "missed.md").read_text(encoding="utf-8")
    assert _sections(sheet) == [("sample", ["sample.multi", "sample.single"])] and "最近一次答错" in sheet and "现在记得的概率" in sheet


def test_missed_with_nothing_missed_writes_nothing_and_says_so(outside):
    with Store.open() as store:
        _record(store, "sample.single", True, AT - timedelta(minutes=30), "easy")
    result = attnquiz("export", "markdown", *SAMPLE_ARGS, "--missed", "--out", "sheet.md", "--lang", "en", cwd=outside)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and "--missed" in result.stderr and "1 answered" in result.stderr
    assert list(outside.iterdir()) == []


def test_a_sheet_replaces_an_earlier_sheet_but_not_another_file(outside):
    notes = outside / "notes.md"
    notes.write_text("# my own notes\n", encoding="utf-8")
    line = one_line_error(attnquiz("export", "markdown", *SAMPLE_ARGS, "--out", "notes.md", cwd=outside))
    assert "notes.md" in line and "--force" in line
    assert notes.read_text(encoding="utf-8") == "# my own notes\n"
    for _ in range(2):  # the second run replaces the sheet the first one wrote
        result = attnquiz("export", "markdown", *SAMPLE_ARGS, "--out", "sheet.md", "--lang", "en", cwd=outside)
        assert result.returncode == 0, result.stderr
    assert "replaced" in result.stdout
    assert sorted(p.name for p in outside.iterdir()) == ["notes.md", "sheet.md"]
    assert len(_sections((outside / "sheet.md").read_text(encoding="utf-8"))[0][1]) == 6
