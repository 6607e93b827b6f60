"""Quiz logic: choosing questions, checking answers of every type, and keeping the session's score.

No I/O here: the CLI reads the learner's lines and renders; this module decides.
"""

from __future__ import annotations

import ast
import math
import operator
import os
import random
import re
import time
import unicodedata
from dataclasses import dataclass, field, replace
from typing import NamedTuple, Sequence

from attnquiz.bank import TYPES, Bank, Question, index_letter, normalize
from attnquiz.errors import UsageError



class InvalidAnswer(ValueError):
    """The line is not an answer of the expected form; the learner is asked again.

    `key` names a message in attnquiz.i18n; `args` fill it.
    """

    def __init__(self, key: str, **args: object) -> None:
        super().__init__(key)
        self.key = key
        self.args_ = args


def default_lang(environ: os._Environ[str] | dict[str, str] | None = None) -> str:
    """Chinese when the locale says so, English otherwise."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


# --------------------------------------------------------------------------- choosing


def select(
    bank: Bank,
    *,
    topics: Sequence[str] = (),
    qtype: str | None = None,
    difficulty: str | None = None,
    qid: str | None = None,
    count: int | None = None,
    seed: int | None = None,
) -> list[Question]:
    """The questions to ask, filtered and in a (seeded) random order."""
    if qid is not None:
        if qid not in bank.by_id:
            close = [i for i in bank.by_id if qid in i][:3]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise UsageError(f"--id {qid}: no such question{hint}; `attnquiz bank list` shows every id")
        return [bank.by_id[qid]]
    known = set(bank.topics())
    for topic in topics:
        if topic not in known:
            raise UsageError(f"--topic {topic}: no such topic; choose from {', '.join(sorted(known))}")
    if qtype is not None and qtype not in TYPES:
        raise UsageError(f"--type {qtype}: no such type; choose from {', '.join(TYPES)}")
    check_count(count)
    chosen = [
        q
        for q in bank.questions
        if (not topics or q.topic in topics)
        and (qtype is None or q.type == qtype)
        and (difficulty is None or q.difficulty == difficulty)
    ]
    if not chosen:
        raise UsageError("no question matches these filters; loosen --topic/--type/--difficulty")
    chosen.sort(key=lambda q: q.id)
    random.Random(seed).shuffle(chosen)
    return chosen[:count] if count else chosen


def check_count(count: int | None) -> None:
    """--count must ask for something."""
    if count is not None and count < 1:
        raise UsageError(f"--count {count}: must be 1 or more")


# --------------------------------------------------------------------------- parsing answers

_TRUE = {"t", "true", "yes", "y", "1", "对", "是", "正确", "真", "√", "✓"}
_FALSE = {"f", "false", "no", "n", "0", "错", "否", "错误", "不对", "假", "×", "✗"}
_RATING_WORDS = {
    "1": "again", "a": "again", "again": "again", "重来": "again", "忘记": "again",
    "2": "hard", "h": "hard", "hard": "hard", "困难": "hard", "难": "hard",
    "3": "good", "g": "good", "good": "good", "良好": "good", "记得": "good",
    "4": "easy", "e": "easy", "easy": "easy", "简单": "easy", "容易": "easy",
}


def parse_choice(text: str, n: int) -> int:
    """A letter (a/A) or a 1-based number to a 0-based index."""
    try:
        picks = parse_choices(text, n)
    except InvalidAnswer:
        picks = []
    if len(picks) != 1:
        raise InvalidAnswer("one_choice", last=index_letter(n - 1), n=n)
    return picks[0]


def parse_choices(text: str, n: int) -> list[int]:
    """'A,C', 'a c', 'AC', '1 3' to sorted 0-based indices."""
    cleaned = text.strip().upper().replace("，", ",").replace("、", ",")
    tokens = [t for t in re.split(r"[\s,;/+&]+", cleaned) if t]
    if len(tokens) == 1 and tokens[0].isalpha() and len(tokens[0]) > 1:
        tokens = list(tokens[0])
    picks: set[int] = set()
    for token in tokens:
        if token.isdigit() and 1 <= int(token) <= n:
            picks.add(int(token) - 1)
        elif len(token) == 1 and "A" <= token <= "Z" and ord(token) - ord("A") < n:
            picks.add(ord(token) - ord("A"))
        else:
            raise InvalidAnswer("choices", last=index_letter(n - 1), n=n)
    if not picks:
        raise InvalidAnswer("choices", last=index_letter(n - 1), n=n)
    return sorted(picks)


def parse_bool(text: str) -> bool:
    word = text.strip().casefold().rstrip(".!。！")
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise InvalidAnswer("truefalse_invalid")


def parse_rating(text: str) -> str:
    word = text.strip().casefold()
    if word in _RATING_WORDS:
        return _RATING_WORDS[word]
    raise InvalidAnswer("rating")


_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
}
_SUFFIX = {"k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}
_EXPR_RE = re.compile(r"(?:\d|[\s.,_+\-*/^()]|(?<=[\d.])[eE](?=[+\-]?\d))+")
_SUFFIX_RE = re.compile(r"([kKMGT]i?)(?![a-hj-z])")


def _eval(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _eval(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > 256 or abs(left) > 1e6):
            raise InvalidAnswer("number")
        return _BINOPS[type(node.op)](left, right)
    raise InvalidAnswer("number")


def parse_number(text: str) -> float:
    """A number as people type it: 1,073,741,824 · 1 073 741 824 · 2^30 · 4*512**2 · 1.07e9 · 64K · 1 GiB · 50%.

    Words after the number (a unit) are ignored; a k/M/G/T or Ki/Mi/Gi/Ti prefix scales it.
    """
    raw = text.strip().replace("−", "-").replace("×", "*").replace("＊", "*")
    match = _EXPR_RE.match(raw)
    if not match:
        raise InvalidAnswer("number")
    expr, rest = match.group(0).strip(), raw[match.end():].strip()
    scale = 1.0
    if rest.startswith("%"):
        scale, rest = 0.01, rest[1:].strip()
    suffix = _SUFFIX_RE.match(rest)
    if suffix:
        scale *= _SUFFIX[suffix.group(1).lower()]
        rest = rest[suffix.end():]
    if any(ch.isdigit() for ch in rest):
        raise InvalidAnswer("number")
    expr = re.sub(r"(?<=\d)[,_ ](?=\d{3}(?!\d))", "", expr)
    expr = re.sub(r"(?<=\d) +(?=\d)", "", expr).replace("^", "**")
    if not expr or "," in expr:
        raise InvalidAnswer("number")
    try:
        value = float(_eval(ast.parse(expr, mode="eval"))) * scale
    except (SyntaxError, ZeroDivisionError, OverflowError, ValueError, TypeError, RecursionError, MemoryError):
        raise InvalidAnswer("number") from None
    if not math.isfinite(value):
        raise InvalidAnswer("number")
    return value


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, stopping early once it exceeds `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _typo_budget(expected: str) -> int:
    if len(expected) >= 10:
        return 2
    if len(expected) >= 5:
        return 1
    return 0


def _words(text: str) -> list[str]:
    """Words and symbols (√, ²...) of an answer; punctuation dropped."""
    tokens = re.findall(r"\w+|[^\w\s]", unicodedata.normalize("NFKC", text).casefold())
    return [tok for tok in tokens if not unicodedata.category(tok[0]).startswith("P") and tok != "`"]


def match_short(text: str, accepted: Sequence[str]) -> tuple[bool, bool]:
    """(correct, forgiven_typo) for a typed phrase against the accepted answers.

    Typos are forgiven word by word, and only in longer words: `d_k` against `d_v` or `fp16`
    against `fp32` are different answers, `squre root` is a slip.
    """
    given = normalize(text)
    if not given:
        return False, False
    if given in (normalize(a) for a in accepted):
        return True, False
    given_words = _words(text)
    for target in accepted:
        target_words = _words(target)
        if len(target_words) != len(given_words):
            continue
        if all(
            g == t or (_typo_budget(t) and not re.search(r"\d", t + g) and edit_distance(g, t, _typo_budget(t)) <= _typo_budget(t))
            for g, t in zip(given_words, target_words)
        ):
            return True, True
    return False, False


def mentioned_points(question: Question, text: str) -> list[bool]:
    """For a recall question: which key points the answer mentions.

    A keyword counts when its words appear in the answer as whole words, in order (so `wo` is not
    found in "would", nor `cat` in "location"); keywords in Chinese, written without spaces, count
    when they appear anywhere.
    """
    words = _words(text)
    given = normalize(text)
    return [any(_mentions(keyword, words, given) for keyword in point.keywords) for point in question.key_points]


def _mentions(keyword: str, words: list[str], given: str) -> bool:
    wanted = _words(keyword)
    if not wanted:
        return False
    if any(_is_cjk(ch) for ch in keyword):
        return normalize(keyword) in given
    n = len(wanted)
    return any(all(_same_word(w, k) for w, k in zip(words[i : i + n], wanted)) for i in range(len(words) - n + 1))


def _same_word(word: str, keyword: str) -> bool:
    """Equal, or the keyword's plural."""
    return word == keyword or (word.startswith(keyword) and word[len(keyword):] in ("s", "es"))


def _is_cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff"


# --------------------------------------------------------------------------- presenting


def shuffled(question: Question, rng: random.Random) -> Question:
    """The question with its choices in a fresh order and its answer letters to match.

    A learner who remembers "it was C" learns nothing; the content must be recognised. Questions
    marked `ordered` (options that count up, "all of the above") keep the written order; progress
    is keyed on the question id, never on a letter.
    """
    if not question.choices or question.ordered or question.answer is None:
        return question
    order = list(range(len(question.choices)))
    rng.shuffle(order)
    position = {original: shown for shown, original in enumerate(order)}
    letters = [index_letter(position[i]) for i in question.correct_indices()]
    answer = sorted(letters) if isinstance(question.answer, list) else letters[0]
    return replace(question, choices=tuple(question.choices[i] for i in order), answer=answer)


def presented(questions: Sequence[Question], seed: int | None = None) -> list[Question]:
    """The questions as a session asks them: each one's choices shuffled (reproducibly, with a seed)."""
    rng = random.Random(None if seed is None else f"choices:{seed}")
    return [shuffled(q, rng) for q in questions]


class Relation(NamedTuple):
    """How a wrong number relates to the answer, when that says something (an i18n key and its values)."""

    key: str
    args: dict[str, str]


def numeric_relation(value: float, target: float) -> Relation | None:
    """Off by ×2 or ×½, a power of 2 or 10, ×8 (bits vs bytes), 1024 vs 1000 (GiB vs GB), the sign."""
    if value == 0 or target == 0 or not math.isfinite(value / target):
        return None
    ratio = value / target

    def near(x: float) -> bool:
        return abs(ratio - x) <= 1e-3 * abs(x)

    if near(-1):
        return Relation("rel_sign", {})
    if ratio < 0:
        return None
    for power in (1, 2, 3, 4):  # 1024 vs 1000: KiB/MiB/GiB/TiB read as KB/MB/GB/TB
        if near(1.024**power) or near(1.024**-power):
            return Relation("rel_binary", {})
    if near(8) or near(1 / 8):
        return Relation("rel_bits_bytes", {"times": "8" if ratio > 1 else "1/8"})
    if near(2) or near(0.5):
        return Relation("rel_double" if ratio > 1 else "rel_half", {})
    exponent2, exponent10 = math.log2(ratio), math.log10(ratio)
    if abs(exponent10 - round(exponent10)) < 1e-6 and round(exponent10) != 0:
        return Relation("rel_pow10", {"n": f"{round(exponent10):+d}"})
    if abs(exponent2 - round(exponent2)) < 1e-6 and round(exponent2) != 0:
        return Relation("rel_pow2", {"n": f"{round(exponent2):+d}"})
    return None


# --------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Verdict:
    correct: bool
    typo: bool = False
    skipped: bool = False
    picked: tuple[int, ...] = ()  # choice questions: the options the learner picked (0-based, as shown)
    value: float | None = None  # numeric: the number the learner typed, as read


def check(question: Question, text: str) -> Verdict:
    """Judge an answer to an auto-graded question. Raises InvalidAnswer for unreadable input.

    An empty answer means "I don't know" and counts as wrong.
    """
    if question.type == "recall":
        raise ValueError("recall questions are rated by the learner, not checked")
    if not text.strip():
        return Verdict(False, skipped=True)
    mode = question.answer_mode
    if mode == "single":
        pick = parse_choice(text, len(question.choices))
        return Verdict(pick in question.correct_indices(), picked=(pick,))
    if mode == "multi":
        picks = tuple(parse_choices(text, len(question.choices)))
        return Verdict(picks == question.correct_indices(), picked=picks)
    if mode == "truefalse":
        return Verdict(parse_bool(text) is question.answer)
    if mode == "numeric":
        value = parse_number(text)
        target = float(question.answer)
        slack = question.tolerance + 1e-9 * max(1.0, abs(target))
        return Verdict(abs(value - target) <= slack, value=value)
    if mode == "short":
        correct, typo = match_short(text, question.accept)
        return Verdict(correct, typo=typo)
    raise ValueError(f"unknown question type {question.type}")  # pragma: no cover - schema forbids it


# --------------------------------------------------------------------------- session


@dataclass(frozen=True)
class Result:
    question: Question
    given: str
    correct: bool
    rating: str
    seconds: float


@dataclass
class TopicScore:
    right: int = 0
    total: int = 0

    @property
    def percent(self) -> float:
        return 100.0 * self.right / self.total if self.total else 0.0


@dataclass
class Session:
    """What was asked and how it went; the summary is computed from it."""

    planned: int
    results: list[Result] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def record(self, question: Question, given: str, correct: bool, seconds: float, rating: str | None = None) -> Result:
        """Add one answer; auto-graded answers rate Good when right and Again when wrong."""
        result = Result(question, given, correct, rating or ("good" if correct else "again"), seconds)
        self.results.append(result)
        return result

    @property
    def right(self) -> int:
        return sum(r.correct for r in self.results)

    def by_topic(self) -> dict[str, TopicScore]:
        scores: dict[str, TopicScore] = {}
        for r in self.results:
            score = scores.setdefault(r.question.topic, TopicScore())
            score.total += 1
            score.right += r.correct
        return dict(sorted(scores.items()))

    def to_review(self) -> list[Question]:
        """Questions missed, each once, in the order asked: exactly those the score counts wrong.

        A recall rated Hard was recalled (with effort): it counts as right and is not listed; FSRS
        already brings it back sooner than a Good one. Again counts as wrong and is listed.
        """
        seen: dict[str, Question] = {}
        for r in self.results:
            if not r.correct:
                seen.setdefault(r.question.id, r.question)
        return list(seen.values())
