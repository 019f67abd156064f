"""The web server's access log never carries the Redirect URL's code or state."""

from __future__ import annotations

import secrets
from pathlib import Path

import requests

from tests.support.processes import ROOT, gunicorn_process, read_until

CONFIG = "python:config.gunicorn"


def test_every_way_of_running_the_web_server_uses_the_config() -> None:
    for name in ("scripts/run", "Dockerfile", "docker-compose.yml"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "gunicorn config.wsgi" in text or '"gunicorn"' in text, name
        assert CONFIG in text, name
        assert "--access-logfile" not in text, name


def test_the_access_log_shows_the_callback_path_without_its_query_or_referer(
    tmp_path: Path, transactional_db: None
) -> None:
    # The configuration scripts/run, the Dockerfile and compose use; the log goes to stderr.
    served = gunicorn_process(tmp_path, "--workers", "1", "--access-logfile", "/dev/stderr")
    with served as (url, server):
        code, state = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        callback = f"{url}/oauth2/callback/?code={code}&state={state}"
        response = requests.get(callback, headers={"Referer": callback}, timeout=30)
        assert response.status_code == 401  # no session: the page explains it
        line = read_until(server, r'"GET /oauth2/callback/ HTTP/1\.1" 401', 30).string
        link = secrets.token_urlsafe(32)
        requests.get(f"{url}/consent/?link={link}", headers={"Referer": callback}, timeout=30)
        consent_line = read_until(server, r'"GET /consent/ HTTP/1\.1" 404', 30).string
    assert code not in line and state not in line
    assert "python-requests" in line  # the format still says who asked
    assert link not in consent_line  # a consent link's token neither
