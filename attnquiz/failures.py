"""How a failed check's case looks: a short block under its ✗ line, and the attention weights of
that case drawn side by side (the learner's and the reference's).

Plain functions over the plain data of `attnquiz.grading.runner.parse_case` (no rich, no torch),
so tests can read exactly what a learner sees. A drawn line is a list of (text, style) segments;
styles are rich style names that the CLI applies. With colour a cell is shaded by its weight
(blank where it is exactly 0, so the upper triangle that should be empty is empty); without
colour (NO_COLOR, a pipe) it is a digit.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any, Mapping, Optional, Sequence

from attnquiz.i18n import t

Segment = tuple[str, str]  # (text, rich style; "" for none)
Line = list[Segment]

# Viridis in ten steps, one per digit (weight × 10 rounded down): dark purple to yellow, apart from
# both a dark and a light terminal background (blank, exactly 0); rich adapts it to the terminal.
SHADES = ("#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725")
GAP = "    "


def case_lines(case: Mapping[str, Any], lang: str) -> list[str]:
    """The case block: the inputs, what was compared and its shape, the worst element."""
    lines = []
    inputs = case.get("inputs") or []
    if inputs:
        lines.append(t("case_inputs", lang, items=" · ".join(_input(i) for i in inputs)))
    what = case.get("what")
    if what and "got_shape" in case:
        lines.append(t("case_shape_differs", lang, what=what, got=_shape(case["got_shape"]), shape=_shape(case.get("shape", []))))
    elif what and case.get("expected_dtype"):
        lines.append(t("case_dtype_differs", lang, what=what, got=case.get("dtype", "?"), expected=case["expected_dtype"]))
    elif what and "shape" in case:
        lines.append(t("case_checked", lang, what=what, shape=_shape(case["shape"]), dtype=case.get("dtype", "")).rstrip())
    if "index" in case and "got" in case and "expected" in case:
        lines.append(t("case_worst", lang, index=_shape(case["index"]), got=_number(case["got"]), expected=_number(case["expected"])))
    return lines


def heatmap_lines(weights: Mapping[str, Any], color: bool, lang: str) -> list[Line]:
    """The learner's weights beside the reference's (rows = queries, columns = keys), then a legend."""
    yours, reference = weights["yours"], weights["reference"]
    mine = _block(yours, reference, color, t("heat_yours", lang))
    theirs = _block(reference, None, color, t("heat_reference", lang))
    width = max(_width(line) for line in mine)
    lines: list[Line] = []
    for i in range(max(len(mine), len(theirs))):
        left = mine[i] if i < len(mine) else []
        right = theirs[i] if i < len(theirs) else []
        lines.append([*left, (" " * (width - _width(left)) + GAP, ""), *right] if right else left)
    lines += [[(text, "dim")] for text in t("heat_legend_color" if color else "heat_legend_digits", lang).split("\n")]
    return lines


def plain_text(lines: Sequence[Line]) -> str:
    """The drawn lines without their styles (what a log or a test reads)."""
    return "\n".join("".join(text for text, _ in line).rstrip() for line in lines)


# --- helpers -----------------------------------------------------------------------------------


def _block(side: Mapping[str, Any], other: Optional[Mapping[str, Any]], color: bool, title: str) -> list[Line]:
    values: list[list[Optional[float]]] = side["values"]
    row0, col0 = side["row0"], side["col0"]
    where = "(" + ", ".join([*(str(a) for a in side["at"]), ":", ":"]) + ")"
    cropped = len(values) < side["rows"] or len(values[0]) < side["cols"]
    span = f" [{row0}:{row0 + len(values)}, {col0}:{col0 + len(values[0])}]" if cropped else ""
    lines: list[Line] = [[(f"{title} {where}{span}", "bold")]]
    lines.append([("q\\k", "dim"), ("".join(f"{(col0 + j) % 10:>2}" for j in range(len(values[0]))), "dim")])
    theirs = other["values"] if other is not None and _same_grid(side, other) else None
    for i, row in enumerate(values):
        line: Line = [(f"{row0 + i:>3}", "dim")]
        for j, w in enumerate(row):
            differs = theirs is not None and _differs(w, theirs[i][j])
            line.append(_cell(w, differs, color))
        lines.append(line)
    return lines


def _same_grid(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    keys = ("at", "rows", "cols", "row0", "col0")
    return all(a[k] == b[k] for k in keys) and len(a["values"]) == len(b["values"]) and len(a["values"][0]) == len(b["values"][0])


def _differs(w: Optional[float], r: Optional[float]) -> bool:
    """Exactly 0 in only one of the two: a key that leaks through a mask, or one masked wrongly."""
    return w is not None and r is not None and (w == 0) != (r == 0)


def _cell(w: Optional[float], differs: bool, color: bool) -> Segment:
    """One weight, two columns wide: a shade (blank for exactly 0) or a digit (· for exactly 0);
    with colour, × marks a cell that is exactly 0 in only one of the two."""
    if w is None:
        return ("!!", "bold white on red") if color else (" !", "")
    step = min(9, max(0, math.floor(w * 10)))
    if not color:
        return (" ·" if w == 0 else f" {step}", "")
    mark = " ×" if differs else "  "
    if w == 0:
        return (mark, "bold red" if differs else "")
    ink = "black" if step >= 6 else "white"
    return (mark, f"bold {ink} on {SHADES[step]}")


def _width(line: Line) -> int:
    """Terminal columns: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for text, _ in line for ch in text)


def _input(item: Mapping[str, Any]) -> str:
    if "shape" in item:
        return f"{item['name']} {_shape(item['shape'])} {item.get('dtype', '')}".rstrip()
    return f"{item['name']} = {item.get('value', '?')}"


def _shape(dims: Sequence[int]) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
