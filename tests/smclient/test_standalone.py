"""smclient stands alone: it imports with the standard library only (no site-packages, so
no Django), and installs from its own folder (pip install ./smclient) without any
dependency."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
USE_IT = (
    "import smclient, sys; "
    "client = smclient.SecurityMaterial('https://sm.example.com', api_token='smt_x'); "
    "assert 'django' not in sys.modules and 'requests' not in sys.modules; print('ok')"
)


def run_without_site_packages(path: Path) -> str:
    """-I -S: no site-packages, no environment, no current directory on the path."""
    code = f"import sys; sys.path.insert(0, {str(path)!r}); {USE_IT}"
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-I", "-S", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def test_it_imports_with_the_standard_library_alone() -> None:
    assert run_without_site_packages(ROOT) == "ok\n"


@pytest.mark.slow
def test_it_installs_from_its_own_folder_without_dependencies(tmp_path: Path) -> None:
    # From a copy: building in place would leave build/ and *.egg-info in the repository.
    source = shutil.copytree(
        ROOT / "smclient", tmp_path / "source", ignore=shutil.ignore_patterns("__pycache__")
    )
    target = tmp_path / "installed"
    subprocess.run(  # noqa: S603 - pip of this interpreter, from this repository
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    assert sorted(p.name for p in (target / "smclient").glob("*.py")) == ["__init__.py"]
    assert run_without_site_packages(target) == "ok\n"
