"""`attnquiz interview`: a timed mock interview in four phases. Parse, call the core, render.

What is asked, how the time is split and the rubric are attnquiz.interview's; grading on save is
attnquiz.grading.onsave's. This module reads the learner's lines (with a deadline), keeps the
remaining time on screen, saves every answer the moment it is given and prints the report.

The remaining time: on a terminal, the top line holds it and is redrawn every half second (a
scroll region keeps everything else below it); otherwise (a pipe, a script) every prompt says it.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, List, Optional, TypeVar

import typer

from attnquiz.cli_common import console, escape_markup, resolve_lang, translate_errors
from attnquiz.errors import UsageError

if TYPE_CHECKING:
    from attnquiz.bank import Question
    from attnquiz.grading import GradeResult
    from attnquiz.interview import Answered, Interview, PhaseLog
    from attnquiz.katas import Kata
    from attnquiz.store import Store

T = TypeVar("T")

GRADE_TIMEOUT_S = 60.0  # per grading, as `attnquiz grade` (the phase's own deadline is separate)
SKIP_WORDS = {"skip", ":skip", "next", ":next", "跳过"}
QUIT_WORDS = {":q", ":quit"}
SHOWN_FAILURES = 5  # failing checks listed after a grading during the kata phase

MESSAGES: dict[str, dict[str, str]] = {
    "intro": {
        "en": "Mock interview: {minutes}, four phases — {n} concept questions, one explanation, the kata {kata}, {f} follow-up questions.",
        "zh": "模拟面试：{minutes}，共四个阶段——{n} 道概念快问、一道口头讲解、编程题 {kata}、{f} 道追问。",
    },
    "intro_keys": {
        "en": "Every answer is saved as you give it. Enter on an empty line = don't know · :q, Ctrl-D or Ctrl-C = end with the report",
        "zh": "每个回答都会立即保存。空行回车 = 不会 · :q、Ctrl-D 或 Ctrl-C = 结束并查看报告",
    },
    "phase_concepts": {"en": "Concept questions", "zh": "概念快问"},
    "phase_explain": {"en": "Explain it aloud", "zh": "口头讲解"},
    "phase_kata": {"en": "Coding", "zh": "编程题"},
    "phase_followup": {"en": "Follow-up questions", "zh": "追问"},
    "phase_rule": {"en": "Phase {i}/4 · {name} · {budget}", "zh": "第 {i}/4 阶段 · {name} · {budget}"},
    "rules_concepts": {
        "en": "Answer quickly: no right or wrong until the report at the end.",
        "zh": "快速作答：对错在最后的报告里公布。",
    },
    "rules_explain": {
        "en": "Explain it as you would aloud to the interviewer, then type what you said on one line; Enter shows the key points to rate yourself against.",
        "zh": "像对面试官口头讲解那样回答，然后把你讲的内容打成一行；回车后对照要点给自己打分。",
    },
    "rules_followup": {
        "en": "Follow-up questions on the kata's topics ({topics}); no right or wrong until the report.",
        "zh": "围绕编程题相关主题（{topics}）的追问；对错在报告里公布。",
    },
    "nothing_to_ask": {"en": "Nothing to ask in this phase.", "zh": "本阶段没有题目。"},
    "noted": {"en": "Noted.", "zh": "已记录。"},
    "time_up": {"en": "Time is up for this phase.", "zh": "本阶段时间到。"},
    "left": {"en": "{time} left", "zh": "剩余 {time}"},
    "prompt_left": {"en": " ({time} left)", "zh": "（剩余 {time}）"},
    "status": {
        "en": "⏱ {left} left · phase {i}/4 {name} · {phase_left} for this phase{extra}",
        "zh": "⏱ 剩余 {left} · 第 {i}/4 阶段 {name} · 本阶段还剩 {phase_left}{extra}",
    },
    "status_short": {"en": "⏱ {left} left · {i}/4 · {phase_left} for this phase{extra}", "zh": "⏱ 剩余 {left} · {i}/4 · 本阶段 {phase_left}{extra}"},
    "status_tiny": {"en": "⏱ {left} · {phase_left}", "zh": "⏱ {left} · {phase_left}"},
    "status_grading": {"en": " · grading…", "zh": " · 评分中……"},
    "kata_title": {"en": "Kata {kata}: {title}", "zh": "编程题 {kata}：{title}"},
    "kata_chosen": {"en": "Chosen because {reason}.", "zh": "选题原因：{reason}。"},
    "reason_named": {"en": "you asked for it (--kata)", "zh": "你用 --kata 指定了它"},
    "reason_struggled": {"en": "you have tried it and not passed it yet", "zh": "你尝试过但还没有通过"},
    "reason_next": {"en": "it is next on the ladder and you have not tried it", "zh": "它是阶梯上的下一题，你还没有做过"},
    "reason_shaky": {
        "en": "you passed it only after many tries or after reading the reference",
        "zh": "你是在多次失败或看过参考答案之后才通过的",
    },
    "reason_oldest": {"en": "it is the kata you passed longest ago", "zh": "它是你最久以前通过的编程题"},
    "workspace": {"en": "workspace: {path}", "zh": "工作区 workspace: {path}"},
    "edit": {"en": "Write your solution in {file} (its docstring is the contract).", "zh": "在 {file} 中写出你的实现（文件的 docstring 就是完整要求）。"},
    "rules_kata": {
        "en": "Every save is graded by the hidden suite; no hints. The phase ends when the kata passes or its time is up.",
        "zh": "每次保存都会由隐藏测试评分；没有提示。通过或时间到时本阶段结束。",
    },
    "rules_kata_skip": {"en": "Type skip and Enter here to give it up and go on.", "zh": "在这里输入 skip 并回车可放弃本题、继续下一阶段。"},
    "grading": {"en": "Grading your save…", "zh": "正在为你的保存评分……"},
    "kata_passed": {"en": "✓ All {total} checks passed in {seconds:.1f} s: kata passed.", "zh": "✓ 全部 {total} 项检查通过，用时 {seconds:.1f} 秒：编程题通过。"},
    "kata_failed": {"en": "✗ {passed}/{total} checks passed in {seconds:.1f} s.", "zh": "✗ 通过 {passed}/{total} 项检查，用时 {seconds:.1f} 秒。"},
    "more_failures": {"en": "  … and {n} more", "zh": "  ……还有 {n} 项"},
    "waiting": {"en": "Waiting for your next save ({left}).", "zh": "等待你的下一次保存（{left}）。"},
    "kata_skipped": {"en": "Kata given up.", "zh": "已放弃本题。"},
    "not_recorded": {"en": "this grading was not recorded: {error}", "zh": "这次评分没有记录下来：{error}"},
    "report_title": {"en": "Interview report", "zh": "面试报告"},
    "col_phase": {"en": "Phase", "zh": "阶段"},
    "col_result": {"en": "Result", "zh": "结果"},
    "col_points": {"en": "Points", "zh": "得分"},
    "col_time": {"en": "Time used", "zh": "用时"},
    "col_ended": {"en": "Ended", "zh": "结束方式"},
    "total": {"en": "Total", "zh": "合计"},
    "ended_not_reached": {"en": "not reached", "zh": "未进行"},
    "ended_done": {"en": "finished", "zh": "完成"},
    "ended_time": {"en": "time ran out", "zh": "时间到"},
    "ended_skipped": {"en": "given up", "zh": "放弃"},
    "ended_stopped": {"en": "you stopped", "zh": "你中止了"},
    "result_questions": {"en": "{right}/{planned} right", "zh": "答对 {right}/{planned}"},
    "result_explain": {"en": "rated {rating} · {points}/{total} key points", "zh": "自评 {rating} · 要点 {points}/{total}"},
    "result_kata_passed": {"en": "{kata}: passed ({n} grading(s))", "zh": "{kata}：通过（评分 {n} 次）"},
    "result_kata_failed": {"en": "{kata}: best {passed}/{total} checks ({n} grading(s))", "zh": "{kata}：最好 {passed}/{total} 项检查（评分 {n} 次）"},
    "result_kata_none": {"en": "{kata}: no save graded", "zh": "{kata}：没有评过分的保存"},
    "result_none": {"en": "—", "zh": "—"},
    "rating_again": {"en": "Again", "zh": "重来"},
    "rating_hard": {"en": "Hard", "zh": "困难"},
    "rating_good": {"en": "Good", "zh": "良好"},
    "rating_easy": {"en": "Easy", "zh": "简单"},
    "verdict_ready": {"en": "Verdict: ready — {points} points and the kata passed.", "zh": "结论：可以上场——{points} 分，编程题通过。"},
    "verdict_borderline": {"en": "Verdict: borderline — {points} points.", "zh": "结论：边缘——{points} 分。"},
    "verdict_not_yet": {"en": "Verdict: not yet — {points} points.", "zh": "结论：还需准备——{points} 分。"},
    "verdict_incomplete": {
        "en": "Verdict: incomplete — you ended it in phase {i}/4 ({points} points so far).",
        "zh": "结论：未完成——你在第 {i}/4 阶段结束了面试（目前 {points} 分）。",
    },
    "rubric": {
        "en": (
            "Rubric: concept questions 30 × the share right · explanation 15 (Again 0, Hard 7.5, Good or Easy 15) · "
            "kata 40 if it passes, else up to 20 by its best share of checks passed · follow-ups 15 × the share right; "
            "questions not answered in time count as wrong. Ready: 75 points or more and the kata passed; "
            "borderline: 50 or more; not yet: below 50."
        ),
        "zh": (
            "评分规则：概念快问 30 分 × 答对比例 · 口头讲解 15 分（重来 0、困难 7.5、良好或简单 15）· "
            "编程题通过得 40 分，否则按最好一次通过检查的比例最多得 20 分 · 追问 15 分 × 答对比例；"
            "没来得及回答的题算错。可以上场：75 分及以上且编程题通过；边缘：50 分及以上；还需准备：50 分以下。"
        ),
    },
    "mistakes_title": {"en": "Mistakes, with their explanations", "zh": "答错的题及解析"},
    "no_mistakes": {"en": "No wrong answers.", "zh": "没有答错的题。"},
    "not_answered": {"en": "Not answered: {ids}", "zh": "未作答：{ids}"},
    "ask_again": {"en": "Ask one again with: attnquiz ask --id ID", "zh": "单独重做一题：attnquiz ask --id ID"},
    "kata_report_failed": {"en": "The kata {kata} did not pass. Its last grading:", "zh": "编程题 {kata} 没有通过。最后一次评分："},
    "kata_report_none": {"en": "The kata {kata} was never graded (no save).", "zh": "编程题 {kata} 没有评过分（没有保存过）。"},
    "diagnosis": {"en": "This matches a known mistake: {title}\n  fix: {fix}", "zh": "这符合一个已知错误：{title}\n  修正：{fix}"},
    "kata_next": {
        "en": "Keep at it: attnquiz grade {kata} --file {file} · the reference: attnquiz solution {kata} --give-up",
        "zh": "继续练习：attnquiz grade {kata} --file {file} · 参考答案：attnquiz solution {kata} --give-up",
    },
    "kata_report_passed": {"en": "The kata {kata} passed; compare with the reference: attnquiz solution {kata}", "zh": "编程题 {kata} 已通过；可与参考答案对比：attnquiz solution {kata}"},
    "saved": {
        "en": "Saved as interview #{id}; every answer is in your review schedule (attnquiz stats lists past interviews).",
        "zh": "已保存为第 {id} 次面试；每个回答都已计入复习计划（attnquiz stats 列出以往的面试）。",
    },
    "interviews_title": {"en": "Mock interviews", "zh": "模拟面试"},
    "col_started": {"en": "Started", "zh": "开始"},
    "col_kata": {"en": "Kata", "zh": "编程题"},
    "col_verdict": {"en": "Verdict", "zh": "结论"},
    "v_ready": {"en": "ready", "zh": "可以上场"},
    "v_borderline": {"en": "borderline", "zh": "边缘"},
    "v_not_yet": {"en": "not yet", "zh": "还需准备"},
    "v_incomplete": {"en": "incomplete", "zh": "未完成"},
    "v_unfinished": {"en": "unfinished", "zh": "中断"},
}


def t(key: str, lang: str, **args: object) -> str:
    """The message KEY in LANG (English where it has no translation), filled with ARGS."""
    entry = MESSAGES[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**args) if args else text


def register(app: typer.Typer) -> None:
    """Add the interview command to the main app."""
    app.command("interview")(interview_command)


def _check_minutes(value: float) -> float:
    from attnquiz.interview import check_minutes

    try:
        return check_minutes(value)
    except UsageError as exc:
        raise typer.BadParameter(str(exc).split(": ", 1)[-1]) from None


@translate_errors
def interview_command(
    minutes: float = typer.Option(45.0, "--minutes", "-m", callback=_check_minutes, help="Length of the interview in minutes (0.1 to 600)."),
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help="en or zh (default: from the locale, else English)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for reproducible questions and choice order."),
    kata: Optional[str] = typer.Option(None, "--kata", help="The kata of phase 3 (default: your weakest or next unpassed kata)."),
    topic: Optional[List[str]] = typer.Option(None, "--topic", "-t", help="Keep the concept and explain questions to this topic (repeatable)."),
    directory: Optional[Path] = typer.Option(None, "--dir", help="A new folder for the kata's workspace (default: interviews/ in the data folder)."),
    questions: Optional[int] = typer.Option(None, "--questions", "-n", help="How many concept questions (default: one per 75 s of phase 1, 3 to 12)."),
    bank_paths: Optional[List[Path]] = typer.Option(None, "--bank", help="Add your own YAML file or folder (repeatable)."),
) -> None:
    """A timed mock interview: concept questions, one explanation, a kata graded on save, follow-ups.

    The time left stays on screen; answers are saved and rescheduled as given; Ctrl-C ends with the report.
    """
    from attnquiz import interview, katas, schedule
    from attnquiz.bank import load_bank
    from attnquiz.quiz import select
    from attnquiz.store import Store

    language = resolve_lang(lang)
    _check_grading_tools()
    bank = load_bank(bank_paths or ())
    if topic:
        select(bank, topics=topic)  # an unknown topic is one clear line, before anything starts
    named = katas.load_kata(kata) if kata is not None else None
    with Store.open() as store:
        at = schedule.now()
        states = store.kata_states()
        choice = interview.choose_kata(
            katas.list_katas() if named is None else [], store.kata_attempts(), {k: s.gave_up_at for k, s in states.items()}, topic or (), named
        )
        the_plan = interview.plan(
            bank, choice, store.due_dates(), at, minutes=minutes, topics=topic or (), seed=seed, count=questions
        )
        workspace = _workspace_folder(directory, choice.kata, at)
        _Run(store, interview.Interview.start(the_plan), language, workspace).run()


def _check_grading_tools() -> None:
    """The kata phase grades with torch and pytest and watches with watchfiles: say so before starting."""
    import importlib.util

    missing = [m for m in ("torch", "pytest", "watchfiles") if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(
            f"the interview's kata phase needs {', '.join(missing)}, which this Python lacks; add the kata "
            "extra to this environment: pip install '.[kata]' from the checkout (CPU-only machines: see the README)"
        )


def _workspace_folder(directory: Optional[Path], kata: Kata, at: Any) -> Path:
    """A folder that does not exist yet (or is empty): --dir, else interviews/STAMP-KATA in the data folder."""
    if directory is not None:
        where = directory.expanduser().resolve()
        if where.exists() and (not where.is_dir() or any(where.iterdir())):
            raise UsageError(f"--dir {where}: not an empty folder; the interview needs a fresh one, so name a new folder")
        return where
    from attnquiz.paths import user_dir

    base = user_dir() / "interviews" / f"{at.astimezone().strftime('%Y%m%d-%H%M%S')}-{kata.name}"
    where, n = base, 1
    while where.exists():
        n += 1
        where = base.with_name(f"{base.name}-{n}")
    return where


def clock_text(seconds: float) -> str:
    """12:05, or 1:02:03 past an hour."""
    whole = int(max(0.0, seconds) + 0.999)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


# --------------------------------------------------------------------------- input with a deadline


class _Stop(Exception):
    """The learner ended the interview (end of input or :q); Ctrl-C is KeyboardInterrupt."""


class _TimeUp(Exception):
    """The phase's time ran out while waiting for an answer."""


class _Lines:
    """The learner's lines, read by a thread so that waiting for one can end at a deadline.

    The thread reads the file descriptor itself (os.read), not sys.stdin: a thread blocked inside
    a buffered stream holds its lock, which the interpreter needs again when it exits."""

    def __init__(self, fd: int = 0) -> None:
        self.fd = fd
        self.tty = os.isatty(fd)
        self.queue: queue.Queue[Optional[str]] = queue.Queue()
        self.ended = False
        self._thread: Optional[threading.Thread] = None

    def _pump(self) -> None:
        import codecs

        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pending = ""
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                pending += decoder.decode(b"", final=True)
                if pending:
                    self.queue.put(pending)
                self.queue.put(None)
                return
            pending += decoder.decode(chunk)
            *lines, pending = pending.split("\n")
            for line in lines:
                self.queue.put(line.rstrip("\r"))

    def get(self, deadline: Optional[float]) -> Optional[str]:
        """The next line; None once DEADLINE (monotonic) has passed; _Stop at the end of input."""
        if self.ended:
            raise _Stop
        if self._thread is None:
            self._thread = threading.Thread(target=self._pump, name="attnquiz-stdin", daemon=True)
            self._thread.start()
        try:
            item = self.queue.get(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None
        if item is None:
            self.ended = True
            raise _Stop
        return item

    def discard(self) -> None:
        """On a terminal, drop what was typed for a question whose time ran out (it is not an answer
        to the next one). Piped input is a script: its lines stay for the next prompts."""
        if not self.tty:
            return
        try:
            import termios

            termios.tcflush(self.fd, termios.TCIFLUSH)
        except (ImportError, OSError):
            pass
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                return
            if item is None:
                self.ended = True
                return


# --------------------------------------------------------------------------- the remaining time


class _StatusBar:
    """The terminal's top line, redrawn every half second by a thread; the rest scrolls below it.

    Writes go through the console's own lock, so a redraw never lands inside rich's output."""

    def __init__(self, text: Callable[[int], str]) -> None:
        self.text = text  # the bar for a width in cells
        self.enabled = sys.stdout.isatty() and console.is_terminal and not console.is_dumb_terminal
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._rows = 0

    def start(self) -> None:
        if not self.enabled:
            return
        console.print()  # the cursor leaves the top line, which becomes the bar
        self.refresh()
        self._thread = threading.Thread(target=self._loop, name="attnquiz-clock", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self.refresh()

    def refresh(self) -> None:
        if not self.enabled:
            return
        from rich.cells import set_cell_size

        try:
            size = os.get_terminal_size(sys.stdout.fileno())
        except OSError:
            return
        codes = []
        if size.lines != self._rows:  # first time, or the terminal was resized
            self._rows = size.lines
            codes.append(f"\0337\033[2;{size.lines}r\0338")
        line = set_cell_size(" " + self.text(size.columns - 1), size.columns)
        codes.append(f"\0337\033[1;1H\033[7m{line}\033[0m\0338")
        self._write("".join(codes))

    def stop(self) -> None:
        if not self.enabled or self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self.refresh()
        self._write("\0337\033[r\0338")  # the whole screen scrolls again; the last time stays on top

    @staticmethod
    def _write(codes: str) -> None:
        with console._lock:  # rich writes each print under this lock
            try:
                console.file.write(codes)
                console.file.flush()
            except (OSError, ValueError):
                pass


# --------------------------------------------------------------------------- the interview


class _Run:
    """One interview from its first question to its report."""

    def __init__(self, store: Store, record: Interview, lang: str, workspace: Path) -> None:
        from attnquiz.interview import Clock

        self.store, self.record, self.lang, self.workspace = store, record, lang, workspace
        self.plan = record.plan
        self.clock = Clock(self.plan)
        self.lines = _Lines()
        self.bar = _StatusBar(self._status)
        self.phase = "concepts"
        self.progress = ""
        self.grading = False
        self.interview_id = 0
        self.last_grade: Optional[GradeResult] = None
        self.entry: Optional[Path] = None

    # ------------------------------------------------------------------- the frame

    def run(self) -> None:
        from attnquiz import schedule
        from attnquiz.interview import PHASES

        started = schedule.now()
        self.store.begin_session(started)
        self.interview_id = self.store.begin_interview(started, self.plan.minutes, self.plan.kata.kata.name)
        previous = _signals_as_interrupt()
        self.bar.start()
        self._intro()
        try:
            for phase in PHASES:
                self.phase = phase
                getattr(self, f"_{phase}")()
                self._save(final=False)
        except (_Stop, KeyboardInterrupt):
            self.record.stopped = True
            console.print()
        finally:
            self.bar.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self._save(final=True)  # before the report: a terminal that is gone must not cost the record
        self._report()

    def _status(self, width: int) -> str:
        """The time bar: in full, or shorter on a narrow terminal (the two times always)."""
        from rich.cells import cell_len

        from attnquiz.interview import PHASES

        extra = t("status_grading", self.lang) if self.grading else (f" · {self.progress}" if self.progress else "")
        values = dict(
            left=clock_text(self.clock.left()), i=PHASES.index(self.phase) + 1, name=t(f"phase_{self.phase}", self.lang),
            phase_left=clock_text(self.clock.left(self.phase)), extra=extra,
        )  # fmt: skip
        for key in ("status", "status_short"):
            text = t(key, self.lang, **values)
            if cell_len(text) <= width:
                return text
        return t("status_tiny", self.lang, **values)

    def _intro(self) -> None:
        p = self.plan
        minutes = f"{p.minutes:g} min" if self.lang == "en" else f"{p.minutes:g} 分钟"
        console.print(
            t("intro", self.lang, minutes=minutes, n=len(p.concepts), kata=p.kata.kata.name, f=len(p.followups)),
            style="bold", markup=False, emoji=False,
        )  # fmt: skip
        console.print(t("intro_keys", self.lang), style="dim", markup=False)

    def _begin(self, phase: str) -> PhaseLog:
        from attnquiz.interview import PHASES

        self.phase, self.progress = phase, ""
        name = t(f"phase_{phase}", self.lang)
        console.print()
        console.rule(escape_markup(t("phase_rule", self.lang, i=PHASES.index(phase) + 1, name=name, budget=clock_text(self.clock.left(phase)))))
        self.bar.refresh()
        return self.record.phases[phase]

    def _phase(self, phase: str, body: Callable[[PhaseLog], str]) -> None:
        """Run BODY (it returns how the phase ended) and note the time it took; time running out
        ends the phase, stopping ends the interview."""
        log = self._begin(phase)
        began, log.allowed = time.monotonic(), self.clock.left(phase)
        try:
            log.ended = body(log)
        except _TimeUp:
            log.ended = "time"
            console.print(t("time_up", self.lang), style="bold yellow")
        except BaseException:
            log.ended = "stopped"
            raise
        finally:
            log.seconds = time.monotonic() - began

    # ------------------------------------------------------------------- reading answers

    def _read(self, prompt: str) -> str:
        """One line for PROMPT before the phase's deadline (_TimeUp after it)."""
        if not self.bar.enabled:
            prompt += t("prompt_left", self.lang, time=clock_text(self.clock.left(self.phase)))
        console.print(f"[bold]{escape_markup(prompt)}[/] › ", end="")
        line = self.lines.get(self.clock.deadline(self.phase))
        if line is None:
            console.print()
            self.lines.discard()
            raise _TimeUp
        if not self.lines.tty:
            console.print(line, highlight=False, markup=False)
        if line.strip() in QUIT_WORDS:
            raise _Stop
        return line

    def _ask_until_valid(self, prompt: str, parse: Callable[[str], T]) -> tuple[str, T]:
        from attnquiz.i18n import t as quiz_t
        from attnquiz.quiz import InvalidAnswer

        while True:
            line = self._read(prompt)
            try:
                return line, parse(line)
            except InvalidAnswer as exc:
                console.print(quiz_t(exc.key, self.lang, **exc.args_), style="yellow")

    def _save_answer(self, answered: Answered) -> None:
        """Commit the answer before anything else is shown (the same store call as `ask`)."""
        from attnquiz import schedule

        self.store.record_answer(answered.question.id, answered.given, answered.correct, answered.rating, answered.seconds, schedule.now())
        self.record.phases[self.phase].answers.append(answered)

    def _questions(self, log: PhaseLog, questions: tuple[Question, ...], rules: str) -> str:
        from attnquiz import render
        from attnquiz.interview import Answered
        from attnquiz.quiz import check

        if not questions:
            console.print(t("nothing_to_ask", self.lang), style="dim")
            return "done"
        console.print(rules, style="dim", markup=False)
        for i, question in enumerate(questions, 1):
            self.progress = f"{i}/{len(questions)}"
            console.print(render.question_panel(question, i, len(questions), self.lang))
            began = time.monotonic()
            given, verdict = self._ask_until_valid(render.prompt_text(question, self.lang), lambda line, q=question: check(q, line))
            self._save_answer(Answered(question, given, verdict.correct, "good" if verdict.correct else "again", time.monotonic() - began, verdict))
            console.print(t("noted", self.lang), style="dim")
        return "done"

    # ------------------------------------------------------------------- the phases

    def _concepts(self) -> None:
        self._phase("concepts", lambda log: self._questions(log, self.plan.concepts, t("rules_concepts", self.lang)))

    def _followup(self) -> None:
        topics = ", ".join(self.plan.kata.kata.topics) or "—"
        self._phase("followup", lambda log: self._questions(log, self.plan.followups, t("rules_followup", self.lang, topics=topics)))

    def _explain(self) -> None:
        self._phase("explain", self._explain_body)

    def _explain_body(self, log: PhaseLog) -> str:
        from attnquiz import render
        from attnquiz.i18n import t as quiz_t
        from attnquiz.interview import Answered, fallback_rating
        from attnquiz.quiz import mentioned_points, parse_rating

        question = self.plan.explain
        if question is None:
            console.print(t("nothing_to_ask", self.lang), style="dim")
            return "done"
        console.print(t("rules_explain", self.lang), style="dim", markup=False)
        console.print(render.question_panel(question, 1, 1, self.lang))
        began = time.monotonic()
        given = self._read(render.prompt_text(question, self.lang))
        mentioned = mentioned_points(question, given)
        console.print(render.recall_panel(question, mentioned, self.lang))
        rating = fallback_rating(mentioned)  # kept if the rating never comes: the answer is not lost
        try:
            _, rating = self._ask_until_valid(quiz_t("ask_rating", self.lang), parse_rating)
        finally:
            self._save_answer(Answered(question, given, rating != "again", rating, time.monotonic() - began, None, tuple(mentioned)))
        return "done"

    def _kata(self) -> None:
        self._phase("kata", self._kata_body)

    def _kata_body(self, log: PhaseLog) -> str:
        from attnquiz import katas
        from attnquiz.grading.onsave import grade_on_save

        choice = self.plan.kata
        kata = choice.kata
        ws = katas.create_workspace(kata, self.workspace, remember=False)
        self.entry = ws.entry
        console.print(f"[bold]{escape_markup(t('kata_title', self.lang, kata=kata.name, title=kata.text('title', self.lang)))}[/]")
        console.print(t("kata_chosen", self.lang, reason=t(f"reason_{choice.reason}", self.lang)), style="dim", markup=False)
        console.print(escape_markup(kata.text("description", self.lang)))
        console.print(t("workspace", self.lang, path=ws.path), soft_wrap=True, markup=False, highlight=False, emoji=False)
        console.print(t("edit", self.lang, file=ws.entry), soft_wrap=True, markup=False, highlight=False, emoji=False)
        console.print(t("rules_kata", self.lang), style="dim", markup=False)
        if self.lines.tty:
            console.print(t("rules_kata_skip", self.lang), style="dim", markup=False)
        if not self.bar.enabled:
            console.print(t("waiting", self.lang, left=t("left", self.lang, time=clock_text(self.clock.left("kata")))), markup=False)
        stop = threading.Event()
        outcome: dict[str, str] = {}
        timer = threading.Timer(self.clock.left("kata"), stop.set)
        timer.daemon = True
        timer.start()
        listener = self._listen_for_skip(stop, outcome) if self.lines.tty else None

        def on_grading() -> None:
            self.grading = True
            console.print(t("grading", self.lang), style="dim", markup=False)
            self.bar.refresh()

        def on_result(result: GradeResult) -> None:
            self.grading = False
            self._kata_result(log, result)
            if result.passed:
                outcome.setdefault("ended", "done")
                stop.set()
            elif not stop.is_set() and not self.bar.enabled:
                console.print(t("waiting", self.lang, left=t("left", self.lang, time=clock_text(self.clock.left("kata")))), markup=False)

        try:
            grade_on_save(kata, ws.entry, baseline=kata.starter.read_bytes(), on_grading=on_grading, on_result=on_result, stop=stop, timeout=GRADE_TIMEOUT_S)
        finally:
            self.grading = False
            timer.cancel()
            stop.set()
            if listener is not None:
                listener.join()
        ended = outcome.get("ended", "time")
        if ended == "stopped":
            raise _Stop
        if ended == "time":
            raise _TimeUp
        if ended == "skipped":
            console.print(t("kata_skipped", self.lang), style="yellow")
        return ended

    def _listen_for_skip(self, stop: threading.Event, outcome: dict[str, str]) -> threading.Thread:
        """On a terminal, `skip` gives the kata up and `:q` ends the interview, while saves are graded."""

        def listen() -> None:
            while not stop.is_set():
                try:
                    line = self.lines.get(time.monotonic() + 0.2)
                except _Stop:
                    outcome.setdefault("ended", "stopped")
                    stop.set()
                    return
                if line is None:
                    continue
                word = line.strip().casefold()
                if word in SKIP_WORDS or word in QUIT_WORDS:
                    outcome.setdefault("ended", "stopped" if word in QUIT_WORDS else "skipped")
                    stop.set()
                elif word:
                    console.print(t("rules_kata_skip", self.lang), style="dim", markup=False)

        thread = threading.Thread(target=listen, name="attnquiz-skip", daemon=True)
        thread.start()
        return thread

    def _kata_result(self, log: PhaseLog, result: GradeResult) -> None:
        """Record the grading as `attnquiz grade` does and show the checks (no diagnosis: no hints)."""
        from attnquiz import katas
        from attnquiz.cli_common import err_console
        from attnquiz.errors import AttnquizError
        from attnquiz.interview import KataTry

        self.last_grade = result
        passed, total = result.counts
        log.tries.append(KataTry(result.passed, passed, total, result.duration_s))
        try:
            katas.record_attempt(result.kata, result.passed, passed, total, result.duration_s)
        except (AttnquizError, OSError) as exc:
            err_console.print(f"[bold red]error:[/] {escape_markup(t('not_recorded', self.lang, error=exc))}", soft_wrap=True)
        if result.passed:
            console.print(t("kata_passed", self.lang, total=total, seconds=result.duration_s), style="bold green", markup=False)
            return
        console.print(t("kata_failed", self.lang, passed=passed, total=total, seconds=result.duration_s), style="bold red", markup=False)
        self._failed_checks(result)

    def _failed_checks(self, result: GradeResult) -> None:
        failed = [c for c in result.checks if not c.passed]
        for check in failed[:SHOWN_FAILURES]:
            console.print(f" [red]✗[/] {escape_markup(check.name)}" + (f" — {escape_markup(check.message)}" if check.message else ""), soft_wrap=True, emoji=False)
        if len(failed) > SHOWN_FAILURES:
            console.print(t("more_failures", self.lang, n=len(failed) - SHOWN_FAILURES), style="dim", markup=False)

    # ------------------------------------------------------------------- the record and the report

    def _save(self, final: bool) -> None:
        from attnquiz import schedule

        report = self.record.to_json()
        verdict = report["verdict"] if final else "unfinished"
        report["verdict"] = verdict
        self.store.save_interview(
            self.interview_id, schedule.now(), self.record.kata_passed, self.record.total(), verdict, json.dumps(report, ensure_ascii=False)
        )

    def _report(self) -> None:
        from rich.table import Table

        from attnquiz.interview import PHASES

        r, lang = self.record, self.lang
        console.print()
        console.rule(f"[bold]{escape_markup(t('report_title', lang))}[/]")
        table = Table(show_footer=True)
        table.add_column(t("col_phase", lang), footer=t("total", lang))
        table.add_column(t("col_result", lang))
        table.add_column(t("col_points", lang), justify="right", footer=f"{r.total()}/100")
        table.add_column(t("col_time", lang), justify="right")
        table.add_column(t("col_ended", lang))
        for i, phase in enumerate(PHASES, 1):
            log = r.phases[phase]
            points = f"{r.points(phase):.1f}".rstrip("0").rstrip(".") + f"/{r.available(phase)}" if r.available(phase) else "—"
            used = f"{clock_text(log.seconds)} / {clock_text(log.allowed)}" if log.ended != "not_reached" else "—"
            style = {"done": "green", "time": "yellow", "skipped": "yellow", "stopped": "red"}.get(log.ended, "dim")
            table.add_row(f"{i}. {t('phase_' + phase, lang)}", escape_markup(self._result_text(phase)), points, used, f"[{style}]{t('ended_' + log.ended, lang)}[/]")
        console.print(table)
        verdict = r.verdict()
        stopped_in = next((i for i, p in enumerate(PHASES, 1) if r.phases[p].ended == "stopped"), len(PHASES))
        style = {"ready": "bold green", "borderline": "bold yellow"}.get(verdict, "bold red")
        console.print(t(f"verdict_{verdict}", lang, points=r.total(), i=stopped_in), style=style, markup=False)
        console.print(t("rubric", lang), style="dim", markup=False)
        self._mistakes()
        self._kata_report()
        console.print(t("saved", lang, id=self.interview_id), style="cyan", markup=False)

    def _result_text(self, phase: str) -> str:
        r, lang, log = self.record, self.lang, self.record.phases[phase]
        if log.ended == "not_reached":
            return t("result_none", lang)
        if phase == "kata":
            name = self.plan.kata.kata.name
            best = max(log.tries, key=lambda x: (x.passed, x.checks_passed), default=None)
            if best is None:
                return t("result_kata_none", lang, kata=name)
            if r.kata_passed:
                return t("result_kata_passed", lang, kata=name, n=len(log.tries))
            return t("result_kata_failed", lang, kata=name, passed=best.checks_passed, total=best.checks_total, n=len(log.tries))
        if phase == "explain":
            if not log.answers:
                return t("result_none", lang)
            answer = log.answers[0]
            return t("result_explain", lang, rating=t("rating_" + answer.rating, lang), points=sum(answer.mentioned), total=len(answer.mentioned))
        return t("result_questions", lang, right=log.right, planned=log.planned) if log.planned else t("result_none", lang)

    def _mistakes(self) -> None:
        from attnquiz import render
        from attnquiz.interview import PHASES

        lang = self.lang
        console.print()
        console.rule(escape_markup(t("mistakes_title", lang)))
        mistakes = self.record.mistakes()
        if not mistakes and any(self.record.phases[p].answers for p in PHASES):
            console.print(t("no_mistakes", lang), style="green", markup=False)
        for i, answered in enumerate(mistakes, 1):
            console.print(render.question_panel(answered.question, i, len(mistakes), lang))
            if answered.verdict is not None:
                console.print(render.verdict_panel(answered.question, answered.verdict, lang))
            else:
                console.print(render.recall_panel(answered.question, list(answered.mentioned), lang))
        missed = [q.id for p in PHASES if p != "kata" and self.record.phases[p].ended != "not_reached" for q in self.record.not_answered(p)]
        if missed:
            console.print(t("not_answered", lang, ids=", ".join(missed)), style="yellow", markup=False, soft_wrap=True)
        if mistakes or missed:
            console.print(t("ask_again", lang), style="dim", markup=False)

    def _kata_report(self) -> None:
        lang, name = self.lang, self.plan.kata.kata.name
        if self.record.phases["kata"].ended == "not_reached":
            return
        console.print()
        if self.record.kata_passed:
            console.print(t("kata_report_passed", lang, kata=name), style="green", markup=False)
            return
        if self.last_grade is None:
            console.print(t("kata_report_none", lang, kata=name), style="yellow", markup=False)
        else:
            console.print(t("kata_report_failed", lang, kata=name), style="bold", markup=False)
            self._failed_checks(self.last_grade)
            for d in self.last_grade.diagnosis:
                title, fix = d.text(lang)
                console.print(t("diagnosis", lang, title=title, fix=fix), style="yellow", markup=False, soft_wrap=True)
        if self.entry is not None:
            console.print(t("kata_next", lang, kata=name, file=self.entry), style="dim", markup=False, soft_wrap=True)


def _signals_as_interrupt() -> dict[int, Any]:
    """SIGTERM and SIGHUP end the interview as Ctrl-C does: what was answered is saved, the report shown."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous: dict[int, Any] = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None:
            try:
                previous[signum] = signal.signal(signum, handler)
            except (ValueError, OSError):
                pass
    return previous
