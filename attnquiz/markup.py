"""Light Markdown for question texts: `code`, **bold**, *italics*, and `-`/`1.` list lines.

The bank's texts use only this subset, so a small renderer to rich Text keeps the quiz's start-up
free of a full Markdown parser (about 50 ms here) while looking the same.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from attnquiz.lazyre import LazyRegex
from attnquiz.lighttext import BULLET as _BULLET
from attnquiz.lighttext import INLINE as _INLINE
from attnquiz.lighttext import WIDE as _WIDE
from attnquiz.lighttext import join_lines, tidy_cjk
from rich.cells import cell_len
from rich.text import Text

CODE_STYLE = "bold cyan"


def inline(text: str) -> Text:
    """One paragraph's inline markup as styled text."""
    out = Text()
    pos = 0
    for match in _INLINE.finditer(text):
        out.append(text[pos : match.start()])
        code, bold, italic = match.groups()
        if code is not None:
            out.append(code, style=CODE_STYLE)
        elif bold is not None:
            strong = inline(bold)
            strong.stylize("bold")
            out.append_text(strong)
        else:
            out.append(italic, style="italic")
        pos = match.end()
    out.append(text[pos:])
    return out


_CLOSING = "，。、；：？！）」』】》”’,.;:?!)]}"
_HANG_ITEM = LazyRegex(r"\s*(?:•|\d+[.)]|[A-J]\.)\s+")
_HANG_CODE = LazyRegex(r"\s*(?:\d+ )?\s*")
_TOKEN = LazyRegex(rf"\s+|[{_WIDE}][{re.escape(_CLOSING)}]*|[^\s{_WIDE}]+[{re.escape(_CLOSING)}]*")


class Wrapped:
    """Text that wraps as mixed Chinese and English reads: a line may break between two Chinese
    characters (never before closing punctuation) or at a space, never inside an English word
    unless the word alone is wider than the line. Rich treats a run of Chinese as one long word,
    which leaves half-empty lines and splits the English word that follows."""

    def __init__(self, text: Text, code: bool = False) -> None:
        self.text, self.code = text, code

    @property
    def plain(self) -> str:
        return self.text.plain

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Text]:
        width = max(1, options.max_width)
        lines: list[Text] = []
        for line in self.text.split("\n", allow_blank=True):
            lines.extend(wrap(line, width, self._hang(line.plain, width)))
        yield Text("\n").join(lines)

    def _hang(self, line: str, width: int) -> int:
        """Where continuation lines start: under a list item's text, or code's indentation + 4."""
        lead = _HANG_CODE.match(line) if self.code else _HANG_ITEM.match(line)
        hang = (len(lead.group(0)) + (4 if self.code else 0)) if lead else 0
        return hang if hang < width // 2 else 0

    def __rich_measure__(self, console: Any, options: Any) -> Any:
        from rich.measure import Measurement

        plain = self.text.plain
        words = [cell_len(t) for t in _TOKEN.findall(plain) if not t.isspace()] or [1]
        longest = max((cell_len(line) for line in plain.split("\n")), default=1)
        return Measurement(min(max(words), longest), longest).clamp(max_width=options.max_width)


def wrap(line: Text, width: int, indent: int = 0) -> list[Text]:
    """Greedy line breaking of one line at the break points of `_TOKEN`; continuation lines start
    with `indent` spaces, and spaces at a break are dropped."""
    out: list[Text] = []
    current, used, pending, started = Text(), 0, 0, False

    def flush() -> None:
        nonlocal current, used, pending, started
        current.rstrip()
        out.append(current)
        current, used, pending, started = Text(" " * indent), indent, 0, False

    for match in _TOKEN.finditer(line.plain):
        piece = line[match.start() : match.end()]
        size = cell_len(match.group())
        if match.group().isspace():
            if match.start() == 0:  # the line's own indentation is kept
                current.append_text(piece)
                used = size
            elif started:
                pending = size
            continue
        if used + pending + size <= width:
            current.append(" " * pending)
            current.append_text(piece)
            used, pending, started = used + pending + size, 0, True
            continue
        if started:
            flush()
        while used + size > width and width > used:  # a word wider than the line: fold it
            room, cut = width - used, 0
            while cut < len(piece.plain) and cell_len(piece.plain[: cut + 1]) <= room:
                cut += 1
            if cut == 0:
                break
            current.append_text(piece[:cut])
            piece, size = piece[cut:], cell_len(piece.plain[cut:])
            flush()
        current.append_text(piece)
        used, started = used + size, True
    out.append(current)
    return out


def render(text: str) -> Wrapped:
    """A block of light Markdown: paragraphs joined, list items kept on their own lines with a bullet."""
    lines: list[Text] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            lines.append(inline(tidy_cjk(join_lines(paragraph))))
            paragraph.clear()

    for raw in text.strip().splitlines():
        bullet = _BULLET.match(raw)
        if not raw.strip():
            flush()
            lines.append(Text())
        elif bullet:
            flush()
            marker = "•" if bullet.group(2) in "-*+" else bullet.group(2)
            item = Text(f"{bullet.group(1)}  {marker} ")
            item.append_text(inline(tidy_cjk(raw[bullet.end():])))
            lines.append(item)
        elif lines and lines[-1].plain.lstrip().startswith(("•",)) and raw.startswith("  ") and not paragraph:
            lines[-1].append(" ")
            lines[-1].append_text(inline(raw.strip()))
        else:
            paragraph.append(raw)
    flush()
    return Wrapped(Text("\n").join(lines))


_PY_KEYWORDS = frozenset(
    "False None True and as assert async await break class continue def del elif else except finally for from "
    "global if import in is lambda nonlocal not or pass raise return try while with yield".split()
)
_PY_BUILTINS = frozenset("self super len range print int float bool str list dict tuple isinstance zip enumerate".split())
_CODE_STYLES = {
    "keyword": "bold magenta",
    "builtin": "cyan",
    "string": "green",
    "comment": "dim italic",
    "number": "yellow",
    "defname": "bold blue",
    "decorator": "magenta",
}


def highlight_python(code: str, line_numbers: bool = False) -> Text:
    """Colour a Python snippet with the standard tokenizer: the quiz's code shows without loading Pygments.

    Snippets that do not tokenize (unbalanced brackets, other languages) come back uncoloured.
    """
    import io
    import tokenize

    fstring_parts = ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")  # Python 3.12+ tokenizes f-strings
    string_kinds = {tokenize.STRING} | {getattr(tokenize, n) for n in fstring_parts if hasattr(tokenize, n)}

    code = code.rstrip("\n")
    lines = code.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    text = Text(code)
    previous = ""
    decorating = False
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code + "\n").readline):
            start = offsets[tok.start[0] - 1] + tok.start[1]
            end = offsets[tok.end[0] - 1] + tok.end[1]
            style = None
            if tok.type == tokenize.COMMENT:
                style = "comment"
            elif tok.type in string_kinds:
                style = "string"
            elif tok.type == tokenize.NUMBER:
                style = "number"
            elif tok.type == tokenize.NAME:
                if tok.string in _PY_KEYWORDS:
                    style = "keyword"
                elif previous in ("def", "class"):
                    style = "defname"
                elif tok.string in _PY_BUILTINS:
                    style = "builtin"
                elif decorating:
                    style = "decorator"
            elif tok.type == tokenize.OP and tok.string == "@" and previous in ("", "\n"):
                style, decorating = "decorator", True
            if tok.type == tokenize.NEWLINE:
                decorating = False
            if style:
                text.stylize(_CODE_STYLES[style], start, min(end, len(code)))
            if tok.type not in (tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT):
                previous = "\n" if tok.type == tokenize.NEWLINE else tok.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        text = Text(code)
    if not line_numbers:
        return text
    width = len(str(len(lines)))
    numbered = Text()
    for number, line in enumerate(text.split("\n", allow_blank=True), 1):
        numbered.append(f"{number:>{width}} ", style="dim")
        numbered.append_text(line)
        numbered.append("\n")
    numbered.rstrip()
    return numbered

