"""`attnquiz grade --watch`: grade on every save. Renders what attnquiz.grading.watch reports.

The core (the warm zygotes, the saves, the grading) is attnquiz/grading/watch.py; this module
only says what happens, in English or Chinese, and records each attempt as `attnquiz grade` does.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from attnquiz.cli_common import console, err_console, escape_markup

if TYPE_CHECKING:
    from attnquiz.grading import GradeResult
    from attnquiz.katas import Kata

MESSAGES: dict[str, dict[str, str]] = {
    "starting": {
        "en": "Watching {file}: every save is graded (Ctrl-C stops). Starting the grader…",
        "zh": "正在监视 {file}：每次保存都会评分（按 Ctrl-C 停止）。正在启动评分器……",
    },
    "grading": {"en": "Grading {kata}…", "zh": "正在评分 {kata}……"},
    "running": {"en": "Grading {kata}: {check} ({i}/{n})", "zh": "正在评分 {kata}：{check}（{i}/{n}）"},
    "waiting": {
        "en": "Waiting for the next save of {file} (Ctrl-C stops).",
        "zh": "等待 {file} 的下一次保存（按 Ctrl-C 停止）。",
    },
    "stopped": {"en": "Stopped watching.", "zh": "已停止监视。"},
    "interrupted": {
        "en": "stopped watching on {signal}; a grading under way is not recorded",
        "zh": "收到 {signal}，已停止监视；进行中的评分不会记录",
    },
    "not_recorded": {"en": "the attempt was not recorded: {error}", "zh": "这次尝试没有记录下来：{error}"},
    "no_json": {
        "en": "--watch and --json do not go together: drop --json to grade on every save, or --watch for one JSON report",
        "zh": "--watch 不能与 --json 同时使用：去掉 --json 可在每次保存时评分，去掉 --watch 可得到一份 JSON 报告",
    },
}


def t(key: str, lang: str, **args: object) -> str:
    """The message KEY in LANG (English where it has no translation), filled with ARGS."""
    entry = MESSAGES[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**args) if args else text


def watch(kata: Kata, file: Path, lang: str, timeout: float, memory: int, sample: bool) -> int:
    """Grade FILE on every save until Ctrl-C (exit code 0) or SIGTERM/SIGHUP (128 + the signal)."""
    import signal

    from attnquiz.cli_common import error_text
    from attnquiz.cli_kata import _record, _render, _say_rating
    from attnquiz.grading import expected_checks, runner
    from attnquiz.grading import watch as core

    checks = expected_checks(kata)
    live = _LiveLine()
    waiting = f"\n[dim]{escape_markup(t('waiting', lang, file=file))}[/]"

    def on_grading() -> None:
        live.start(t("grading", lang, kata=kata.name))

    def on_progress(check: str) -> None:
        i = checks.index(check) + 1 if check in checks else 0
        live.update(t("running", lang, kata=kata.name, check=check, i=i, n=len(checks)))

    def on_result(result: GradeResult) -> None:
        live.stop()
        # A save that passes rates an open kata review; a half-written one that fails does not
        # (a plain `attnquiz grade` that fails rates it Again).
        error, rated = _record(kata.name, result, review=result.passed)
        console.clear()
        _render(result, lang, kata)
        if rated is not None:
            _say_rating(kata.name, rated, False, lang)
        if error:
            _error(t("not_recorded", lang, error=error_text(error, lang)))
        console.print(waiting, soft_wrap=True, emoji=False)

    def on_refused(message: str) -> None:  # this save cannot be graded (too big): say so, wait for the next
        live.stop()
        console.clear()
        _error(message)
        console.print(waiting, soft_wrap=True, emoji=False)

    console.print(t("starting", lang, file=file), soft_wrap=True, emoji=False, markup=False, highlight=False)
    signals = [s for s in (getattr(signal, "SIGHUP", None), signal.SIGTERM) if s is not None]
    received: list[int] = []  # watchfiles turns the handler's exception into a plain KeyboardInterrupt
    previous = {s: signal.signal(s, lambda signum, frame: _interrupt(received, signum)) for s in signals}
    try:
        core.watch(
            kata, file, on_grading=on_grading, on_result=on_result, on_progress=on_progress,
            on_refused=on_refused, timeout=timeout, memory=memory, showcase=sample,
        )  # fmt: skip
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGHUP/SIGTERM (during a grading: GradingInterrupted)
        live.stop()  # before anything is printed
        signum = getattr(exc, "signum", None) or (received[0] if received else None)
        if signum is not None:  # everything started has ended; say which signal
            err_console.print(t("interrupted", lang, signal=signal.Signals(signum).name), markup=False, emoji=False, highlight=False)
            return 128 + signum
        if console.is_terminal:  # Ctrl-C, the way to stop watching: a line after the terminal's "^C"
            console.line()
        console.print(t("stopped", lang), markup=False, emoji=False, highlight=False)
        return 0
    finally:
        live.stop()  # also when the grader could not start (an error line follows)
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0


def _interrupt(received: list[int], signum: int) -> None:
    """SIGHUP or SIGTERM between gradings: stop watching (once: a second must not cut the clean-up)."""
    from attnquiz.grading import GradingInterrupted

    if not received:
        received.append(signum)
        raise GradingInterrupted(signum)


def _error(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {escape_markup(message)}", soft_wrap=True, emoji=False, highlight=False)


class _LiveLine:
    """One transient line (rich's status spinner) while a grading runs; on a terminal only, so
    a pipe or a log gets the verdicts and nothing in between."""

    def __init__(self) -> None:
        self.status: Optional[Any] = None
        self.lock = threading.Lock()

    def start(self, text: str) -> None:
        if not console.is_terminal:
            return
        with self.lock:
            self.status = console.status(escape_markup(text), spinner="dots")
            self.status.start()

    def update(self, text: str) -> None:
        with self.lock:
            if self.status is not None:
                self.status.update(escape_markup(text))

    def stop(self) -> None:
        with self.lock:
            if self.status is not None:
                self.status.stop()
                self.status = None
