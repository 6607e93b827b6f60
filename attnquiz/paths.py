"""Where attnquiz finds its content and keeps the learner's data."""

from __future__ import annotations

import os
from pathlib import Path

from attnquiz.errors import AttnquizError

_PACKAGE = Path(__file__).resolve().parent


def content_dir(name: str) -> Path:
    """The built-in `questions` or `katas` folder.

    A wheel carries them inside the package (attnquiz/_content/NAME); a source checkout or an
    editable install reads them from the repository root, so authors see edits at once.
    """
    packaged = _PACKAGE / "_content" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / name


def _home_override() -> Path | None:
    """ATTNQUIZ_HOME, when set: everything attnquiz writes then goes below it (tests rely on this)."""
    override = os.environ.get("ATTNQUIZ_HOME")
    return Path(override).expanduser() if override else None


def user_dir() -> Path:
    """The one folder for the learner's data; ATTNQUIZ_HOME overrides the platform default."""
    path = _home_override()
    if path is None:
        import platformdirs

        path = Path(platformdirs.user_data_dir("attnquiz", appauthor=False))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AttnquizError(
            f"{path}: cannot create the attnquiz data folder ({exc.strerror or exc}); "
            "set ATTNQUIZ_HOME to a folder you can write to"
        ) from None
    return path


def cache_dir() -> Path:
    """Disposable data (the validated-bank cache): ATTNQUIZ_HOME/cache, else the platform cache folder."""
    home = _home_override()
    if home is not None:
        return home / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir("attnquiz", appauthor=False))
