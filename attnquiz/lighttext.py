"""The bank's light Markdown (`code`, **bold**, *italics*, `-`/`1.` list lines), read without rich.

The terminal renders it through attnquiz.markup (rich); the exports turn the same blocks into
HTML for Anki and into Markdown for a cheat sheet, so the grammar lives here, once.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple

from attnquiz.lazyre import LazyRegex

INLINE = LazyRegex(r"`([^`]+)`|\*\*(.+?)\*\*|(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
BULLET = LazyRegex(r"^(\s*)([-*+]|\d+[.)])\s+")

WIDE = "\u2e80-\u9fff\uff00-\uffef\u3000-\u303f"
_CJK_GAP = LazyRegex(f"(?<=[{WIDE}])[ \t]+(?=[{WIDE}])|(?<=[。，、；：？！）」』】])[ \t]+")


def is_wide(ch: str) -> bool:
    """A character that takes two cells and joins its neighbours without a space (Chinese, full-width)."""
    return "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" or "\u3000" <= ch <= "\u303f"


def tidy_cjk(text: str) -> str:
    """Drop the spaces YAML folding leaves between Chinese characters or after Chinese punctuation;
    a space between Chinese and a Latin word stays, as Chinese technical writing keeps it."""
    return _CJK_GAP.sub("", text)


def join_lines(parts: list[str]) -> str:
    """Join wrapped source lines; Chinese text joins without the space English needs."""
    out = ""
    for part in (p.strip() for p in parts):
        if out and part and not (is_wide(out[-1]) and is_wide(part[0])):
            out += " "
        out += part
    return out


class Span(NamedTuple):
    """A run of inline text: kind is text, code, bold or italic; bold holds spans of its own."""

    kind: str
    text: str


def spans(text: str) -> Iterator[Span]:
    """One paragraph's inline markup, in order (a bold span's text may hold more markup: call again)."""
    pos = 0
    for match in INLINE.finditer(text):
        if match.start() > pos:
            yield Span("text", text[pos : match.start()])
        code, bold, italic = match.groups()
        if code is not None:
            yield Span("code", code)
        elif bold is not None:
            yield Span("bold", bold)
        else:
            yield Span("italic", italic)
        pos = match.end()
    if pos < len(text):
        yield Span("text", text[pos:])


class Block(NamedTuple):
    """A paragraph (marker ""), or a list item with its marker ("-" for bullets, "3." for numbers)
    and its indentation; text is one line with its inline markup still in it."""

    text: str
    marker: str = ""
    indent: str = ""


def blocks(text: str) -> list[Block]:
    """Paragraphs and list items, as the terminal shows them: wrapped lines joined, blank lines apart.

    An indented line right after a bullet continues that bullet (as attnquiz.markup.render reads it).
    """
    out: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            out.append(Block(tidy_cjk(join_lines(paragraph))))
            paragraph.clear()

    for raw in text.strip().splitlines():
        bullet = BULLET.match(raw)
        if not raw.strip():
            flush()
        elif bullet:
            flush()
            marker = "-" if bullet.group(2) in "-*+" else bullet.group(2)
            out.append(Block(tidy_cjk(raw[bullet.end() :]), marker, bullet.group(1)))
        elif out and out[-1].marker == "-" and raw.startswith("  ") and not paragraph:
            out[-1] = out[-1]._replace(text=f"{out[-1].text} {raw.strip()}")
        else:
            paragraph.append(raw)
    flush()
    return out
