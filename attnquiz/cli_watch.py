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
        "en": "stopped watching; the grading under way was not recorded",
        "zh": "已停止监视；进行中的这次评分没有记录",
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

    from attnquiz.cli_kata import _record, _render
    from attnquiz.grading import GradingInterrupted, expected_checks
    from attnquiz.grading import runner
    from attnquiz.grading import watch as core

    shown = escape_markup(str(file))
    checks = expected_checks(kata)
    live = _LiveLine(lang)

    def on_grading() -> None:
        live.start(t("grading", lang, kata=kata.name))

    def on_progress(check: str) -> None:
        i = checks.index(check) + 1 if check in checks else 0
        live.update(t("running", lang, kata=kata.name, check=check, i=i, n=len(checks)))

    def on_result(result: GradeResult) -> None:
        live.stop()
        error = _record(kata.name, result)
        console.clear()
        _render(result, lang)
        if error:
            err_console.print(f"[bold red]error:[/] {escape_markup(t('not_recorded', lang, error=error))}", soft_wrap=True)
        console.print(f"\n[dim]{t('waiting', lang, file=shown)}[/]", soft_wrap=True, emoji=False)

    console.print(t("starting", lang, file=shown), soft_wrap=True, emoji=False, markup=False)
    signals = [s for s in (getattr(signal, "SIGHUP", None), signal.SIGTERM) if s is not None]
    previous = runner._on_signals(*signals)
    try:
        core.watch(
            kata, file, on_grading=on_grading, on_result=on_result, on_progress=on_progress,
            timeout=timeout, memory=memory, showcase=sample,
        )  # fmt: skip
    except GradingInterrupted as exc:  # SIGHUP or SIGTERM: everything started has ended
        live.stop()
        err_console.print(t("interrupted", lang), markup=False, emoji=False, highlight=False)
        return 128 + exc.signum
    except KeyboardInterrupt:  # Ctrl-C: the way to stop watching
        live.stop()
        console.print(t("stopped", lang), markup=False, emoji=False, highlight=False)
        return 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


class _LiveLine:
    """One transient line (rich's status spinner) while a grading runs; on a terminal only, so
    a pipe or a log gets the verdicts and nothing in between."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
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
