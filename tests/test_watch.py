"""Grading on save (`attnquiz grade --watch`, attnquiz/grading/watch.py): real files edited, the
real command and real zygotes, learner files that try to outlive or poison their grading.

The zygotes (attnquiz/grading/zygote.py) fork a fresh judge and a fresh worker per grading; these
tests check that a forked grading is what a cold one is (same verdicts, same confinement) and that
nothing of one grading reaches the next, nor outlives the command.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Optional

import pytest

import attnquiz
from attnquiz import katas
from attnquiz.cli_watch import MESSAGES
from attnquiz.grading import expected_checks, procs, runner, sandbox
from attnquiz.grading.watch import WarmGrader, saves

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="watch mode forks zygotes (Linux)")
confined = pytest.mark.skipif(sandbox.landlock_abi() < 6, reason="the worker is confined only with Landlock ABI 6+")

SCRIPT = Path(sys.executable).parent / "attnquiz"  # the console script, as tests/test_installed.py finds it
ATTENTION = katas.load_kata("attention")
REFERENCE = ATTENTION.reference.read_text(encoding="utf-8")
BODY = "    d_k = q.size(-1)\n"
WAITING = {"en": "Waiting for the next save", "zh": "的下一次保存"}
VERDICT_S = 180.0  # the first grading starts the zygotes (torch, twice) on a busy machine


def _alive(pid: int) -> bool:
    """Running, not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        frontier = [c for p in frontier for c in procs.children_of(p)]
        found += frontier
    return found


def _with_token(token: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if token.encode() in cmdline and _alive(int(entry.name)):
                pids.append(int(entry.name))
    return pids


def _wait_gone(pids_of, grace_s: float) -> list[int]:
    end = time.monotonic() + grace_s
    while (alive := pids_of()) and time.monotonic() < end:
        time.sleep(0.05)
    return alive


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# --- the command, edited in a real file ---------------------------------------------------------


def _default_signals() -> None:  # a runner started in the background may ignore SIGINT
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


class Watching:
    """`attnquiz grade --watch ARGS` (the console script), its output read line by line."""

    def __init__(self, *args: str, cwd: Path, lang: str = "en") -> None:
        self.waiting = WAITING[lang]
        self.proc = subprocess.Popen(
            [str(SCRIPT), "grade", "--watch", "--lang", lang, *args], cwd=cwd, env={**os.environ, "COLUMNS": "300"},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=_default_signals, start_new_session=True,
        )  # fmt: skip
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            self.lines.put(raw.decode("utf-8", "replace"))
        self.lines.put("")

    def verdict(self) -> str:
        """The output up to the next 'Waiting for the next save' line."""
        block: list[str] = []
        end = time.monotonic() + VERDICT_S
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no verdict within {VERDICT_S:g} s: {''.join(self.seen + block)[-3000:]}") from None
            if not line:
                raise AssertionError(f"the command ended (exit {self.proc.wait()}): {''.join(self.seen + block)[-3000:]}")
            block.append(line)
            if self.waiting in line:
                self.seen += block
                return "".join(block)

    def rest(self, timeout: float = 30) -> str:
        self.proc.wait(timeout=timeout)
        block = []
        while (line := self.lines.get(timeout=5)) != "":
            block.append(line)
        return "".join(block)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _save(path: Path, text: str) -> None:
    """As most editors save: a new file renamed over the old one (the first save of the test below
    writes in place, as others do)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A multihead workspace made by the console script, in a folder outside the checkout."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    made = subprocess.run([str(SCRIPT), "kata", "multihead", "--dir", "ws"], cwd=outside, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    return outside / "ws"


def test_watch_grades_every_save_and_ctrl_c_ends_it_cleanly(workspace: Path):
    """The starter, a known mistake, a file too big to grade (one line, and the watch goes on), the
    mistake again, then the reference: four gradings, four attempts recorded; a save that changes
    nothing is no grading; Ctrl-C: one line, exit 0, no process left."""
    kata = katas.load_kata("multihead")
    file = workspace / "multihead.py"
    wrong = katas.mistake_sources(kata)["no_scaling"]
    watching = Watching("--no-sample", cwd=workspace)
    try:
        starter = watching.verdict()
        assert "Grading multihead" in starter and "✗" in starter and "kata passed" not in starter
        tree = _descendants(watching.proc.pid)
        zygotes = [p for p in tree if b"--zygote" in Path(f"/proc/{p}/cmdline").read_bytes()]
        assert len(zygotes) == 2, tree

        file.write_text(wrong, encoding="utf-8")
        failed = watching.verdict()
        assert "no 1/√head_dim scaling" in failed and " ✗ shapes" in failed and "kata passed" not in failed

        _save(file, wrong + "# padding\n" * 40_000)  # over the size limit: refused
        refused = watching.verdict()
        assert "error:" in refused and "too big" in refused and "Grading multihead" not in refused

        _save(file, wrong)
        assert "no 1/√head_dim scaling" in watching.verdict()
        _save(file, wrong)  # saved again, unchanged: no grading
        time.sleep(0.5)
        _save(file, kata.reference.read_text(encoding="utf-8"))
        passed = watching.verdict()
        assert f"All {len(expected_checks(kata))} checks passed" in passed and "kata passed" in passed
        assert "✗" not in passed

        watching.proc.send_signal(signal.SIGINT)
        rest = watching.rest()
        assert watching.proc.returncode == 0, rest
        assert rest.strip() == "Stopped watching."
        everything = "".join(watching.seen) + rest
        assert "Traceback" not in everything and everything.count("Grading multihead:") == 4
        assert _wait_gone(lambda: [p for p in tree if _alive(p)], 5) == [], "a zygote or a grading outlived the command"
    finally:
        watching.kill()
    assert [a.passed for a in katas.attempts("multihead")] == [False, False, False, True]


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_the_zygotes_die_when_the_cli_is_killed_or_terminated(workspace: Path, signum: int):
    """SIGKILL: they die with it (PDEATHSIG). SIGTERM: it ends them, one line, exit 143."""
    watching = Watching(cwd=workspace, lang="zh")  # the waiting line follows --lang
    try:
        watching.verdict()
        tree = _descendants(watching.proc.pid)
        assert len([p for p in tree if b"--zygote" in Path(f"/proc/{p}/cmdline").read_bytes()]) == 2, tree
        watching.proc.send_signal(signum)
        rest = watching.rest()
        if signum == signal.SIGTERM:
            assert watching.proc.returncode == 143, rest
            assert rest.strip() == MESSAGES["interrupted"]["zh"].format(signal="SIGTERM"), rest
        assert _wait_gone(lambda: [p for p in tree if _alive(p)], 10) == [], "a zygote outlived the CLI"
    finally:
        watching.kill()


def test_watch_refuses_json_and_names_both_options(tmp_path: Path):
    path = tmp_path / "attention.py"
    path.write_text(REFERENCE, encoding="utf-8")
    for lang in ("en", "zh"):
        result = subprocess.run(
            [sys.executable, "-m", "attnquiz", "grade", "attention", "--file", str(path), "--watch", "--json", "--lang", lang],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "--watch" in result.stderr and "--json" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_watch_without_torch_says_what_to_install_and_starts_nothing(tmp_path: Path, monkeypatch):
    import importlib.util

    from typer.testing import CliRunner

    from attnquiz.cli import app

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    path = tmp_path / "attention.py"
    path.write_text(REFERENCE, encoding="utf-8")
    before = set(procs.children_of(os.getpid()))
    result = CliRunner().invoke(app, ["grade", "attention", "--file", str(path), "--watch"])
    assert result.exit_code == 2 and "grading needs torch" in result.output and "pip install torch" in result.output
    assert set(procs.children_of(os.getpid())) == before


def test_every_watch_line_has_both_languages_with_the_same_placeholders():
    for key, entry in MESSAGES.items():
        assert entry.get("en") and entry.get("zh"), key
        assert set(re.findall(r"{(\w+)}", entry["en"])) == set(re.findall(r"{(\w+)}", entry["zh"])), key


# --- the saves of a file -------------------------------------------------------------------------


def test_saves_sees_writes_atomic_renames_and_vim_backups_but_not_unchanged_saves_or_empty_moments(tmp_path: Path):
    file = tmp_path / "attention.py"
    file.write_text("v0")
    stop = threading.Event()
    seen: list[tuple[float, bytes]] = []
    saved: list[float] = []

    def atomic() -> None:  # a new file renamed over the old one
        (tmp_path / "tmp.py").write_text("v2")
        os.replace(tmp_path / "tmp.py", file)

    def vim() -> None:  # the old file renamed to a backup, a new one written
        os.rename(file, tmp_path / "attention.py~")
        file.write_text("v3")

    def slow() -> None:  # in place, the write long after the truncation
        file.write_text("")
        time.sleep(0.15)
        file.write_text("v4")

    def edit() -> None:
        steps = [
            lambda: file.write_text("v1"),  # in place
            lambda: file.write_text("v1"),  # unchanged
            atomic,
            vim,
            lambda: (tmp_path / "other.py").write_text("x"),  # another file
            slow,
        ]
        for step in steps:
            time.sleep(0.4)
            saved.append(time.monotonic())
            step()
        time.sleep(0.4)
        stop.set()

    threading.Thread(target=edit, daemon=True).start()
    for content in saves(file, stop):
        seen.append((time.monotonic(), content))
    assert [c for _, c in seen] == [b"v0", b"v1", b"v2", b"v3", b"v4"]
    assert seen[1][0] - saved[0] < 0.35, "a save took too long to be seen"


# --- the core API, with hostile learner files -----------------------------------------------------


def _at_import(code: str, base: str = REFERENCE) -> str:
    return base + "\n" + code + "\n"


@pytest.fixture(scope="module")
def warm(tmp_path_factory) -> WarmGrader:
    """One warm pair for the attention kata, shared by the tests below (in file order)."""
    home = tmp_path_factory.mktemp("warm-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ATTNQUIZ_HOME", str(home))
        mp.delenv("ATTNQUIZ_SANDBOX", raising=False)
        grader = WarmGrader(ATTENTION, timeout=20)
        grader_home.append(home)
        try:
            yield grader
        finally:
            grader.close()
    assert not [p for p in grader_pids if _alive(p)], "a zygote outlived close()"


grader_pids: list[int] = []
grader_home: list[Path] = []  # the ATTNQUIZ_HOME the warm pair was started with


def _write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name / "attention.py"
    path.parent.mkdir(parents=True)
    path.write_text(source, encoding="utf-8")
    return path


def test_a_forked_grading_gives_the_cold_verdict_and_reports_checks_as_they_start(warm: WarmGrader, tmp_path: Path):
    grader_pids.extend(warm.pids())
    wrong = REFERENCE.replace("/ math.sqrt(d_k)", "")
    for source in (REFERENCE, wrong):
        path = _write(tmp_path, f"s{len(source)}", source)
        started: list[str] = []
        warm_result = warm.grade(path, on_progress=started.append)
        cold_result = runner.grade(ATTENTION, path, timeout=60)
        assert warm_result.to_json() == cold_result.to_json()
        assert started and set(started) <= set(expected_checks(ATTENTION))
        assert started == sorted(started, key=expected_checks(ATTENTION).index)
    assert warm.restarts == 0


def test_what_one_grading_leaves_behind_never_reaches_the_next(warm: WarmGrader, tmp_path: Path):
    """A file that poisons torch, starts a thread that keeps poisoning it and a setsid'd process
    that would outlive grading; the next grading is of a file that fails at import if a thread or
    a stray file remains, and that passes only if torch is intact."""
    token = uuid.uuid4().hex
    poison = _at_import(
        "import subprocess, sys, threading, time, os\n"
        "torch.softmax = lambda x, dim=-1: x\n"
        "torch.Tensor.masked_fill = lambda self, mask, value: self\n"
        "open('left-behind.txt', 'w').write('x')\n"
        "def _keep():\n"
        "    while True:\n"
        "        torch.softmax = lambda x, dim=-1: x\n"
        "        time.sleep(0.01)\n"
        "threading.Thread(target=_keep, daemon=True).start()\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', {token!r}], start_new_session=True)\n"
    )
    clean = _at_import(
        "import os, threading, tempfile\n"
        "assert threading.active_count() == 1 and len(os.listdir('/proc/self/task')) == 1, 'a thread survived'\n"
        "assert not os.path.exists('left-behind.txt'), 'a file of the last grading is here'\n"
        "assert torch.softmax.__module__ != __name__, 'torch.softmax is still replaced'\n"
        "assert tempfile.gettempdir() == os.getcwd(), 'TMPDIR is not this grading\\'s scratch folder'\n"
    )
    try:
        first = warm.grade(_write(tmp_path, "poison", poison))
        assert not first.passed
        assert _wait_gone(lambda: _with_token(token), 0.5) == [], "the learner's process outlived its grading"
        second = warm.grade(_write(tmp_path, "clean", clean))
        assert second.passed, [(c.name, c.message) for c in second.checks if not c.passed]
    finally:
        _kill(_with_token(token))


def test_an_infinite_loop_times_out_and_the_next_save_grades_normally(tmp_path: Path):
    token = uuid.uuid4().hex
    looping = _at_import(
        f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', {token!r}])\n"
        "while True:\n    pass"
    )
    with WarmGrader(ATTENTION, timeout=5) as grader:
        try:
            started = time.monotonic()
            result = grader.grade(_write(tmp_path, "loop", looping))
            assert time.monotonic() - started < 5 + 6
            loads = next(c for c in result.checks if c.name == "loads")
            assert loads.status == "timeout" and "5 s" in loads.message
            assert _wait_gone(lambda: _with_token(token), 0.5) == []
            assert grader.grade(_write(tmp_path, "good", REFERENCE)).passed
        finally:
            _kill(_with_token(token))


@confined
def test_the_forked_worker_is_confined_forgets_attnquiz_and_cannot_reach_its_zygote(warm: WarmGrader, tmp_path: Path):
    """As tests/test_grade_hostile.py checks for a cold worker: the kata's reference, hidden suite
    and mistakes, the package and the learner's data are unreadable, no grader module is loaded, no reference function is in
    memory (the guard's wrappers of torch's own function are torch's), it holds as many descriptors
    as a cold worker (stdin, output, its two pipes; and the listing's own); and the zygote it was
    forked from can be neither read nor signalled."""
    package = Path(attnquiz.__file__).resolve().parent
    values = {
        "REF": str(ATTENTION.reference.resolve()), "KDIR": str(ATTENTION.path.resolve()),
        "PKG": str(package / "grading" / "judge.py"), "HOME": str(grader_home[0]),
    }  # fmt: skip
    attack = (
        "import errno, gc, os, signal, sys, types\n\nOUTCOME = {}\n\n\n"
        "def attempt(name, action):\n"
        "    try:\n        action()\n"
        "    except OSError as exc:\n        OUTCOME[name] = errno.errorcode.get(exc.errno, type(exc).__name__)\n"
        "    except BaseException as exc:\n        OUTCOME[name] = type(exc).__name__\n"
        "    else:\n        OUTCOME[name] = 'DONE'\n\n\n"
        f"attempt('reference', lambda: open({values['REF']!r}).read())\n"
        f"attempt('suite', lambda: open(os.path.join({values['KDIR']!r}, 'test_hidden.py')).read())\n"
        f"attempt('mistakes', lambda: open(os.path.join({values['KDIR']!r}, 'mistakes.py')).read())\n"
        f"attempt('package', lambda: open({values['PKG']!r}).read())\n"
        f"attempt('home', lambda: os.listdir({values['HOME']!r}))\n"
        "attempt('zygote_memory', lambda: open(f'/proc/{os.getppid()}/mem', 'rb').read(1))\n"
        "attempt('zygote_signal', lambda: os.kill(os.getppid(), signal.SIGKILL))\n"
        "OUTCOME['modules'] = str(len([m for m in sys.modules if m.split('.')[0] in ('attnquiz', '_pytest', 'pytest')]))\n"
        "OUTCOME['fds'] = str(len(os.listdir('/proc/self/fd')))\n"
        "NAME = 'scaled_dot_' + 'product_attention'\n"
        "OUTCOME['found'] = str(len([o for o in gc.get_objects() if isinstance(o, types.FunctionType) "
        "and o.__name__ == NAME and (o.__module__ or '') != __name__ and not (o.__module__ or '').startswith(('torch', 'learner_'))]))\n\n\n"
        "def scaled_dot_product_attention(q, k, v, mask=None):\n"
        "    raise RuntimeError('outcome ' + ' '.join(f'{k}={v}' for k, v in OUTCOME.items()))\n"
    )
    zygotes = warm.pids()
    path = _write(tmp_path, "attack", attack)
    outcome, cold = (_outcome(result) for result in (warm.grade(path), runner.grade(ATTENTION, path)))
    assert outcome == cold  # and as many open descriptors: none of the zygote's sockets is among them
    assert {k: outcome.pop(k) for k in ("modules", "found", "fds")} == {"modules": "0", "found": "0", "fds": "6"}
    assert outcome.pop("zygote_memory") in ("EACCES", "EPERM"), outcome
    assert outcome.pop("zygote_signal") == "EPERM"
    assert set(outcome.values()) == {"EACCES"}, outcome
    assert warm.pids() == zygotes and warm.alive() and warm.restarts == 0


def test_every_hostile_file_gets_the_verdict_a_cold_grading_gives(tmp_path: Path, monkeypatch):
    """The 40 learner files of tests/test_grade_hostile.py (exits, crashes, floods, tampering,
    forbidden calls, thefts, attacks on the grader, the machine and the progress data), each
    graded warm on its own and all of them cold: the same check statuses and messages (numbers
    aside: memory, times), and no process of theirs left behind."""
    import socket

    import test_grade_hostile as hostile

    monkeypatch.delenv("ATTNQUIZ_SANDBOX", raising=False)
    db = hostile._make_progress()
    token = uuid.uuid4().hex
    digits = re.compile(r"\d+(\.\d+)?")
    with socket.create_server(("127.0.0.1", 0)) as server:
        sources = hostile._hostile_sources(db, server.getsockname()[1], token)
        files = [hostile._write(tmp_path, name, source) for name, source in sources.items()]
        try:
            cold = runner.grade_many(hostile.KATA, files, timeout=60)
            with WarmGrader(hostile.KATA, timeout=60) as grader:
                warm = [grader.grade(f) for f in files]
                assert grader.restarts == 0
            assert _wait_gone(lambda: _with_token(token), 2) == []
        finally:
            _kill(_with_token(token))
    for name, c, w in zip(sources, cold, warm):
        assert [(x.name, x.status) for x in w.checks] == [(x.name, x.status) for x in c.checks], name
        assert [digits.sub("N", x.message) for x in w.checks] == [digits.sub("N", x.message) for x in c.checks], name
        assert [d.mistake for d in w.diagnosis] == [d.mistake for d in c.diagnosis], name
    assert sum(r.passed for r in warm) == len(hostile.GOOD)


def _outcome(result) -> dict[str, str]:
    """What the attack file reported in its `shapes` message (`outcome name=value ...`)."""
    shapes = next(c for c in result.checks if c.name == "shapes")
    found = re.search(r"outcome((?: [\w.-]+=[\w.-]+)+)", shapes.message)
    assert found, shapes.message
    return dict(pair.split("=", 1) for pair in found.group(1).split())


def test_a_zygote_that_died_is_started_again(warm: WarmGrader, tmp_path: Path):
    path = _write(tmp_path, "good", REFERENCE)
    for index in (1, 0):  # the worker zygote, then the judge zygote
        before = warm.restarts
        os.kill(warm.pids()[index], signal.SIGKILL)
        assert warm.grade(path).passed
        assert warm.restarts == before + 1
    grader_pids.extend(warm.pids())
