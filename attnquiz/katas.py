"""Katas: manifests, workspaces, hints and the learner's progress.

Plain core: no typer, no rich, no torch. The grading itself lives in attnquiz.grading; this module only
knows where content is and what the learner has done. Graded attempts and workspace bookkeeping
(started, where, hints shown, the last kata) go to the progress database (attnquiz/store.py).
"""

from __future__ import annotations

import ast
import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import yaml

from attnquiz.errors import UsageError
from attnquiz.paths import content_dir, user_dir

MANIFEST = "kata.yaml"
MARKER = ".attnquiz-kata"
LEGACY_STATE_FILE = "katas.json"  # where an earlier attnquiz kept kata bookkeeping
DEFAULT_WORKSPACE = Path("attnquiz-katas")


@dataclass(frozen=True)
class Kata:
    """One kata folder, parsed from its kata.yaml (version 1)."""

    name: str  # folder name, what the learner types
    path: Path  # the kata folder (hidden content included)
    title: str  # one line shown in the list
    difficulty: str  # easy / medium / hard
    entry: str  # the learner's file name in the workspace, e.g. multihead.py
    symbols: tuple[str, ...]  # top-level names the learner's file must define
    forbidden: tuple[str, ...]  # dotted names the learner's code may not call
    hints: tuple[str, ...]  # progressive: each one gives away a little more
    description: str  # the task, written into the workspace's TASK.md
    showcase: Optional[str] = None  # optional file with showcase(module, kata_dir) -> str
    requires: tuple[str, ...] = ()  # katas that come before this one on the ladder (advice, not a lock)
    topics: tuple[str, ...] = ()  # question-bank topics it exercises (an interview's follow-up questions)
    zh: dict[str, Any] = field(default_factory=dict)  # Chinese texts: title, description, hints

    def text(self, what: str, lang: str) -> str:
        """The title or description in LANG (English where no translation exists)."""
        return str(self.zh.get(what) or getattr(self, what)) if lang == "zh" else str(getattr(self, what))

    def hint(self, number: int, lang: str) -> str:
        """Hint NUMBER (1-based) in LANG."""
        hints = self.zh.get("hints") or () if lang == "zh" else ()
        return hints[number - 1] if number <= len(hints) and hints[number - 1] else self.hints[number - 1]

    @property
    def hidden_suite(self) -> Path:
        return self.path / "test_hidden.py"

    @property
    def reference(self) -> Path:
        return self.path / "reference.py"

    @property
    def starter(self) -> Path:
        return self.path / "starter.py"


@dataclass(frozen=True)
class Mistake:
    """A known wrong variant of the reference: the patch turns reference.py into it."""

    name: str
    title: str
    fix: str
    patch: tuple[tuple[str, str], ...]
    title_zh: str = ""
    fix_zh: str = ""
    check: str = ""  # a mistake that shows only in a resource bound is named by the check that catches it

    def apply(self, reference_source: str) -> str:
        """The reference with this mistake; each `old` must occur exactly once (self-checked)."""
        source = reference_source
        for old, new in self.patch:
            if source.count(old) != 1:
                raise ValueError(f"mistake {self.name}: patch target occurs {source.count(old)} times: {old!r}")
            source = source.replace(old, new)
        return source


def katas_root() -> Path:
    return content_dir("katas")


def list_katas() -> list[Kata]:
    """Every kata folder (one with a kata.yaml) in ladder order: a kata after the ones it requires,
    otherwise easier first, then by name."""
    root = katas_root()
    found = [load_kata(p.name) for p in sorted(root.iterdir()) if (p / MANIFEST).is_file()] if root.is_dir() else []
    order = {"easy": 0, "medium": 1, "hard": 2}
    pending = sorted(found, key=lambda k: (order.get(k.difficulty, 9), k.name))
    names = {k.name for k in found}
    ladder: list[Kata] = []
    while pending:
        placed = {k.name for k in ladder}
        ready = next((k for k in pending if all(r in placed or r not in names for r in k.requires)), pending[0])
        ladder.append(ready)
        pending.remove(ready)
    return ladder


def kata_names() -> list[str]:
    root = katas_root()
    return sorted(p.name for p in root.iterdir() if (p / MANIFEST).is_file()) if root.is_dir() else []


def load_kata(name: str) -> Kata:
    """Parse katas/NAME/kata.yaml; an unknown name is a usage error listing the known ones."""
    folder = katas_root() / name
    manifest = folder / MANIFEST
    if not name or "/" in name or "\\" in name or not manifest.is_file():
        known = ", ".join(kata_names()) or "none"
        raise UsageError(f"unknown kata {name!r}; known katas: {known} (run `attnquiz kata` to list them)")
    try:
        data = yaml.load(manifest.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        return Kata(
            name=name,
            path=folder,
            title=_en(data["title"]),
            difficulty=str(data["difficulty"]),
            entry=str(data["entry"]),
            symbols=tuple(str(s) for s in data["symbols"]),
            forbidden=tuple(str(s) for s in data.get("forbidden") or ()),
            hints=tuple(_en(h) for h in data["hints"]),
            description=_en(data["description"]),
            showcase=data.get("showcase"),
            requires=tuple(str(r) for r in data.get("requires") or ()),
            topics=tuple(str(t) for t in data.get("topics") or ()),
            zh={
                "title": _zh(data["title"]),
                "description": _zh(data["description"]),
                "hints": tuple(_zh(h) for h in data["hints"]),
            },
        )
    except (KeyError, TypeError, yaml.YAMLError) as exc:
        raise UsageError(f"{manifest}: invalid kata manifest ({exc!r}); fix the file or reinstall attnquiz") from None


def _en(value: Any) -> str:
    """A manifest text: a plain string (English) or {en, zh}."""
    return str(value["en"] if isinstance(value, dict) else value).strip()


def _zh(value: Any) -> Optional[str]:
    return str(value["zh"]).strip() if isinstance(value, dict) and value.get("zh") else None


def load_mistakes(folder: Path) -> list[Mistake]:
    """Read MISTAKES from FOLDER/mistakes.py without executing it (a literal), so no torch is needed."""
    tree = ast.parse((folder / "mistakes.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "MISTAKES" for t in node.targets):
            raw = ast.literal_eval(node.value)
            return [
                Mistake(m["name"], m["title"], m["fix"], tuple((old, new) for old, new in m["patch"]),
                        m.get("title_zh", ""), m.get("fix_zh", ""), m.get("check", ""))
                for m in raw
            ]  # fmt: skip
    return []


def mistake_sources(kata: Kata) -> dict[str, str]:
    """Name -> full source of each known-mistake variant (for the self-check and the diagnosis)."""
    reference = kata.reference.read_text(encoding="utf-8")
    return {m.name: m.apply(reference) for m in load_mistakes(kata.path)}


# --- workspaces -------------------------------------------------------------------------------


@dataclass
class Workspace:
    """What `attnquiz kata NAME` produced: where, which file to edit, and what changed."""

    path: Path
    entry: Path
    created: bool  # a fresh workspace (False: it already existed and was left alone)
    backup: Optional[Path] = None  # set by --reset


def create_workspace(kata: Kata, directory: Optional[Path] = None, reset: bool = False, remember: bool = True) -> Workspace:
    """Copy the starter, the sample test and TASK.md; never overwrite the learner's file.

    With reset=True the learner's file is first saved as `<entry>.bak-<timestamp>`. With remember=False
    the kata keeps its own workspace and last-kata bookkeeping (an interview's one-off folder).
    """
    where = (directory or DEFAULT_WORKSPACE / kata.name).expanduser().resolve()
    if where.exists() and not where.is_dir():
        raise UsageError(f"{where} exists and is not a folder; pass another --dir")
    owner = _marker_kata(where)
    if owner is not None and owner != kata.name:
        raise UsageError(f"{where} is the workspace of kata {owner!r}; pick another --dir for {kata.name!r}")
    where.mkdir(parents=True, exist_ok=True)
    entry = where / kata.entry
    created = not entry.exists()
    backup = None
    if entry.exists() and reset:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = entry.with_name(f"{entry.name}.bak-{stamp}")
        n = 1
        while backup.exists():
            backup = entry.with_name(f"{entry.name}.bak-{stamp}-{n}")
            n += 1
        shutil.copy2(entry, backup)
    if created or reset:
        shutil.copyfile(kata.starter, entry)
    sample = where / f"test_{kata.name}_sample.py"
    if not sample.exists() or reset:
        shutil.copyfile(kata.path / "test_visible.py", sample)
    (where / "TASK.md").write_text(_task_text(kata), encoding="utf-8")
    (where / MARKER).write_text(json.dumps({"kata": kata.name, "entry": kata.entry}) + "\n", encoding="utf-8")
    if remember:
        mark_started(kata.name, where)
    return Workspace(path=where, entry=entry, created=created, backup=backup)


def _task_text(kata: Kata) -> str:
    return (
        f"# {kata.title}\n\n{kata.description}\n\n"
        f"Edit `{kata.entry}`; its docstring is the full contract.\n\n"
        f"- `python -m pytest -q test_{kata.name}_sample.py` runs a small sample test.\n"
        f"- `attnquiz grade` runs the hidden suite and names known mistakes.\n"
        f"- `attnquiz hint` shows the next hint ({len(kata.hints)} in all).\n"
    ) + (f"\n## {kata.zh['title']}\n\n{kata.zh['description']}\n" if kata.zh.get("title") and kata.zh.get("description") else "")


def _marker_kata(directory: Path) -> Optional[str]:
    """The kata named by DIRECTORY's marker file, if it has a readable one."""
    try:
        data = json.loads((directory / MARKER).read_text(encoding="utf-8"))
        return str(data["kata"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def workspace_kata(directory: Path) -> Optional[tuple[str, Path]]:
    """(kata name, learner file) when DIRECTORY is a kata workspace, else None.

    The marker's entry must be a plain file name inside the workspace; anything else (a path, `..`)
    is a usage error, never a file outside the workspace to grade.
    """
    marker = directory / MARKER
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        kata, entry = str(data["kata"]), str(data["entry"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if entry in ("", ".", "..") or Path(entry).name != entry or "/" in entry or "\\" in entry or "\0" in entry:
        raise UsageError(
            f"{marker}: entry {entry!r} is not a file name in the workspace; "
            f"run `attnquiz kata {kata} --dir {directory}` again to rewrite the marker"
        )
    return kata, directory / entry


def default_kata(name: Optional[str], cwd: Path) -> Kata:
    """NAME, else the kata of the workspace in CWD, else the last one started."""
    if name is None:
        here = workspace_kata(cwd)
        name = here[0] if here is not None else last_started()
    if name is None:
        raise UsageError("no kata given and none started; run `attnquiz kata NAME` first, or name the kata")
    return load_kata(name)


def resolve_target(name: Optional[str], file: Optional[Path], cwd: Path) -> tuple[Kata, Path]:
    """Which kata and which file `attnquiz grade` means; raise UsageError saying what to do."""
    kata = default_kata(name, cwd)
    if file is None:
        here = workspace_kata(cwd)
        if here is not None and here[0] == kata.name:
            file = here[1]
        else:
            ws = workspace_of(kata.name)
            file = (ws / kata.entry) if ws is not None else (cwd / kata.entry)
    file = file.expanduser()
    if not file.is_file():
        raise UsageError(
            f"{file}: no such file to grade for kata {kata.name!r}; run `attnquiz kata {kata.name}` "
            f"to create the workspace, or pass --file PATH"
        )
    return kata, file


# --- progress -----------------------------------------------------------------------------------
# Everything lives in the progress database (attnquiz/store.py): attempts, and which katas were
# started where, hints seen, the last kata. Concurrent commands get transactions; `stats --reset`
# clears it all at once. An older attnquiz's katas.json is imported once, then renamed.


def _store() -> Any:
    from attnquiz.store import Store

    store = Store.open()
    try:
        _import_legacy_state(store)
    except BaseException:
        store.close()
        raise
    return store


def _import_legacy_state(store: Any) -> None:
    """katas.json from before the database kept this: imported, then renamed to katas.json.imported.
    A damaged one is reported with its path, never silently replaced."""
    path = user_dir() / LEGACY_STATE_FILE
    if not path.exists():
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        states = data["katas"]
        if not isinstance(states, dict) or not all(isinstance(v, dict) for v in states.values()):
            raise ValueError("katas is not a mapping of mappings")
        cleaned = {str(k): {f: _iso(v.get(f)) if f in ("started", "gave_up") else v.get(f) for f in _LEGACY_FIELDS} for k, v in states.items()}
        last = data.get("last") if isinstance(data.get("last"), str) else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(
            f"{path}: damaged kata bookkeeping from an older attnquiz ({exc}); move it aside and run again "
            "(your graded attempts are in the progress database and are not affected)"
        ) from None
    store.import_kata_state(cleaned, last)
    path.replace(path.with_name(LEGACY_STATE_FILE + ".imported"))


_LEGACY_FIELDS = ("started", "workspace", "hints_shown", "gave_up")


def _iso(value: Any) -> Optional[str]:
    """An ISO time from katas.json in the store's own text form (None when absent or unreadable)."""
    from attnquiz.store import to_text

    if not isinstance(value, str):
        return None
    try:
        return to_text(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def mark_started(name: str, workspace: Path) -> None:
    from attnquiz import schedule

    with _store() as store:
        store.mark_kata_started(name, schedule.now(), str(workspace))


def record_attempt(
    name: str, passed: bool, checks_passed: int, checks_total: int, duration_s: float, when: Optional[datetime] = None
) -> None:
    """Record one graded attempt and that the kata was started and is the last one."""
    from attnquiz import schedule

    with _store() as store:
        store.record_kata_attempt(name, passed, checks_passed, checks_total, duration_s, when)
        store.mark_kata_started(name, when or schedule.now())


def attempts(name: str) -> list[Any]:
    """Graded attempts of one kata, oldest first (store.KataAttempt rows)."""
    with _store() as store:
        return list(store.kata_attempts(name))


def next_hint(kata: Kata, lang: str = "en") -> tuple[int, str]:
    """(1-based number, text) of the next hint; after the last one, the last one again."""
    with _store() as store:
        shown = store.next_hint(kata.name, len(kata.hints))
    return shown, kata.hint(shown, lang)


def status(name: str) -> str:
    """new / started / passed: passed once any graded attempt passed."""
    with _store() as store:
        tried = store.kata_attempts(name)
        started = name in store.kata_states()
    if any(a.passed for a in tried):
        return "passed"
    return "started" if tried or started else "new"


def progress(name: str) -> dict[str, Any]:
    """started_at, workspace, hints_shown, gave_up_at of one kata (empty when never touched)."""
    with _store() as store:
        state = store.kata_states().get(name)
    return state._asdict() if state is not None else {}


def last_started() -> Optional[str]:
    with _store() as store:
        last = store.last_kata()
    return last if isinstance(last, str) and last in kata_names() else None


def workspace_of(name: str) -> Optional[Path]:
    where = progress(name).get("workspace")
    return Path(where) if where else None


def solution(kata: Kata, give_up: bool = False) -> str:
    """The reference source, only once the kata has passed (or the learner gives up)."""
    if not give_up and status(kata.name) != "passed":
        raise UsageError(
            f"the solution of {kata.name!r} unlocks once `attnquiz grade {kata.name}` passes; "
            f"try `attnquiz hint {kata.name}`, or pass --give-up to see it now"
        )
    if give_up:
        from attnquiz import schedule

        with _store() as store:
            store.mark_gave_up(kata.name, schedule.now())
    return kata.reference.read_text(encoding="utf-8")


