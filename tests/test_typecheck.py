"""The type checker over the package: `make test` runs mypy (configured in pyproject.toml) and expects no error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # about 30 s without its cache (.cache/mypy), under a second with it
def test_the_package_type_checks_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy"],  # files and settings from [tool.mypy]
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert output.strip().startswith("Success: no issues found"), output
    checked = int(output.split(" in ")[1].split()[0])
    assert checked >= len(list((ROOT / "src" / "museforge").rglob("*.py")))  # every module, none skipped
