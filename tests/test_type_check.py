"""The package ships ``py.typed``: its type hints (and the API's) must check with mypy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_the_package_and_the_api_type_check() -> None:
    # [tool.mypy] in pyproject.toml names the files and the strictness.
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_py_typed_is_shipped_with_the_package() -> None:
    assert (REPO / "stream_pose_ml" / "py.typed").is_file()
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"py.typed"' in pyproject  # package data of the wheel
