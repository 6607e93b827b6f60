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
from typing import TYPE_CHECKING, Any, Optional

import yaml

from attnquiz.errors import UsageError
from attnquiz.i18n import MESSAGES, Text, t
from attnquiz.paths import content_dir, user_dir

if TYPE_CHECKING:
    from attnquiz.store import KataRating, KataReview

MANIFEST = "kata.yaml"
MARKER = ".attnquiz-kata"
LEGACY_STATE_FILE = "katas.json"  # where an earlier attnquiz kept kata bookkeeping
DEFAULT_WORKSPACE = Path("attnquiz-katas")
# libyaml's safe loader where PyYAML has it: the ladder parses every manifest, 8x faster than pure Python.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    checks: dict[str, dict[str, str]] = field(default_factory=dict)  # hidden check -> {en, zh}: what it verifies
    hint_checks: tuple[tuple[str, ...], ...] = ()  # per hint: the hidden checks it addresses (may be none)

    def text(self, what: str, lang: str) -> str:
        """The title or description in LANG (English where no translation exists)."""
        return str(self.zh.get(what) or getattr(self, what)) if lang == "zh" else str(getattr(self, what))

    def hint(self, number: int, lang: str) -> str:
        """Hint NUMBER (1-based) in LANG."""
        hints = self.zh.get("hints") or () if lang == "zh" else ()
        return hints[number - 1] if number <= len(hints) and hints[number - 1] else self.hints[number - 1]

    def check_text(self, name: str, lang: str) -> str:
        """What check NAME verifies, in LANG: a hidden check from the manifest's `checks:`, the
        grader's own ones (syntax, loads...) from attnquiz.i18n; "" for an unknown name."""
        entry = self.checks.get(name)
        if entry is not None:
            return entry.get(lang) or entry.get("en", "")
        key = f"check_{name}"
        return t(key, lang) if key in MESSAGES else ""

    def hints_for(self, check: str) -> list[int]:
        """1-based numbers of the hints that name CHECK, in order."""
        return [n for n, checks in enumerate(self.hint_checks, start=1) if check in checks]

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
        raise UsageError(Text("err_unknown_kata", name=repr(name), known=known))
    try:
        data = yaml.load(manifest.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
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
            checks={str(k): {"en": _en(v), "zh": _zh(v) or _en(v)} for k, v in (data.get("checks") or {}).items()},
            hint_checks=tuple(_checks(h) for h in data["hints"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError, yaml.YAMLError) as exc:
        raise UsageError(Text("err_manifest", path=str(manifest), detail=repr(exc))) from None


def _en(value: Any) -> str:
    """A manifest text: a plain string (English) or {en, zh}."""
    return str(value["en"] if isinstance(value, dict) else value).strip()


def _zh(value: Any) -> Optional[str]:
    return str(value["zh"]).strip() if isinstance(value, dict) and value.get("zh") else None


def _checks(hint: Any) -> tuple[str, ...]:
    """A hint's `checks:` (the hidden checks it addresses), a list of check names."""
    checks = hint.get("checks") if isinstance(hint, dict) else None
    if checks is None:
        return ()
    if not isinstance(checks, list) or not all(isinstance(c, str) and c for c in checks):
        raise ValueError(f"a hint's checks must be a list of check names, got {checks!r}")
    return tuple(checks)


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
        raise UsageError(Text("err_not_a_folder", where=str(where)))
    owner = _marker_kata(where)
    if owner is not None and owner != kata.name:
        raise UsageError(Text("err_other_workspace", where=str(where), owner=repr(owner), kata=repr(kata.name)))
    where.mkdir(parents=True, exist_ok=True)
    entry = where / kata.entry
    created = not entry.exists()
    backup = None
    if entry.exists() and reset:
        from attnquiz import schedule

        stamp = schedule.now().astimezone().strftime("%Y%m%d-%H%M%S")  # local time; ATTNQUIZ_NOW pins it
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
        raise UsageError(Text("err_marker_entry", marker=str(marker), entry=repr(entry), kata=kata, directory=str(directory)))
    return kata, directory / entry


def default_kata(name: Optional[str], cwd: Path) -> Kata:
    """NAME, else the kata of the workspace in CWD, else the last one started."""
    if name is None:
        here = workspace_kata(cwd)
        name = here[0] if here is not None else last_started()
    if name is None:
        raise UsageError(Text("err_no_kata"))
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
        raise UsageError(Text("err_no_file", file=str(file), kata=repr(kata.name), name=kata.name))
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
        raise UsageError(Text("err_legacy_state", path=str(path), detail=str(exc))) from None
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
    name: str,
    passed: bool,
    checks_passed: int,
    checks_total: int,
    duration_s: float,
    when: Optional[datetime] = None,
    failed_checks: Optional[list[str]] = None,
    review: bool = True,
) -> Optional[KataRating]:
    """Record one graded attempt (with the checks it failed, for `attnquiz hint`) and that the kata
    was started and is the last one; then let it rate the kata's review card (a first pass makes
    the card; see store.rate_kata). review=False: the attempt rates nothing (the untouched
    starter). Returns the store.KataRating, if any."""
    from attnquiz import schedule

    moment = when or schedule.now()
    with _store() as store:
        store.record_kata_attempt(name, passed, checks_passed, checks_total, duration_s, when, failed_checks)
        store.mark_kata_started(name, moment)
        return store.rate_kata(name, passed, duration_s, moment) if review else None


# --- reviews ------------------------------------------------------------------------------------
# A passed kata comes back like a question: an FSRS card (store.KataReview). When it is due,
# `attnquiz kata NAME --fresh` archives the learner's file, restores the starter and opens the
# review; the next grading rates it.


def reviews() -> dict[str, KataReview]:
    """The review card of every bundled kata that has one, by name (store.KataReview).

    Katas passed before reviews existed get their card here, once (store.adopt_passed_katas).
    """
    names = kata_names()
    with _store() as store:
        store.adopt_passed_katas(names)
        found = store.kata_reviews()
    return {name: found[name] for name in names if name in found}


def due_reviews(at: datetime) -> list[KataReview]:
    """Kata reviews due at AT, or opened with --fresh and not graded yet; most overdue first."""
    return sorted((r for r in reviews().values() if r.due <= at or r.fresh_since is not None), key=lambda r: r.due)


def next_on_ladder() -> Optional[tuple[Kata, Optional[Path]]]:
    """The first kata of the ladder (list_katas order) that has not passed, with the learner's file
    when it was started and its workspace file still exists; None when every kata has passed."""
    with _store() as store:
        passed = {a.kata for a in store.kata_attempts() if a.passed}
        states = store.kata_states()
    for kata in list_katas():
        if kata.name in passed:
            continue
        state = states.get(kata.name)
        file = Path(state.workspace) / kata.entry if state is not None and state.workspace else None
        return kata, file if file is not None and file.is_file() else None
    return None


def is_untouched(kata: Kata, file: Path) -> bool:
    """FILE is still the kata's starter, byte for byte: grading it is no attempt at recall."""
    try:
        return file.read_bytes() == kata.starter.read_bytes()
    except OSError:
        return False


def fresh_start(kata: Kata, directory: Optional[Path] = None) -> tuple[Workspace, Optional[KataReview]]:
    """`attnquiz kata NAME --fresh`: archive the learner's file, restore the starter, open the review.

    Without --dir the workspace is the one the kata was last worked in, while it still exists, so
    the file archived is the learner's solution wherever the command is typed. Returns the workspace
    and the opened store.KataReview (None when the kata has no card yet: it never passed).
    """
    from attnquiz import schedule

    if directory is None:
        recorded = workspace_of(kata.name)
        if recorded is not None and _marker_kata(recorded) == kata.name:
            directory = recorded
    ws = create_workspace(kata, directory, reset=True)
    with _store() as store:
        store.adopt_passed_katas([kata.name])  # passed before reviews existed: its card first
        opened = store.open_kata_review(kata.name, schedule.now())
    return ws, opened


def attempts(name: str) -> list[Any]:
    """Graded attempts of one kata, oldest first (store.KataAttempt rows)."""
    with _store() as store:
        return list(store.kata_attempts(name))


@dataclass(frozen=True)
class Hint:
    """The hint `attnquiz hint` shows, and why."""

    number: int  # 1-based
    text: str
    check: Optional[str]  # the last grading's first failing check, when this hint addresses it
    all_seen: bool  # every hint of the kata has now been shown


def choose_hint(kata: Kata, seen: frozenset[int], failed: Optional[list[str]]) -> tuple[int, Optional[str]]:
    """(number, addressed check): for the first check the last grading FAILED, the first hint naming
    it not yet SEEN; else the next hint in order; once all are seen, the last one naming that check,
    else the last hint."""
    first = failed[0] if failed else None
    matching = kata.hints_for(first) if first else []
    fresh = [n for n in matching if n not in seen]
    if fresh:
        return fresh[0], first
    unseen = [n for n in range(1, len(kata.hints) + 1) if n not in seen]
    if unseen:
        return unseen[0], first if unseen[0] in matching else None
    return (matching[-1], first) if matching else (len(kata.hints), None)


def take_hint(kata: Kata, lang: str = "en") -> Hint:
    """Choose a hint (see choose_hint), count it as seen, and return it in LANG."""
    chosen: list[tuple[int, Optional[str], bool]] = []

    def choose(seen: frozenset[int]) -> int:
        number, check = choose_hint(kata, seen, failed)
        chosen.append((number, check, set(range(1, len(kata.hints) + 1)) <= seen | {number}))
        return number

    with _store() as store:
        failed = store.last_failed_checks(kata.name)
        store.take_hint(kata.name, choose)
    number, check, all_seen = chosen[-1]  # the choice that committed (a busy retry chooses again)
    return Hint(number, kata.hint(number, lang), check, all_seen)


def next_hint(kata: Kata, lang: str = "en") -> tuple[int, str]:
    """(1-based number, text) of the hint `attnquiz hint` shows now (see take_hint)."""
    hint = take_hint(kata, lang)
    return hint.number, hint.text


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
    """The reference source, only once the kata has passed (or the learner gives up).

    During a review opened with --fresh it is hidden again: reading it then needs --give-up, and
    the review rates Again.
    """
    if not give_up and status(kata.name) != "passed":
        raise UsageError(Text("err_solution_locked", kata=repr(kata.name), name=kata.name))
    if not give_up and review_open(kata.name):
        raise UsageError(Text("err_solution_in_review", kata=repr(kata.name), name=kata.name))
    if give_up:
        from attnquiz import schedule

        with _store() as store:
            store.mark_gave_up(kata.name, schedule.now())
    return kata.reference.read_text(encoding="utf-8")


def review_open(name: str) -> bool:
    """A review of NAME was opened with --fresh and no grading has rated it yet."""
    with _store() as store:
        review = store.kata_reviews().get(name)
    return review is not None and review.fresh_since is not None
