"""Regular expressions compiled on first use.

The quiz's matching and wrapping patterns are large (Unicode classes, long alternations); compiled
at import they cost the first question on screen tens of milliseconds it does not need yet.
"""

from __future__ import annotations

import re
from typing import Any


class LazyRegex:
    """Stands for `re.compile(pattern, flags)`; compiles on the first attribute used."""

    __slots__ = ("_pattern", "_flags", "_compiled")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._pattern, self._flags, self._compiled = pattern, flags, None

    def __getattr__(self, name: str) -> Any:
        if self._compiled is None:
            self._compiled = re.compile(self._pattern, self._flags)
        return getattr(self._compiled, name)
