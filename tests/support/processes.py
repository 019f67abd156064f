"""Child processes of the tests: start them, and wait for a line of their output."""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


_pending: dict[int, str] = {}  # per process: output read but not yet matched


def read_until(process: subprocess.Popen[str], pattern: str, timeout: float) -> re.Match[str]:
    """Read the process's stderr until a line matches; fail with what it said otherwise.

    Waits on the pipe (selectors), not on a clock, and reads the raw descriptor: a buffered
    readline() would hide lines that select() then never reports.
    """
    assert process.stderr is not None
    fd = process.stderr.fileno()
    deadline = time.monotonic() + timeout
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    seen: list[str] = []
    try:
        while True:
            *lines, rest = _pending.get(process.pid, "").split("\n")
            for index, line in enumerate(lines):
                seen.append(line)
                match = re.search(pattern, line)
                if match:
                    _pending[process.pid] = "\n".join([*lines[index + 1 :], rest])
                    return match
            _pending[process.pid] = rest
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(timeout=left):
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            _pending[process.pid] += chunk.decode("utf-8", "replace")
    finally:
        selector.close()
    raise AssertionError(
        f"no line matched {pattern!r}; the process said:\n" + "\n".join(seen[-40:])
    )


def said(process: subprocess.Popen[str]) -> str:
    """All a stopped process wrote to stderr that read_until has not consumed."""
    assert process.stderr is not None and process.poll() is not None
    return _pending.pop(process.pid, "") + process.stderr.read()


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own commands
        command, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def test_database_url() -> str:
    """The database this test session uses, for the app's own processes."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


test_database_url.__test__ = False  # type: ignore[attr-defined]


@contextmanager
def gunicorn(var_dir: Path, *options: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """The service under gunicorn with the shipped configuration (and `options`, and `env`
    over the test environment), on the test database; yields its URL."""
    with gunicorn_process(var_dir, *options, env=env) as (url, _):
        yield url


@contextmanager
def gunicorn_process(
    var_dir: Path, *options: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The same, yielding its URL and its master process."""
    from tests.conftest import TEST_KEY

    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        "SECURITY_MATERIAL_KEYS": TEST_KEY,
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,  # API tokens are hashed with it
        "SECURITY_MATERIAL_VAR_DIR": str(var_dir),
        **(env or {}),
    }
    process = start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            "127.0.0.1:0",
            "--no-control-socket",
            "--config",
            "python:config.gunicorn",
            *options,
        ],
        env,
    )
    try:
        yield read_until(process, r"Listening at: (http://127\.0\.0\.1:\d+)", 60).group(1), process
    finally:
        stop(process)


@contextmanager
def celery(env: dict[str, str], *arguments: str) -> Iterator[subprocess.Popen[str]]:
    """`celery -A config <arguments>` (a worker waits until ready), with `env`."""
    process = start([sys.executable, "-m", "celery", "-A", "config", *arguments], env)
    try:
        if arguments[0] == "worker":
            read_until(process, r"celery@\S+ ready", 60)
        yield process
    finally:
        stop(process)
