"""The question bank: safe YAML loading, schema validation with line numbers, and the Question model.

Every problem is reported as `file:line: question-id: what is wrong`. Nothing a file holds
(binary data, alias bombs, Python tags, deep nesting, huge size) may crash the loader.
"""

from __future__ import annotations

import json
import math
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import yaml

from attnquiz.errors import BankError
from attnquiz.paths import content_dir

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "question-bank.schema.json"

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_EXPANDED_NODES = 2_000_000
MAX_DEPTH = 64

TYPES = ("single", "multi", "truefalse", "numeric", "short", "recall", "bug")
DIFFICULTIES = ("easy", "medium", "hard")
LANGS = ("en", "zh")
_LANG_NAMES = {"en": "English", "zh": "Chinese"}

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_COLLECTION_TAGS = {"tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"}
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a question file."""

    file: str
    line: int
    qid: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.qid}: {self.message}"


@dataclass(frozen=True)
class KeyPoint:
    text: dict[str, str]
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    """A validated question; texts are {"en": ..., "zh": ...} mappings."""

    id: str
    topic: str
    difficulty: str
    type: str
    prompt: dict[str, str]
    explanation: dict[str, str]
    source: str
    file: str = ""
    line: int = 0
    code: str | None = None
    language: str = "python"
    choices: tuple[dict[str, Any], ...] = ()  # {"en", "zh"} and optionally "why": {"en", "zh"}
    ordered: bool = False  # keep the choices in the written order instead of shuffling them
    answer: Any = None
    tolerance: float = 0.0
    unit: str | dict[str, str] | None = None
    accept: tuple[str, ...] = ()
    model_answer: dict[str, str] | None = None
    key_points: tuple[KeyPoint, ...] = ()

    @property
    def answer_mode(self) -> str:
        """How the learner answers: a bug question answers like a single choice or a short answer."""
        if self.type == "bug":
            return "single" if self.choices else "short"
        return self.type

    def unit_text(self, lang: str) -> str | None:
        """The unit in `lang` (units like FLOPs are written once for both)."""
        return self.unit.get(lang) if isinstance(self.unit, dict) else self.unit

    def correct_indices(self) -> tuple[int, ...]:
        """The correct choices as 0-based indices (single, multi, bug by choice)."""
        letters = self.answer if isinstance(self.answer, list) else [self.answer]
        return tuple(sorted(letter_index(str(a)) for a in letters))


@dataclass
class Bank:
    questions: list[Question] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.by_id = {q.id: q for q in self.questions}

    def topics(self) -> list[str]:
        return sorted({q.topic for q in self.questions})


def letter_index(letter: str) -> int:
    return ord(letter.upper()) - ord("A")


def index_letter(index: int) -> str:
    return chr(ord("A") + index)


def normalize(text: str) -> str:
    """Fold case, width and accents away and drop spaces and punctuation: the form answers are compared in."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZC" and ch not in "`")


# --------------------------------------------------------------------------- YAML -> data


class _FileProblem(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Builder:
    """Turns a composed YAML node tree into plain data without executing anything.

    Aliases are shared, not copied, but their expanded size is counted so an alias bomb
    is refused before a validator walks it.
    """

    def __init__(self) -> None:
        self._constructor = yaml.constructor.SafeConstructor()
        self._memo: dict[int, tuple[Any, int]] = {}

    def build(self, node: yaml.Node) -> Any:
        value, size = self._build(node, 0)
        if size > MAX_EXPANDED_NODES:
            raise _FileProblem(1, f"the file expands to over {MAX_EXPANDED_NODES:,} values (an alias bomb?); remove the aliases")
        return value

    def _build(self, node: yaml.Node, depth: int) -> tuple[Any, int]:
        memo = self._memo.get(id(node))
        if memo is not None:
            return memo
        line = node.start_mark.line + 1
        if node.tag not in _PLAIN_TAGS and not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
            raise _FileProblem(line, f"tag {node.tag} is not allowed; remove it")
        if depth > MAX_DEPTH:
            raise _FileProblem(line, f"nesting deeper than {MAX_DEPTH} levels; flatten the file")
        if isinstance(node, yaml.ScalarNode):
            result = (self._scalar(node), 1)
        elif isinstance(node, yaml.SequenceNode):
            items, size = [], 1
            self._memo[id(node)] = (items, 1)  # a self-referencing alias sees itself as small
            for child in node.value:
                value, child_size = self._build(child, depth + 1)
                items.append(value)
                size += child_size
                if size > MAX_EXPANDED_NODES:
                    raise _FileProblem(line, f"the file expands to over {MAX_EXPANDED_NODES:,} values (an alias bomb?); remove the aliases")
            result = (items, size)
        elif isinstance(node, yaml.MappingNode):
            mapping: dict[str, Any] = {}
            size = 1
            self._memo[id(node)] = (mapping, 1)
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise _FileProblem(key_line, "merge keys (<<) are not supported; write the fields out")
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _FileProblem(key_line, "a mapping key must be plain text")
                key = str(self._scalar(key_node))
                if key in mapping:
                    raise _FileProblem(key_line, f"duplicate key '{key}'; keep one")
                value, child_size = self._build(value_node, depth + 1)
                mapping[key] = value
                size += child_size
                if size > MAX_EXPANDED_NODES:
                    raise _FileProblem(line, f"the file expands to over {MAX_EXPANDED_NODES:,} values (an alias bomb?); remove the aliases")
            result = (mapping, size)
        else:  # pragma: no cover - PyYAML has no other node kinds
            raise _FileProblem(line, "unsupported YAML node")
        self._memo[id(node)] = result
        return result

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == "tag:yaml.org,2002:str":
            return node.value
        if node.tag not in _PLAIN_TAGS:
            if node.tag.startswith("tag:yaml.org,2002:"):
                return node.value  # timestamps, binary...: keep the text as written
            raise _FileProblem(node.start_mark.line + 1, f"tag {node.tag} is not allowed; remove it")
        try:
            value = self._constructor.construct_object(node)
        except yaml.YAMLError as exc:
            raise _FileProblem(node.start_mark.line + 1, f"bad value: {exc}") from None
        return value


def _read(path: Path) -> bytes:
    """The file's bytes, refusing what is not a regular file or is too large (a device could never end)."""
    if not path.is_file():
        raise _FileProblem(1, "not a regular file; give a .yaml file or a folder of them")
    limit = f"the limit is {MAX_FILE_BYTES // 2**20} MiB, split it into several files"
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _FileProblem(1, f"file is {size / 2**20:.1f} MiB; {limit}")
    with path.open("rb") as handle:
        raw = handle.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise _FileProblem(1, f"file is over {MAX_FILE_BYTES // 2**20} MiB; {limit}")
    return raw


def _refuse_deep_nesting(text: str) -> None:
    """Walk the parser's events (flat, no recursion) before composing: libyaml's composer recurses
    in C and would crash the interpreter on a file nested tens of thousands of levels deep."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise _FileProblem(event.start_mark.line + 1, f"nesting deeper than {MAX_DEPTH} levels; flatten the file")
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def _compose(raw: bytes) -> yaml.Node | None:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _FileProblem(line, "not UTF-8 text (a binary file?); save it as UTF-8 YAML") from None
    if "\x00" in text:
        raise _FileProblem(text[: text.index("\x00")].count("\n") + 1, "contains NUL bytes (a binary file?); save it as UTF-8 YAML")
    try:
        _refuse_deep_nesting(text)
        return yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise _FileProblem(line, f"broken YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise _FileProblem(1, f"broken YAML: {exc}") from None
    except RecursionError:
        raise _FileProblem(1, "nesting too deep to read; flatten the file") from None


def _node_at(root: yaml.Node, path: Sequence[Any]) -> yaml.Node:
    """The deepest node along `path`, for pointing at a line."""
    node = root
    for step in path:
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == step:
                    node = value_node
                    break
            else:
                return node
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            return node
    return node


def _key_line(node: yaml.Node, key: str) -> int:
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return key_node.start_mark.line + 1
    return node.start_mark.line + 1


# --------------------------------------------------------------------------- validation

_validator: Any = None


def _get_validator() -> Any:
    global _validator
    if _validator is None:
        import jsonschema_rs

        schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
        _validator = jsonschema_rs.Draft202012Validator(schema)
    return _validator


_TEXT_FIELDS = {"prompt", "explanation", "model_answer"}


def _describe(error: Any, question: Any, path: list[Any]) -> tuple[str, str | None]:
    """A learner-friendly message for one schema error, and the key to point at (if any).

    `path` is the error's location inside the question (or inside the file, for file-level errors).
    """
    where = _dotted(path)
    kind = type(error.kind).__name__
    qtype = question.get("type") if isinstance(question, dict) else None
    if kind == "Required":
        missing = str(error.kind.property)
        if missing in LANGS and path and (path[-1] in _TEXT_FIELDS or path[0] in ("choices", "key_points")):
            return f"missing {_LANG_NAMES[missing]} translation: {where}.{missing}", None
        if where:
            return f"{where}: missing field '{missing}'", None
        return f"missing field '{missing}'" + (f" (needed by type {qtype})" if qtype in TYPES else ""), None
    if kind == "AdditionalProperties":
        names = list(error.kind.unexpected)
        prefix = f"{where}: " if where else ""
        is_choice = path and path[0] == "choices" and len(path) == 2
        allowed = "en, zh, why" if is_choice else "en, zh" if path and (path[-1] in _TEXT_FIELDS or path[0] == "choices") else None
        hint = f"; allowed: {allowed}" if allowed else "; see attnquiz/schema/question-bank.schema.json"
        return f"{prefix}unknown field '{names[0]}'{hint}", names[0]
    if kind == "FalseSchema":
        return f"field '{where}' does not apply to type {qtype} questions; remove it", None
    if kind == "OneOfNotValid" or kind == "OneOfMultipleValid":
        return "a bug question needs either `choices` with a letter `answer`, or `accept` (not both)", None
    if kind == "Enum" and where in ("type", "difficulty"):
        options = TYPES if where == "type" else DIFFICULTIES
        return f"{where} must be one of {', '.join(options)}; got {question.get(where)!r}", None
    if kind == "Pattern" and where == "id":
        return "id must be lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", None
    if kind == "Pattern" and where.startswith("answer"):
        return f"{where}: answer must be a choice letter (A, B, ...)", None
    message = _clip(error.message)
    return (f"{where}: {message}" if where else message), None


def _clip(text: str, limit: int = 160) -> str:
    """Schema messages quote the offending value; a huge value must not become a huge line."""
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[: limit - 60]} … {text[-50:]}"


def _dotted(path: Sequence[Any]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _semantic_problems(q: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    """Checks a JSON Schema cannot express."""
    for name in ("prompt", "explanation", "model_answer"):
        text = q.get(name)
        if isinstance(text, dict):
            for lang in LANGS:
                if isinstance(text.get(lang), str) and not text[lang].strip():
                    yield f"missing {_LANG_NAMES[lang]} translation: {name}.{lang} is blank", name
    choices = q.get("choices") or []
    if q.get("type") in ("single", "multi", "bug") and choices:
        answers = q.get("answer")
        letters = answers if isinstance(answers, list) else ([answers] if answers is not None else [])
        last = index_letter(len(choices) - 1)
        for letter in letters:
            if isinstance(letter, str) and len(letter) == 1 and not 0 <= letter_index(letter) < len(choices):
                yield f"answer '{letter}' is not among the {len(choices)} choices (A-{last})", "answer"
        for lang in LANGS:
            seen: dict[str, int] = {}
            for i, choice in enumerate(choices):
                text = normalize(choice.get(lang, "")) if isinstance(choice, dict) else ""
                if text and text in seen:
                    yield f"choices {index_letter(seen[text])} and {index_letter(i)} read the same in {_LANG_NAMES[lang]}", "choices"
                seen.setdefault(text, i)
    if q.get("type") == "numeric":
        for name in ("answer", "tolerance"):
            value = q.get(name)
            if isinstance(value, float) and not math.isfinite(value):
                yield f"{name} must be a finite number", name
    for accepted in q.get("accept") or []:
        if isinstance(accepted, str) and not normalize(accepted):
            yield f"accepted answer '{accepted}' is empty once spaces and punctuation are ignored", "accept"
    for i, point in enumerate(q.get("key_points") or []):
        for keyword in point.get("keywords", []) if isinstance(point, dict) else []:
            if isinstance(keyword, str) and not normalize(keyword):
                yield f"key_points[{i}]: keyword '{keyword}' is empty once spaces and punctuation are ignored", "key_points"


def _to_question(q: dict[str, Any], file: str, line: int) -> Question:
    return Question(
        id=q["id"],
        topic=q["topic"],
        difficulty=q["difficulty"],
        type=q["type"],
        prompt=q["prompt"],
        explanation=q["explanation"],
        source=q["source"],
        file=file,
        line=line,
        code=q.get("code"),
        language=q.get("language", "python"),
        choices=tuple(q.get("choices") or ()),
        ordered=bool(q.get("ordered", False)),
        answer=q.get("answer"),
        tolerance=float(q.get("tolerance", 0.0)),
        unit=q.get("unit"),
        accept=tuple(q.get("accept") or ()),
        model_answer=q.get("model_answer"),
        key_points=tuple(KeyPoint({"en": p["en"], "zh": p["zh"]}, tuple(p["keywords"])) for p in q.get("key_points") or ()),
    )


def load_file(path: Path, display: str | None = None) -> tuple[list[Question], list[Problem]]:
    """Read one question file. Returns its valid questions and every problem found."""
    name = display or str(path)
    try:
        raw = _read(path)
    except _FileProblem as exc:
        return [], [Problem(name, exc.line, "-", exc.message)]
    except OSError as exc:
        return [], [Problem(name, 1, "-", f"cannot read the file: {exc.strerror or exc}")]
    key = _cache_key(raw)
    cached = _cache_get(key)
    if cached is not None:
        try:
            return [_to_question(q, name, line) for line, q in cached], []
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # a damaged cache entry: validate the file afresh
    try:
        root = _compose(raw)
        if root is None:
            raise _FileProblem(1, "file is empty; a question file is a mapping with a `questions:` list")
        data = _Builder().build(root)
    except _FileProblem as exc:
        return [], [Problem(name, exc.line, "-", exc.message)]
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        return [], [Problem(name, root.start_mark.line + 1, "-", f"the file holds {kind}; a question file is a mapping with a `questions:` list")]

    problems: list[Problem] = []
    by_question: dict[int, list[Problem]] = {}
    questions_node = _node_at(root, ["questions"])
    raw_questions = data.get("questions") if isinstance(data.get("questions"), list) else []

    def qid_of(index: int) -> str:
        q = raw_questions[index] if index < len(raw_questions) else None
        if isinstance(q, dict) and isinstance(q.get("id"), str) and q["id"]:
            return q["id"]
        return f"question #{index + 1}"

    for error in _get_validator().iter_errors(data):
        path = list(error.instance_path)
        if len(path) >= 2 and path[0] == "questions" and isinstance(path[1], int):
            index = path[1]
            message, key = _describe(error, raw_questions[index], path[2:])
            node = _node_at(root, path)
            line = _key_line(node, key) if key else node.start_mark.line + 1
            by_question.setdefault(index, []).append(Problem(name, line, qid_of(index), message))
        else:
            message, key = _describe(error, None, path)
            node = _node_at(root, path)
            line = _key_line(node, key) if key else node.start_mark.line + 1
            problems.append(Problem(name, line, "-", message))

    questions: list[Question] = []
    valid: list[tuple[int, dict[str, Any]]] = []
    for index, q in enumerate(raw_questions):
        item_node = questions_node.value[index] if isinstance(questions_node, yaml.SequenceNode) else root
        line = item_node.start_mark.line + 1
        if index in by_question:
            problems.extend(by_question[index])
            continue
        semantic = [
            Problem(name, _key_line(item_node, key) if key else line, qid_of(index), message)
            for message, key in _semantic_problems(q)
        ]
        if semantic:
            problems.extend(semantic)
            continue
        questions.append(_to_question(q, name, line))
        valid.append((line, q))
    problems.sort(key=lambda p: p.line)
    if not problems:
        _cache_put(key, valid)
    return questions, problems


# --------------------------------------------------------------------------- cache

_CACHE_FORMAT = b"attnquiz-bank-cache-1"
_schema_digest: bytes | None = None


def _cache_key(raw: bytes) -> str:
    """Content hash of the file, the schema and this loader's format: a hit can only repeat a clean result."""
    import hashlib

    global _schema_digest
    if _schema_digest is None:
        _schema_digest = hashlib.sha256(SCHEMA_PATH.read_bytes()).digest()
    return hashlib.sha256(_CACHE_FORMAT + _schema_digest + raw).hexdigest()


def _cache_file(key: str) -> Path:
    from attnquiz.paths import cache_dir

    return cache_dir() / "bank" / f"{key}.json"


def _cache_get(key: str) -> list[tuple[int, dict[str, Any]]] | None:
    """Questions of a file already validated clean; None on a miss or an unreadable entry."""
    try:
        entries = json.loads(_cache_file(key).read_text(encoding="utf-8"))
        return [(int(line), q) for line, q in entries]
    except (OSError, ValueError, TypeError):
        return None


def _cache_put(key: str, valid: list[tuple[int, dict[str, Any]]]) -> None:
    """Remember a clean file; the cache is an optimisation, so any failure to write is ignored."""
    import os

    try:
        target = _cache_file(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(valid, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, target)
    except (OSError, TypeError, ValueError):
        pass


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files named, and the *.yaml / *.yml files under folders named, in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()))
        elif path.exists():
            files.append(path)
        else:
            raise BankError(f"{path}: no such file or folder; give a .yaml file or a folder of them")
    return files


def builtin_files() -> list[Path]:
    return expand_paths([content_dir("questions")])


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def check(paths: Sequence[Path] | None = None) -> tuple[list[Question], list[Problem]]:
    """Validate files (default: the built-in bank) together, duplicate ids across them included."""
    files = builtin_files() if not paths else expand_paths(paths)
    if not files:
        where = ", ".join(str(p) for p in paths) if paths else str(content_dir("questions"))
        raise BankError(f"{where}: no .yaml question files found")
    questions: list[Question] = []
    problems: list[Problem] = []
    first: dict[str, Question] = {}
    for path in files:
        found, file_problems = load_file(path, _display(path))
        problems.extend(file_problems)
        for q in found:
            if q.id in first:
                other = first[q.id]
                problems.append(Problem(q.file, q.line, q.id, f"duplicate id (first defined at {other.file}:{other.line}); ids must be unique"))
                continue
            first[q.id] = q
            questions.append(q)
    return questions, problems


def load_bank(extra: Sequence[Path] = ()) -> Bank:
    """The built-in bank plus the learner's own files; any problem stops with every problem listed."""
    files = builtin_files() + (expand_paths(extra) if extra else [])
    questions, problems = check(files)
    if problems:
        shown = "\n".join(str(p) for p in problems[:20])
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise BankError(f"the question bank has {len(problems)} problem(s); fix them or run `attnquiz bank check`:\n{shown}{more}")
    return Bank(questions)
