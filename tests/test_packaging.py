"""What a non-editable `pip install .` must carry: the bank, the katas and the schema, inside the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import attnquiz
from attnquiz.paths import content_dir

PACKAGE = Path(attnquiz.__file__).resolve().parent
FROM_SOURCE = (PACKAGE.parent / "pyproject.toml").exists()


@pytest.mark.skipif(FROM_SOURCE, reason="imported from a source checkout; CI runs the suite against the installed wheel")
def test_installed_package_carries_its_content():
    questions = PACKAGE / "_content" / "questions"
    assert content_dir("questions") == questions
    assert sorted(questions.glob("*.yaml")), "the wheel must carry questions/"
    assert (PACKAGE / "schema" / "question-bank.schema.json").is_file()
    assert content_dir("katas") == PACKAGE / "_content" / "katas"


def test_bank_works_from_any_folder(tmp_path):
    """Run from an unrelated folder with the package's own location on the path only."""
    env_path = str(PACKAGE.parent)
    code = "import sys; sys.path.insert(0, sys.argv.pop(1)); from attnquiz.cli import app; sys.argv[0] = 'attnquiz'; app()"
    result = subprocess.run(
        [sys.executable, "-c", code, env_path, "bank", "check"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no problems" in result.stdout
