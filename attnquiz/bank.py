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


_STR_TAG = "tag:yaml.org,2002:str"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_CONSTRUCTORS = yaml.constructor.SafeConstructor.yaml_constructors
_WILDCARD = tuple(_Loader.yaml_implicit_resolvers.get(None, ()))
_RESOLVERS = {first: tuple(found) + _WILDCARD for first, found in _Loader.yaml_implicit_resolvers.items() if first is not None}
_NO_KEY = object()  # a mapping frame waiting for its next key
_SKIP = object()  # the key was a duplicate: build its value for the checks, then drop it
_BOMB = f"the file expands to over {MAX_EXPANDED_NODES:,} values (an alias bomb?); remove the aliases"

class _Merge(str):
    """`<<` read as a merge key; as a value it is just the text."""


_MERGE = _Merge("<<")


# A frame of the builder's stack: the container, whether it is a mapping, the pending key,
# the expanded-value count when it opened, its anchor, and its first line.
_CONTAINER, _IS_MAP, _KEY, _START, _ANCHOR, _LINE = range(6)


@dataclass
class _Built:
    """A file's plain data plus what the loader needs from the YAML without keeping the node tree."""

    data: Any = None
    empty: bool = True
    root_line: int = 1
    lines: dict[int, int] = field(default_factory=dict)  # id(mapping) -> its first line
    soft: list[tuple[int, int | None, str]] = field(default_factory=list)  # (line, question index, message): reported, not fatal


class _EventBuilder:
    """Builds plain data straight from libyaml's parser events, without composing a node tree.

    Composing every node in Python was most of the time a large bank took to load; events carry
    the same start lines. The walk is flat (an explicit stack), so depth is refused before anything
    recurses, and aliases are shared, not copied, with their expanded size counted so an alias bomb
    is refused before a validator walks it. Only plain data comes out: no tag ever runs code.
    """

    def __init__(self) -> None:
        self._constructor = yaml.constructor.SafeConstructor()
        self._anchors: dict[str, tuple[Any, int, int]] = {}  # name -> (value, expanded size, line)
        self._open: set[str] = set()  # anchors of containers still being built
        self.built = _Built()

    def run(self, text: str) -> _Built:
        loader = _Loader(text)
        try:
            self._walk(loader.get_event)
        finally:
            loader.dispose()
        return self.built

    def _walk(self, get_event: Any) -> None:
        """One loop over the events; plain untagged text, most of a bank, takes the shortest path.

        The open container, whether it is a mapping, and its pending key live in locals while the
        parser is inside it, and are saved in its frame only while a child is being built.
        """
        scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
        map_start, map_end = yaml.MappingStartEvent, yaml.MappingEndEvent
        seq_start, seq_end = yaml.SequenceStartEvent, yaml.SequenceEndEvent
        resolvable, wildcard, no_key, skip = _RESOLVERS, bool(_WILDCARD), _NO_KEY, _SKIP
        lines = self.built.lines
        stack: list[list[Any]] = []
        container: Any = None  # None: at the document's root
        is_map = False
        key: Any = no_key
        total = 0  # values so far, aliases counted at their expanded size
        documents = 0
        while True:
            event = get_event()
            kind = event.__class__
            if kind is scalar_event:
                total += 1
                value = event.value
                if event.tag is not None or event.anchor is not None or (event.implicit[0] and (wildcard or value[:1] in resolvable)):
                    value = self._scalar(event)
                    if value is _MERGE and not (is_map and key is no_key):
                        value = "<<"  # only a key merges; a value is the text
                    if event.anchor is not None:
                        self._anchor(event, value, 1)
                if is_map:
                    if key is no_key:
                        key = value if value.__class__ is str and value not in container else self._key(stack, container, event, value)
                    else:
                        if key is not skip:
                            container[key] = value
                        key = no_key
                elif container is not None:
                    container.append(value)
                else:
                    self.built.data = value
            elif kind is map_start or kind is seq_start:
                line = event.start_mark.line + 1
                if len(stack) >= MAX_DEPTH:
                    raise _FileProblem(line, f"nesting deeper than {MAX_DEPTH} levels; flatten the file")
                if is_map and key is no_key:
                    raise _FileProblem(line, "a mapping key must be plain text")
                if event.tag not in (None, "!") and event.tag not in _COLLECTION_TAGS and event.tag not in _PLAIN_TAGS:
                    raise _FileProblem(line, f"tag {event.tag} is not allowed; remove it")
                total += 1
                if stack:
                    stack[-1][_KEY] = key
                else:
                    self.built.root_line = line
                is_map, key = kind is map_start, no_key
                container = {} if is_map else []
                if is_map:
                    lines[id(container)] = line
                if event.anchor is not None:
                    self._anchor(event, container, 1)
                    self._open.add(event.anchor)
                stack.append([container, is_map, no_key, total - 1, event.anchor, line])
            elif kind is map_end or kind is seq_end:
                done = stack.pop()
                if done[_ANCHOR] is not None:
                    self._open.discard(done[_ANCHOR])
                    self._anchors[done[_ANCHOR]] = (done[_CONTAINER], total - done[_START], done[_LINE])
                if total > MAX_EXPANDED_NODES:
                    raise _FileProblem(done[_LINE], _BOMB)
                if stack:
                    container, is_map, key = stack[-1][_CONTAINER], stack[-1][_IS_MAP], stack[-1][_KEY]
                    key = self._attach(container, is_map, key, done[_CONTAINER])
                else:
                    container, is_map, key = None, False, no_key
                    self.built.data = done[_CONTAINER]
            elif kind is alias_event:
                value, size = self._alias(event)
                total += size
                if total > MAX_EXPANDED_NODES:
                    raise _FileProblem(event.start_mark.line + 1, _BOMB)
                if is_map and key is no_key:
                    if isinstance(value, (dict, list)):
                        raise _FileProblem(event.start_mark.line + 1, "a mapping key must be plain text")
                    key = self._key(stack, container, event, value)
                elif container is not None:
                    key = self._attach(container, is_map, key, value)
                else:
                    self.built.data = value
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _FileProblem(event.start_mark.line + 1, "broken YAML: expected a single document in the stream but found another document")
                self.built.empty = False
            elif kind is yaml.StreamEndEvent:
                return

    @staticmethod
    def _attach(container: Any, is_map: bool, key: Any, value: Any) -> Any:
        """Put a finished value into the open container; returns the mapping's next pending key."""
        if not is_map:
            container.append(value)
        elif key is not _SKIP:
            container[key] = value
        return _NO_KEY

    def _key(self, stack: list[list[Any]], container: dict[str, Any], event: Any, value: Any) -> Any:
        """A key that is not plain new text: refuse a merge key; report a duplicate and drop its value."""
        line = event.start_mark.line + 1
        if value is _MERGE:
            raise _FileProblem(line, "merge keys (<<) are not supported; write the fields out")
        key = value if isinstance(value, str) else str(value)
        if key in container:
            self.built.soft.append((line, self._question_index(stack), f"duplicate key '{key}'; keep one"))
            return _SKIP
        return key

    def _question_index(self, stack: list[list[Any]]) -> int | None:
        """Which item of the top-level `questions` list the builder is inside, if any."""
        if len(stack) >= 3 and stack[0][_KEY] == "questions" and not stack[1][_IS_MAP]:
            return len(stack[1][_CONTAINER])
        return None

    def _anchor(self, event: Any, value: Any, size: int) -> None:
        line = event.start_mark.line + 1
        if event.anchor in self._anchors:
            first = self._anchors[event.anchor][2]
            raise _FileProblem(line, f"broken YAML: found duplicate anchor '{event.anchor}' (first occurrence on line {first})")
        self._anchors[event.anchor] = (value, size, line)

    def _alias(self, event: Any) -> tuple[Any, int]:
        """The anchored value (shared, not copied) and its expanded size."""
        line = event.start_mark.line + 1
        if event.anchor in self._open:
            raise _FileProblem(line, f"alias *{event.anchor} is used inside its own anchor (a loop); write the value out")
        found = self._anchors.get(event.anchor)
        if found is None:
            raise _FileProblem(line, f"broken YAML: found undefined alias '{event.anchor}'")
        return found[0], found[1]

    def _scalar(self, event: Any) -> Any:
        """The scalar's value as PyYAML's safe loader reads it (YAML 1.1: `no` is false)."""
        tag, value = event.tag, event.value
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return value  # quoted or block text: always a string
            for tag, pattern in _RESOLVERS.get(value[:1], _WILDCARD):
                if pattern.match(value):
                    break
            else:
                return value
        if tag == _STR_TAG:
            return value
        if tag == _MERGE_TAG:
            return _MERGE
        if tag not in _PLAIN_TAGS:
            if tag.startswith("tag:yaml.org,2002:"):
                return value  # timestamps, binary...: keep the text as written
            raise _FileProblem(event.start_mark.line + 1, f"tag {tag} is not allowed; remove it")
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark)
        try:
            return _CONSTRUCTORS[tag](self._constructor, node)
        except (yaml.YAMLError, ValueError, KeyError, TypeError, OverflowError):
            raise _FileProblem(event.start_mark.line + 1, f"bad value for {tag.rsplit(':', 1)[-1]}: {_clip(value, 60)}") from None


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


def _decode(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _FileProblem(line, "not UTF-8 text (a binary file?); save it as UTF-8 YAML") from None
    if "\x00" in text:
        raise _FileProblem(text[: text.index("\x00")].count("\n") + 1, "contains NUL bytes (a binary file?); save it as UTF-8 YAML")
    return text


def _build(text: str) -> _Built:
    try:
        return _EventBuilder().run(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise _FileProblem(line, f"broken YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise _FileProblem(1, f"broken YAML: {exc}") from None


def _compose(text: str) -> yaml.Node:
    """The node tree, only to point problems at lines: the builder has already read this text
    safely (one document, depth and aliases checked), so composing it cannot fail or recurse far."""
    return yaml.compose(text, Loader=_Loader)


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


def _describe(error: Any, question: Any, path: list[Any], node: yaml.Node) -> list[tuple[str, str | None]]:
    """Learner-friendly messages for one schema error, each with the key to point at (if any).

    `path` is the error's location inside the question (or inside the file, for file-level errors);
    `node` is the YAML written there, for what the data alone no longer shows (how a value was spelt).
    """
    where = _dotted(path)
    kind = type(error.kind).__name__
    qtype = question.get("type") if isinstance(question, dict) else None
    if kind == "AdditionalProperties":
        prefix = f"{where}: " if where else ""
        is_choice = path and path[0] == "choices" and len(path) == 2
        allowed = "en, zh, why" if is_choice else "en, zh" if path and (path[-1] in _TEXT_FIELDS or path[0] == "choices") else None
        hint = f"; allowed: {allowed}" if allowed else "; see attnquiz/schema/question-bank.schema.json"
        return [(f"{prefix}unknown field '{name}'{hint}", str(name)) for name in error.kind.unexpected]
    spelt = _yaml_boolean(error, node)
    if spelt is not None:
        prefix = f"{where}: " if where else ""
        if where.startswith("answer"):
            return [(f"{prefix}answer must be a choice letter (A, B, ...); YAML reads {spelt} as {str(error.instance).lower()}", None)]
        return [(f'{prefix}YAML reads {spelt} as {str(error.instance).lower()}; quote it: "{spelt}"', None)]
    return [_describe_one(error, kind, qtype, question, path, where)]


def _yaml_boolean(error: Any, node: yaml.Node) -> str | None:
    """How a YAML 1.1 boolean (no, yes, off, on...) was written where the schema wants text, else None."""
    if not isinstance(error.instance, bool) or not isinstance(node, yaml.ScalarNode) or node.tag != _BOOL_TAG or node.style:
        return None
    kind = type(error.kind).__name__
    wants_text = kind == "AnyOf" or (kind == "Type" and "string" in error.kind.types)
    return node.value if wants_text else None


def _describe_one(error: Any, kind: str, qtype: Any, question: Any, path: list[Any], where: str) -> tuple[str, str | None]:
    """The message for a schema error that names one thing, in the words a question author uses."""
    if kind == "Required":
        missing = str(error.kind.property)
        if missing in LANGS and path and (path[-1] in _TEXT_FIELDS or path[0] in ("choices", "key_points")):
            return f"missing {_LANG_NAMES[missing]} translation: {where}.{missing}", None
        if where:
            return f"{where}: missing field '{missing}'", None
        return f"missing field '{missing}'" + (f" (needed by type {qtype})" if qtype in TYPES else ""), None
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


def _semantic_problems(q: Any) -> Iterator[tuple[str, str | None]]:
    """Checks a JSON Schema cannot express.

    They run on questions the schema has already faulted too (so one pass shows every problem), so
    each looks only at values of the right shape and leaves the wrong shapes to the schema's messages.
    """
    if not isinstance(q, dict):
        return
    for name in ("prompt", "explanation", "model_answer"):
        text = q.get(name)
        if isinstance(text, dict):
            for lang in LANGS:
                if isinstance(text.get(lang), str) and text[lang] and not text[lang].strip():
                    yield f"missing {_LANG_NAMES[lang]} translation: {name}.{lang} is blank", name
    choices = q.get("choices")
    if q.get("type") in ("single", "multi", "bug") and isinstance(choices, list) and choices:
        answers = q.get("answer")
        letters = answers if isinstance(answers, list) else ([answers] if answers is not None else [])
        last = index_letter(len(choices) - 1)
        for letter in letters:
            if isinstance(letter, str) and len(letter) == 1 and letter.isascii() and letter.isalpha() and not 0 <= letter_index(letter) < len(choices):
                yield f"answer '{letter}' is not among the {len(choices)} choices (A-{last})", "answer"
        for lang in LANGS:
            seen: dict[str, int] = {}
            for i, choice in enumerate(choices):
                text = choice.get(lang) if isinstance(choice, dict) else None
                text = normalize(text) if isinstance(text, str) else ""
                if text and text in seen:
                    yield f"choices {index_letter(seen[text])} and {index_letter(i)} read the same in {_LANG_NAMES[lang]}", "choices"
                seen.setdefault(text, i)
    if q.get("type") == "numeric":
        for name in ("answer", "tolerance"):
            value = q.get(name)
            if isinstance(value, float) and not math.isfinite(value):
                yield f"{name} must be a finite number", name
    accept = q.get("accept")
    for accepted in accept if isinstance(accept, list) else []:
        if isinstance(accepted, str) and accepted and not normalize(accepted):
            yield f"accepted answer '{accepted}' is empty once spaces and punctuation are ignored", "accept"
    points = q.get("key_points")
    for i, point in enumerate(points if isinstance(points, list) else []):
        keywords = point.get("keywords") if isinstance(point, dict) else None
        for keyword in keywords if isinstance(keywords, list) else []:
            if isinstance(keyword, str) and keyword and not normalize(keyword):
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


@dataclass
class _FileResult:
    """One file's valid questions, its problems, and every id it defines (valid or not), for duplicates."""

    questions: list[Question]
    problems: list[Problem]
    ids: list[tuple[str, int, Question | None]]  # (id, line, the question if it is valid)


def load_file(path: Path, display: str | None = None) -> tuple[list[Question], list[Problem]]:
    """Read one question file. Returns its valid questions and every problem found."""
    result = _load(path, display or str(path))
    return result.questions, result.problems


def _load(path: Path, name: str) -> _FileResult:
    try:
        raw = _read(path)
    except _FileProblem as exc:
        return _FileResult([], [Problem(name, exc.line, "-", exc.message)], [])
    except OSError as exc:
        return _FileResult([], [Problem(name, 1, "-", f"cannot read the file: {exc.strerror or exc}")], [])
    key = _cache_key(raw)
    cached = _cache_get(key)
    if cached is not None:
        try:
            questions = [_to_question(q, name, line) for line, q in cached]
            return _FileResult(questions, [], [(q.id, q.line, q) for q in questions])
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # a damaged cache entry: validate the file afresh
    try:
        text = _decode(raw)
        built = _build(text)
    except _FileProblem as exc:
        return _FileResult([], [Problem(name, exc.line, "-", exc.message)], [])
    if built.empty:
        return _FileResult([], [Problem(name, 1, "-", "file is empty; a question file is a mapping with a `questions:` list")], [])
    data = built.data
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        return _FileResult([], [Problem(name, built.root_line, "-", f"the file holds {kind}; a question file is a mapping with a `questions:` list")], [])
    result = _check_data(data, built, text, name)
    if not result.problems:
        _cache_put(key, [(q.line, raw_q) for q, raw_q in zip(result.questions, data["questions"])])
    return result


def _check_data(data: dict[str, Any], built: _Built, text: str, name: str) -> _FileResult:
    """Every problem of a file's data: the builder's, the schema's and the semantic checks', each located.

    A clean file never needs the node tree; a file with problems is composed once more to find lines.
    """
    raw_questions = data.get("questions") if isinstance(data.get("questions"), list) else []
    tree: list[yaml.Node] = []

    def node_at(path: Sequence[Any]) -> yaml.Node:
        if not tree:
            tree.append(_compose(text))
        return _node_at(tree[0], path)

    def qid_of(index: int | None) -> str:
        q = raw_questions[index] if index is not None and index < len(raw_questions) else None
        if isinstance(q, dict) and isinstance(q.get("id"), str) and q["id"]:
            return q["id"]
        return "-" if index is None else f"question #{index + 1}"

    found: list[tuple[int, int | None, str]] = list(built.soft)
    for error in _get_validator().iter_errors(data):
        path = list(error.instance_path)
        in_question = len(path) >= 2 and path[0] == "questions" and isinstance(path[1], int)
        index, inner = (path[1], path[2:]) if in_question else (None, path)
        node = node_at(path)
        for message, key in _describe(error, raw_questions[index] if in_question else None, inner, node):
            found.append((_key_line(node, key) if key else node.start_mark.line + 1, index, message))
    ids: list[tuple[str, int, Question | None]] = []
    faulted = {index for _, index, _ in found}
    questions: list[Question] = []
    for index, q in enumerate(raw_questions):
        semantic = list(_semantic_problems(q))
        line = built.lines.get(id(q)) if isinstance(q, dict) else None
        if line is None:
            line = node_at(["questions", index]).start_mark.line + 1
        for message, key in semantic:
            found.append((_key_line(node_at(["questions", index]), key) if key else line, index, message))
        valid = _to_question(q, name, line) if not semantic and index not in faulted else None
        if valid is not None:
            questions.append(valid)
        if isinstance(q, dict) and isinstance(q.get("id"), str) and q["id"]:
            ids.append((q["id"], line, valid))
    problems = list(dict.fromkeys(Problem(name, line, qid_of(index), message) for line, index, message in found))
    problems.sort(key=lambda p: p.line)
    return _FileResult(questions, problems, ids)


# --------------------------------------------------------------------------- cache

_CACHE_FORMAT = b"attnquiz-bank-cache-2"  # bump when the loader could read a file differently
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
    """Validate files (default: the built-in bank) together, duplicate ids across them included.

    Invalid questions' ids count too: a copy of an id is a problem even while its first is broken.
    """
    files = builtin_files() if not paths else expand_paths(paths)
    if not files:
        where = ", ".join(str(p) for p in paths) if paths else str(content_dir("questions"))
        raise BankError(f"{where}: no .yaml question files found")
    questions: list[Question] = []
    problems: list[Problem] = []
    first: dict[str, tuple[str, int]] = {}
    for path in files:
        name = _display(path)
        result = _load(path, name)
        file_problems = list(result.problems)
        for qid, line, q in result.ids:
            if qid in first:
                other_file, other_line = first[qid]
                file_problems.append(Problem(name, line, qid, f"duplicate id (first defined at {other_file}:{other_line}); ids must be unique"))
                continue
            first[qid] = (name, line)
            if q is not None:
                questions.append(q)
        file_problems.sort(key=lambda p: p.line)
        problems.extend(file_problems)
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
