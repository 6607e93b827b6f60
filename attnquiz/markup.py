"""Light Markdown for question texts: `code`, **bold**, *italics*, and `-`/`1.` list lines.

The bank's texts use only this subset, so a small renderer to rich Text keeps the quiz's start-up
free of a full Markdown parser (about 50 ms here) while looking the same.
"""

from __future__ import annotations

import re

from rich.text import Text

_INLINE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*|(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_BULLET = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+")

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


def _is_wide(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" or "\u3000" <= ch <= "\u303f"


_WIDE = "\u2e80-\u9fff\uff00-\uffef\u3000-\u303f"
_CJK_GAP = re.compile(f"(?<=[{_WIDE}])[ \t]+(?=[{_WIDE}])|(?<=[。，、；：？！）」』】])[ \t]+")


def tidy_cjk(text: str) -> str:
    """Drop the spaces YAML folding leaves between Chinese characters or after Chinese punctuation;
    a space between Chinese and a Latin word stays, as Chinese technical writing keeps it."""
    return _CJK_GAP.sub("", text)


def join_lines(parts: list[str]) -> str:
    """Join wrapped source lines; Chinese text joins without the space English needs."""
    out = ""
    for part in (p.strip() for p in parts):
        if out and part and not (_is_wide(out[-1]) and _is_wide(part[0])):
            out += " "
        out += part
    return out


def render(text: str) -> Text:
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
    return Text("\n").join(lines)


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

