"""The web server's access log never carries the Redirect URL's code or state."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import requests

from tests.support.processes import ROOT, read_until, start, stop

CONFIG = "python:config.gunicorn"


def test_every_way_of_running_the_web_server_uses_the_config() -> None:
    for name in ("scripts/run", "Dockerfile", "docker-compose.yml"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "gunicorn config.wsgi" in text or '"gunicorn"' in text, name
        assert CONFIG in text, name
        assert "--access-logfile" not in text, name


def test_the_access_log_shows_the_callback_path_without_its_query_or_referer(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["SECURITY_MATERIAL_VAR_DIR"] = str(tmp_path)
    # The command scripts/run, the Dockerfile and compose use; the log goes to stderr here.
    server = start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--config",
            CONFIG,
            "--bind",
            "127.0.0.1:0",
            "--workers",
            "1",
            "--no-control-socket",
            "--access-logfile",
            "/dev/stderr",
        ],
        env,
    )
    try:
        url = read_until(server, r"Listening at: (http://127\.0\.0\.1:\d+)", 60).group(1)
        code, state = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        callback = f"{url}/oauth2/callback/?code={code}&state={state}"
        response = requests.get(callback, headers={"Referer": callback}, timeout=30)
        assert response.status_code == 401  # no session: the page explains it
        line = read_until(server, r'"GET /oauth2/callback/ HTTP/1\.1" 401', 30).string
    finally:
        stop(server)
    assert code not in line and state not in line
    assert "python-requests" in line  # the format still says who asked
