"""The service package's layers: edge -> capabilities -> adapters -> foundation, never back up.

The contract is ``[tool.importlinter]`` in pyproject.toml; ``make lint`` runs it too. The second
test plants an arrow that runs back up in a copy of the package, so a contract that stopped
checking anything would fail here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "mediajobs" / "mediajobs"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(package_parent: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": str(package_parent)}
    return subprocess.run(  # noqa: S603 - our own venv's lint-imports on our own package
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=package_parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_service_package_keeps_its_layers() -> None:
    result = lint_imports(PACKAGE.parent)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_a_capability_that_imports_the_http_edge_breaks_the_contract(tmp_path: Path) -> None:
    # Given a copy of the package whose job models import the API's error module
    copy = tmp_path / "mediajobs"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    models = copy / "jobs" / "models.py"
    models.write_text(models.read_text() + "\nfrom mediajobs.api import errors as _errors  # noqa: E402\n")

    # When the contract is checked
    result = lint_imports(tmp_path)

    # Then it fails and names the arrow that runs back up
    assert result.returncode != 0
    assert "mediajobs.jobs is not allowed to import mediajobs.api" in result.stdout
    assert "mediajobs.jobs.models -> mediajobs.api.errors" in result.stdout


def test_a_module_over_400_lines_says_why_in_its_docstring() -> None:
    import ast

    unexplained = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if len(text.splitlines()) > 400 and "Size:" not in docstring:
            unexplained.append(str(path.relative_to(PACKAGE)))

    assert unexplained == []
