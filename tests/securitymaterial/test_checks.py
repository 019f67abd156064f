"""The system check refuses to start without valid encryption keys."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from securitymaterial.checks import check_encryption_keys, check_file_permissions

ROOT = Path(__file__).resolve().parents[2]


def ids(settings: Any) -> list[str]:
    messages = check_encryption_keys() + check_file_permissions()
    return [message.id or "" for message in messages]


def test_valid_keys_pass(settings: Any) -> None:
    settings.SECURITY_MATERIAL_KEYS = [Fernet.generate_key().decode()]
    assert ids(settings) == []


def test_no_key_is_an_error_that_says_how_to_make_one(settings: Any) -> None:
    settings.SECURITY_MATERIAL_KEYS = []
    [message] = check_encryption_keys()
    assert message.id == "securitymaterial.E001"
    assert "Fernet.generate_key()" in (message.hint or "")


def test_a_malformed_key_is_an_error_naming_its_position(settings: Any) -> None:
    settings.SECURITY_MATERIAL_KEYS = [Fernet.generate_key().decode(), "not-a-key"]
    [message] = check_encryption_keys()
    assert message.id == "securitymaterial.E002"
    assert "number 2" in message.msg
    assert "not-a-key" not in message.msg


def test_a_key_file_readable_by_others_is_a_warning(settings: Any, tmp_path: Path) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text(Fernet.generate_key().decode())
    key_file.chmod(0o644)
    settings.SECURITY_MATERIAL_KEY_FILE = key_file
    assert ids(settings) == ["securitymaterial.W002"]
    key_file.chmod(0o600)
    assert ids(settings) == []


def test_key_and_password_files_given_by_name_readable_by_others_are_warnings(
    settings: Any, tmp_path: Path
) -> None:
    secret_key, keys = tmp_path / "django-secret", tmp_path / "keys"
    for path in (secret_key, keys):
        path.write_text("x")
        path.chmod(0o640)
    settings.SECRET_FILES = [secret_key, keys]
    [first, second] = check_file_permissions()
    assert (first.id, second.id) == ("securitymaterial.W002", "securitymaterial.W002")
    assert str(secret_key) in first.msg and str(keys) in second.msg
    secret_key.chmod(0o600)
    keys.chmod(0o400)
    assert check_file_permissions() == []


def test_a_var_dir_or_database_readable_by_others_is_a_warning(
    settings: Any, tmp_path: Path
) -> None:
    database = tmp_path / "db.sqlite3"
    database.write_text("")
    database.chmod(0o644)
    tmp_path.chmod(0o755)
    settings.VAR_DIR, settings.SQLITE_DATABASE = tmp_path, database
    assert [m.hint for m in check_file_permissions()] == [
        f"chmod 700 {tmp_path}",
        f"chmod 600 {database}",
    ]


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_service_refuses_to_start_with_a_malformed_key() -> None:
    result = run_manage("check", env={**os.environ, "SECURITY_MATERIAL_KEYS": "abc"})
    assert result.returncode != 0
    assert "securitymaterial.E002" in result.stderr
    assert "Fernet.generate_key()" in result.stderr


def test_the_embedded_default_generates_a_private_key_file_and_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SECURITY_MATERIAL_KEYS"}
    env.pop("DATABASE_URL", None)
    var = tmp_path / "var"
    env["SECURITY_MATERIAL_VAR_DIR"] = str(var)
    result = run_manage("check", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr
    assert var.stat().st_mode & 0o777 == 0o700
    for private in ("db.sqlite3", "django-secret-key"):
        assert (var / private).stat().st_mode & 0o777 == 0o600
    key_file = var / "security-material.keys"
    assert f"Generated an encryption key in {key_file} (mode 0600)" in result.stderr
    assert key_file.stat().st_mode & 0o777 == 0o600
    Fernet(key_file.read_text().strip())
    again = run_manage("check", env=env)
    assert "Generated an encryption key" not in again.stderr


def test_an_older_var_dir_and_database_readable_by_others_are_made_private(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    (var / "db.sqlite3").write_text("")
    (var / "db.sqlite3").chmod(0o644)
    env["SECURITY_MATERIAL_VAR_DIR"] = str(var)
    result = run_manage("check", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr
    assert var.stat().st_mode & 0o777 == 0o700
    assert (var / "db.sqlite3").stat().st_mode & 0o777 == 0o600


def test_check_deploy_behind_https_reports_only_what_the_readme_explains(tmp_path: Path) -> None:
    """HSTS for subdomains and preload, and the SSL redirect a TLS proxy does: nothing else
    (secure cookies, HSTS, DEBUG off, a strong secret key all follow from https)."""
    env = {
        # Not what the test session set for itself (the browser tests allow async-unsafe
        # calls, which check --deploy rightly refuses in a deployment).
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "PUBLIC_BASE_URL": "https://sm.example.com",
        "DJANGO_DEBUG": "false",
        "SECURITY_MATERIAL_KEYS": Fernet.generate_key().decode(),
        "DJANGO_SECRET_KEY": Fernet.generate_key().decode() * 2,
        "SECURITY_MATERIAL_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = sorted(set(re.findall(r"\((\w+\.[EW]\d+)\)", result.stdout + result.stderr)))
    assert found == ["security.W005", "security.W008", "security.W021"], result.stderr
