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

from attnquiz.lazyre import LazyRegex
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
_FUNCS = {"sqrt": math.sqrt, "log2": math.log2, "log10": math.log10, "log": math.log, "ln": math.log, "exp": math.exp}
_PREFIX = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_WORD_SCALE = {
    "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12,
    "千": 1e3, "万": 1e4, "亿": 1e8, "字节": 1, "比特": 1, "位": 1, "%": 0.01,
}
_BYTE_PREFIX = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}
_BYTE_UNIT_RE = LazyRegex(r"(k|m|g|t|ki|mi|gi|ti)?(b|bytes?|bits?)", re.IGNORECASE)
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_NUMBER_TOKEN_RE = LazyRegex(
    r"(?P<num>(?:\d{1,3}(?:,\d{3})+(?!\d)|\d{1,3}(?:_\d{3})+(?!\d)|\d{1,3}(?: \d{3})+(?![\d.])|\d+)(?:\.\d*)?"
    r"(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<op>\*\*|[-+*/^()])"
    r"|(?P<func>√|(?:sqrt|log2|log10|log|ln|exp)(?![A-Za-z]))"
    r"|(?P<word>%|字节|比特|[A-Za-z_]+\.?|[\u2e80-\u9fff])"
    r"|\s+"
)


def _unit_scale(word: str) -> float | None:
    """The factor a unit word stands for; None for a word that is not a unit.

    Decimal prefixes are powers of ten (k, M, G, T, KB, MB, GB), binary ones powers of two (Ki, Mi,
    Gi, KiB, MiB, GiB). Bytes and bits both count 1: telling `Gb` from `GB` by case alone is a guess
    not worth grading on, so a bits-or-bytes word is read as a plain unit.
    """
    if word in _PREFIX:
        return _PREFIX[word]
    if word.casefold() in _WORD_SCALE:
        return _WORD_SCALE[word.casefold()]
    unit = _BYTE_UNIT_RE.fullmatch(word)
    return _BYTE_PREFIX[(unit.group(1) or "").casefold()] if unit else None


def _number_expression(text: str) -> str:
    """Rewrite a typed number as a Python expression of numbers, operators and whitelisted calls.

    A unit or number word scales the term it follows (a number, a bracket, a power), as if bracketed:
    `16 GiB / 2 bytes` is (16·2³⁰)/(2·1). Other words (about, parameters, 约, 个) are filler and dropped,
    so `12 and 13` leaves two numbers side by side, which does not parse; a word called like a function
    (`print(1)`) is refused. `x` between numbers is times.
    """
    text = re.sub(f"[{_SUPERSCRIPTS}]+", lambda m: "^" + "".join(str(_SUPERSCRIPTS.index(c)) for c in m.group(0)), text)
    raw = unicodedata.normalize("NFKC", text)
    for old, new in (("−", "-"), ("×", "*"), ("·", "*"), ("⋅", "*"), ("∙", "*"), ("÷", "/")):
        raw = raw.replace(old, new)
    raw = raw.strip().lstrip("~≈").rstrip(".?!。").strip()
    out: list[str] = []
    atoms: list[int] = []
    opens: list[int] = []
    position = 0
    while position < len(raw):
        match = _NUMBER_TOKEN_RE.match(raw, position)
        if not match:
            raise InvalidAnswer("number")
        position, kind, token = match.end(), match.lastgroup, match.group(0)
        after_value = bool(out) and (out[-1] == ")" or out[-1][-1].isdigit())
        if kind == "num":
            atoms.append(len(out))
            out.append(re.sub(r"[, _]", "", token))
        elif kind == "op":
            if token == "(":
                opens.append(len(out))
            elif token == ")":
                if not opens:
                    raise InvalidAnswer("number")
                start = opens.pop()
                atoms.append(start - 1 if start and out[start - 1] in _FUNCS else start)
            out.append("**" if token == "^" else token)
        elif kind == "func":
            if after_value:
                out.append("*")
            out.append("sqrt" if token == "√" else token)
            argument = _NUMBER_TOKEN_RE.match(raw, len(raw) - len(raw[position:].lstrip()))
            if argument and argument.lastgroup == "num":
                atoms.append(len(out) - 1)
                out += ["(", re.sub(r"[, _]", "", argument.group(0)), ")"]
                position = argument.end()
        elif kind == "word":
            word = token.rstrip(".")
            if raw.startswith("(", position):
                raise InvalidAnswer("number")
            scale = _unit_scale(word)
            if scale is not None and after_value:
                start = atoms[-1]
                while start >= 2 and out[start - 1] == "**":
                    start = max(a for a in atoms if a < start - 1)
                out[start:] = ["(", *out[start:], "*", repr(scale), ")"]
                atoms = [a for a in atoms if a < start] + [start]
                opens = [o + 1 if o >= start else o for o in opens]
            elif word in ("x", "X") and after_value:
                out.append("*")
    if not any(tok[0].isdigit() for tok in out):
        raise InvalidAnswer("number")
    return " ".join(out)


def _eval(node: ast.AST) -> float:
    """Evaluate a parsed expression built only from numbers, arithmetic and the whitelisted functions."""
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
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCS
        and len(node.args) == 1
        and not node.keywords
    ):
        return _FUNCS[node.func.id](*(_eval(arg) for arg in node.args))
    raise InvalidAnswer("number")


def parse_number(text: str) -> float:
    """A number as people type it: 1,073,741,824 · 1 073 741 824 · 2^30 · 4*512**2 · 1.07e9 · 64K · 1 GiB · 50%,
    or an expression of them: sqrt(512), √512, log2(1024), 16 GiB / (2*32*128*2 bytes), 约 512 个.

    Evaluated from a whitelisted syntax tree (numbers, + - * / ** and sqrt/log/exp), never eval; huge
    powers and anything else are refused. Words that are not units are ignored.
    """
    try:
        value = float(_eval(ast.parse(_number_expression(text[:300]), mode="eval")))
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


_TOKEN_RE = LazyRegex(r"[\u2e80-\u9fff]|[^\W\u2e80-\u9fff]+(?:'[^\W\u2e80-\u9fff]+)?|[^\w\s]")
_CLAUSE_MARKS = set(",;.:!?()[]{}，。；：！？、（）【】")
_CLAUSE_WORDS = {"but", "and", "so", "because", "since", "while", "whereas", "although", "though", "then",
                 "instead", "however", "which", "但", "而"}
_NEGATORS = {"no", "not", "never", "none", "nothing", "without", "neither", "nor", "cannot", "isnt", "arent",
             "doesnt", "dont", "didnt", "wasnt", "werent", "wont", "cant", "hasnt", "havent", "不", "没", "无", "非"}
# Chinese words that start with a negating character but do not negate (different, infinity, very, ...).
_NOT_NEGATING = {("不", "同"), ("不", "仅"), ("不", "断"), ("不", "管"), ("不", "论"), ("不", "少"), ("无", "论"),
                 ("无", "穷"), ("无", "限"), ("非", "常"), ("没", "错")}


def _tokens(text: str) -> list[tuple[str, int]]:
    """(token, clause number) pairs: words, single Chinese characters and symbols (√, ², +);
    punctuation and conjunctions (but, and, 而) end a clause and are dropped."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    tokens: list[tuple[str, int]] = []
    clause = 0
    for tok in _TOKEN_RE.findall(text):
        if tok in _CLAUSE_MARKS or tok in _CLAUSE_WORDS:
            clause += 1
            if tok in _CLAUSE_WORDS:
                tokens.append((tok, clause))
        elif not unicodedata.category(tok[0]).startswith("P") and tok != "`":
            tokens.append((tok, clause))
    return tokens


def _words(text: str) -> list[str]:
    """Words and symbols (√, ²...) of an answer, a Chinese character being a word; punctuation dropped."""
    return [tok for tok, _ in _tokens(text)]


def _is_negator(words: Sequence[str], i: int) -> bool:
    word = words[i]
    if word.endswith("n't"):
        return True
    following = words[i + 1] if i + 1 < len(words) else ""
    return word in _NEGATORS and (word, following) not in _NOT_NEGATING


def _negations(words: Sequence[str]) -> int:
    return sum(_is_negator(words, i) for i in range(len(words)))


_FILLER_WORDS = {
    "a", "an", "the", "it", "its", "it's", "is", "it'll", "was", "be", "i", "i'm", "i'd", "think", "believe", "guess",
    "suppose", "say", "maybe", "probably", "perhaps", "likely", "just", "answer", "that", "that's", "this", "called",
    "of", "um", "uh", "hmm", "well", "yes", "yeah", "ok", "okay", "sure", "pretty", "there", "there's", "they", "are",
}
_FILLER_ZH = ("我觉得", "我认为", "我想", "应该是", "大概是", "可能是", "就是", "答案是", "它是", "这是", "一个", "应该", "大概",
              "可能", "是", "吧", "呢", "啊", "吗", "嗯", "的", "了")


def _content(text: str) -> list[str]:
    """The words of an answer without filler: articles, hedges (I think, probably, 我觉得, 吧) and particles."""
    text = unicodedata.normalize("NFKC", text)
    for phrase in _FILLER_ZH:
        text = text.replace(phrase, " ")
    return [word for word in _words(text) if word not in _FILLER_WORDS]


_FORMULA_FILLER = sorted(_FILLER_WORDS | {"i think", "i believe", "i guess", "i'd say", "the answer is", "it is"}, key=len)
_FORMULA_LEAD_RE = LazyRegex(
    r"^(?:(?:" + "|".join(re.escape(w) for w in reversed(_FORMULA_FILLER)) + r")(?:\s*[,:]\s*|\s+)"
    r"|(?:" + "|".join(_FILLER_ZH) + r")\s*)*",
    re.IGNORECASE,
)
_FORMULA_TAIL_RE = LazyRegex(
    r"(?:[\s,]*(?:i think|i believe|i guess|probably|maybe|perhaps|吧|呢|吗)|[\s.!?。！？])*$",
    re.IGNORECASE,
)


def _formula(text: str) -> str | None:
    """A canonical form of a typed formula, or None for plain words.

    `1 + elu(x)` = `elu(x)+1`, `x^2` = `x**2` = `x²`, `sqrt(d_k)` = `√d_k` = `d_k^0.5`: sums are
    reordered, and so are products unless a factor is a capitalised name (Q, K, W are matrices and
    do not commute). Parsed with ast only, never evaluated.
    """
    text = re.sub(f"[{_SUPERSCRIPTS}]+", lambda m: "^" + "".join(str(_SUPERSCRIPTS.index(c)) for c in m.group(0)), text)
    text = unicodedata.normalize("NFKC", text).strip().replace("’", "'")
    text = _FORMULA_TAIL_RE.sub("", _FORMULA_LEAD_RE.sub("", text))
    for old, new in (("−", "-"), ("×", "*"), ("·", "*"), ("⋅", "*"), ("^", "**")):
        text = text.replace(old, new)
    text = re.sub(r"√\s*(?=\()", "sqrt", text)
    text = re.sub(r"√\s*(\w+)", r"sqrt(\1)", text)
    if len(text) > 200 or not re.search(r"[-+*/()]", text):
        return None
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if isinstance(tree, (ast.Name, ast.Constant)):
        return None
    try:
        return _canonical(tree)
    except (ValueError, RecursionError):
        return None


def _canonical(node: ast.AST) -> str:
    """The canonical text of a formula node; ValueError for anything but arithmetic on names and calls."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return repr(float(node.value))
    if isinstance(node, ast.Name):
        return node.id.casefold()
    if isinstance(node, ast.Attribute):
        return f"{_canonical(node.value)}.{node.attr.casefold()}"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return ("-" if isinstance(node.op, ast.USub) else "") + _canonical(node.operand)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        return f"{node.func.id.casefold()}({','.join(_canonical(arg) for arg in node.args)})"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and _is_half(node.right):
        return f"sqrt({_canonical(node.left)})"
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
        terms = _flatten(node, type(node.op))
        parts = [_canonical(term) for term in terms]
        matrices = any(isinstance(n, ast.Name) and n.id[:1].isupper() for term in terms for n in ast.walk(term))
        if isinstance(node.op, ast.Add) or not matrices:
            parts.sort()
        return ("+" if isinstance(node.op, ast.Add) else "*").join(f"({part})" for part in parts)
    symbols = {ast.Sub: "-", ast.Div: "/", ast.Pow: "^", ast.MatMult: "@", ast.FloorDiv: "//"}
    if isinstance(node, ast.BinOp) and type(node.op) in symbols:
        return f"({_canonical(node.left)}){symbols[type(node.op)]}({_canonical(node.right)})"
    raise ValueError("not a formula")


def _flatten(node: ast.AST, op: type) -> list[ast.AST]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, op):
        return _flatten(node.left, op) + _flatten(node.right, op)
    return [node]


def _is_half(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return node.value == 0.5
    return (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and all(isinstance(side, ast.Constant) for side in (node.left, node.right))
        and (node.left.value, node.right.value) == (1, 2)
    )


def _typo_match(given: Sequence[str], target: Sequence[str]) -> bool:
    """Same words up to slips in longer words; a word with a digit must be exact (fp16 is not fp32)."""
    return len(given) == len(target) and all(
        g == t or (_typo_budget(t) and not re.search(r"\d", t + g) and edit_distance(g, t, _typo_budget(t)) <= _typo_budget(t))
        for g, t in zip(given, target)
    )


def match_short(text: str, accepted: Sequence[str]) -> tuple[bool, bool]:
    """(correct, forgiven_typo) for a typed phrase against the accepted answers.

    Right when, after dropping filler (articles, hedges like "I think", "probably", 我觉得, 吧), the
    words are those of an accepted answer, or the formula is the same up to order of sums and
    products, spacing and notation (x^2 = x**2 = x², √d_k = sqrt(d_k) = d_k^0.5). Any other word
    around the answer makes it wrong ("rotation and scaling" is not "rotation"), and so does a
    negation the accepted answer lacks (not, no, isn't, 不, 没有). Typos are forgiven word by word,
    and only in longer words: `d_k` against `d_v` or `fp16` against `fp32` are different answers,
    `squre root` is a slip.
    """
    given = normalize(text)
    if not given:
        return False, False
    if given in (normalize(a) for a in accepted):
        return True, False
    words, content, formula = _words(text), _content(text), _formula(text)
    candidates = [target for target in accepted if _negations(words) <= _negations(_words(target))]
    for target in candidates:
        target_content = _content(target)
        if target_content and content == target_content:
            return True, False
        if formula is not None and formula == _formula(target):
            return True, False
    for target in candidates:
        target_content = _content(target)
        if target_content and _typo_match(content, target_content):
            return True, True
    return False, False


def mentioned_points(question: Question, text: str) -> list[bool]:
    """For a recall question: which key points the answer mentions.

    A keyword counts when its words appear in the answer as whole words, in order (so `wo` is not
    found in "would", nor `cat` in "location"), in any common form (mask, masks, masked, masking;
    sum, summed). Chinese counts character by character, spaces ignored. A keyword does not count
    when a negator (no, not, without, never, isn't, 不, 没有, 无) comes before it in the same clause
    ("no causal mask" does not mention a mask), unless the keyword is itself negated ("no causal
    mask" as a keyword needs those words).
    """
    tokens = _tokens(text)
    words = [word for word, _ in tokens]
    stems = [_stem(word) for word in words]
    return [
        any(_mentions(keyword, words, stems, [clause for _, clause in tokens]) for keyword in point.keywords)
        for point in question.key_points
    ]


def _mentions(keyword: str, words: list[str], stems: list[str], clauses: list[int]) -> bool:
    wanted = _words(keyword)
    if not wanted:
        return False
    wanted_stems = [_stem(word) for word in wanted]
    negated_keyword = _negations(wanted) > 0
    n = len(wanted)
    for i in range(len(words) - n + 1):
        if stems[i : i + n] != wanted_stems:
            continue
        if negated_keyword or not any(clauses[j] == clauses[i] and _is_negator(words, j) for j in range(i)):
            return True
    return False


def _stem(word: str) -> str:
    """A light stemmer for English words, so keyword `add` finds adds, added, adding, and `sum` summed."""
    if not (word.isascii() and word.isalpha()) or len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) >= 5:
        return word[:-3] + "y"
    for suffix in ("es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and word[-len(suffix) - 1] not in "siu":
            word = word[: -len(suffix)]
            break
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


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
