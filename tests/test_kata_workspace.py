"""Workspaces never lose the learner's work; progress lives in one small JSON file."""

from __future__ import annotations

import json

import pytest

from attnquiz import katas
from attnquiz.errors import UsageError


def test_existing_work_is_never_overwritten(tmp_path):
    kata = katas.load_kata("multihead")
    first = katas.create_workspace(kata, tmp_path / "ws")
    assert first.created
    first.entry.write_text("# my work\n")
    again = katas.create_workspace(kata, tmp_path / "ws")
    assert not again.created and again.backup is None
    assert first.entry.read_text() == "# my work\n"


def test_reset_restores_the_starter_and_keeps_a_backup(tmp_path):
    kata = katas.load_kata("multihead")
    ws = katas.create_workspace(kata, tmp_path / "ws")
    ws.entry.write_text("# my work\n")
    reset = katas.create_workspace(kata, tmp_path / "ws", reset=True)
    assert reset.backup is not None and reset.backup.name.startswith("multihead.py.bak-")
    assert reset.backup.read_text() == "# my work\n"
    assert ws.entry.read_text() == kata.starter.read_text()
    ws.entry.write_text("# second try\n")
    second = katas.create_workspace(kata, tmp_path / "ws", reset=True)
    assert second.backup != reset.backup and second.backup.read_text() == "# second try\n"


def test_workspace_marker_names_the_kata(tmp_path):
    kata = katas.load_kata("generator")
    ws = katas.create_workspace(kata, tmp_path / "g")
    assert katas.workspace_kata(ws.path) == ("generator", ws.path / "generator.py")
    assert katas.workspace_kata(tmp_path) is None
    assert katas.resolve_target(None, None, ws.path) == (kata, ws.path / "generator.py")
    assert katas.last_started() == "generator"


def test_unknown_kata_and_bad_names_are_usage_errors():
    for bad in ("nosuch", "../attention", ""):
        with pytest.raises(UsageError, match="known katas"):
            katas.load_kata(bad)


def test_record_attempt_goes_to_the_progress_database(_isolated_home):
    import sqlite3
    from datetime import datetime, timezone

    katas.record_attempt("attention", False, 3, 12, 2.5, when=datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert katas.status("attention") == "started"
    katas.record_attempt("attention", True, 12, 12, 2.4)
    assert katas.status("attention") == "passed"
    with sqlite3.connect(_isolated_home / "progress.sqlite3") as db:
        rows = db.execute("SELECT kata, attempted_at, passed, checks_passed, checks_total, seconds FROM kata_attempts ORDER BY id").fetchall()
    assert rows[0][0] == "attention" and rows[0][1].startswith("2026-01-01") and rows[0][2:] == (0, 3, 12, 2.5)
    assert [r[2] for r in rows] == [0, 1]
    assert katas.last_started() == "attention" and katas.progress("attention")["started_at"] is not None
    assert not (_isolated_home / "katas.json").exists(), "kata bookkeeping lives in the database only"


def test_an_older_katas_json_is_imported_once(_isolated_home):
    _isolated_home.mkdir(parents=True, exist_ok=True)
    legacy = {"version": 1, "last": "multihead", "katas": {
        "multihead": {"started": "2026-01-02T03:04:05+00:00", "workspace": "/w/mh", "hints_shown": 2},
        "attention": {"started": "2026-01-01T00:00:00Z", "hints_shown": 1, "gave_up": "2026-01-03T00:00:00+00:00"}}}  # fmt: skip
    (_isolated_home / "katas.json").write_text(json.dumps(legacy))
    assert katas.last_started() == "multihead"
    assert katas.progress("multihead")["hints_shown"] == 2 and str(katas.workspace_of("multihead")) == "/w/mh"
    assert katas.progress("attention")["gave_up_at"].year == 2026 and katas.status("attention") == "started"
    assert not (_isolated_home / "katas.json").exists() and (_isolated_home / "katas.json.imported").is_file()


def test_a_damaged_katas_json_is_reported_not_replaced(_isolated_home):
    _isolated_home.mkdir(parents=True, exist_ok=True)
    (_isolated_home / "katas.json").write_text("{not json")
    with pytest.raises(UsageError) as info:
        katas.status("attention")
    assert "katas.json" in str(info.value) and "move it aside" in str(info.value)
    assert (_isolated_home / "katas.json").read_text() == "{not json"


def test_graded_attempts_show_in_stats(_isolated_home):
    from typer.testing import CliRunner

    from attnquiz.cli import app

    katas.record_attempt("multihead", False, 5, 14, 3.0)
    katas.record_attempt("multihead", True, 14, 14, 2.9)
    result = CliRunner().invoke(app, ["stats", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    row = next(k for k in json.loads(result.output)["katas"] if k["kata"] == "multihead")
    assert (row["status"], row["attempts"], row["best_checks_passed"], row["checks_total"]) == ("passed", 2, 14, 14)
    listed = CliRunner().invoke(app, ["kata"], catch_exceptions=False)
    assert "passed" in listed.output


@pytest.mark.parametrize("entry", ["../../../etc/passwd", "/etc/passwd", "sub/attention.py", "..", ""])
def test_marker_entry_must_be_a_plain_file_name(tmp_path, entry):
    kata = katas.load_kata("attention")
    ws = katas.create_workspace(kata, tmp_path / "ws")
    (ws.path / katas.MARKER).write_text(json.dumps({"kata": "attention", "entry": entry}))
    with pytest.raises(UsageError, match="not a file name in the workspace"):
        katas.resolve_target(None, None, ws.path)
    again = katas.create_workspace(kata, ws.path)  # what the message says to run: the marker is fixed
    assert katas.resolve_target(None, None, again.path) == (kata, ws.path / "attention.py")


def test_bad_marker_entry_in_a_real_process(tmp_path):
    import os
    import subprocess
    import sys

    ws = katas.create_workspace(katas.load_kata("attention"), tmp_path / "ws")
    (ws.path / katas.MARKER).write_text(json.dumps({"kata": "attention", "entry": "../../../etc/passwd"}))
    proc = subprocess.run(
        [sys.executable, "-m", "attnquiz", "grade"], cwd=ws.path, capture_output=True, text=True, timeout=60,
        env=os.environ,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "not a file name" in proc.stderr


def test_a_workspace_belongs_to_one_kata(tmp_path):
    first = katas.create_workspace(katas.load_kata("attention"), tmp_path / "ws")
    task = (first.path / "TASK.md").read_text()
    marker = (first.path / katas.MARKER).read_text()
    with pytest.raises(UsageError, match="workspace of kata 'attention'; pick another --dir"):
        katas.create_workspace(katas.load_kata("multihead"), tmp_path / "ws")
    assert (first.path / "TASK.md").read_text() == task and (first.path / katas.MARKER).read_text() == marker
    assert not (first.path / "multihead.py").exists()
    assert katas.create_workspace(katas.load_kata("attention"), tmp_path / "ws").path == first.path
