"""manage.py access_token: the token alone on stdout; a clear word and an exit code that
tells "try again later" from "someone must act"."""

from __future__ import annotations

import base64
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import responses
from django.core.management import CommandError, call_command
from django.utils import timezone

from oauthflows.management.commands.access_token import EX_CONFIG, EX_TEMPFAIL
from securitymaterial.models import OAuth2AuthorizationCode, Status
from tests.support.oauth_server import OAuthServer


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("access_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def deployed(make_artifact: Any, expires_in: int, **fields: Any) -> OAuth2AuthorizationCode:
    now = timezone.now()
    values = {
        "status": Status.DEPLOYED,
        "access_token": "AT-old",
        "refresh_token": "RT-old",
        "user_name": "mailer@example.com",
        "refresh_token_expiry_days": 90,
        "access_token_expires_at": now + timedelta(seconds=expires_in),
        "refresh_token_renewed_at": now - timedelta(minutes=10),
        **fields,
    }
    artifact: OAuth2AuthorizationCode = make_artifact(**values)
    return artifact


def test_after_expiry_it_prints_a_new_token_and_keeps_the_rotated_refresh_token(
    transactional_db: None, oauth_server: OAuthServer, make_artifact: Any
) -> None:
    oauth_server.register_client(
        "cli", "cli-secret", "http://localhost/oauth2/callback/", auth_method="body"
    )
    first_refresh_token = oauth_server.issue_refresh_token("cli")
    artifact = deployed(
        make_artifact,
        -60,
        client_id="cli",
        client_secret="cli-secret",
        token_service_url=f"{oauth_server.url}/o/token/",
        refresh_token=first_refresh_token,
    )
    out, err = run("Generic_App")
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert out == stored.access_token + "\n"
    assert stored.access_token != "AT-old" and err == ""
    assert stored.refresh_token not in ("", first_refresh_token)
    assert oauth_server.refresh_tokens_issued("cli") == 2


@responses.activate
def test_xoauth2_prints_the_base64_sasl_string(make_artifact: Any) -> None:
    deployed(make_artifact, 3600)
    out, _ = run("generic_app", "--xoauth2")
    assert base64.b64decode(out.strip()) == (
        b"user=mailer@example.com\x01auth=Bearer AT-old\x01\x01"
    )


@responses.activate
def test_an_outage_without_a_valid_token_exits_75_and_says_so(make_artifact: Any) -> None:
    responses.post("https://auth.example.com/token", status=503)
    deployed(make_artifact, -60)
    err = StringIO()
    with pytest.raises(SystemExit) as caught:
        call_command("access_token", "Generic_App", stdout=StringIO(), stderr=err)
    assert caught.value.code == EX_TEMPFAIL
    assert "has no valid access token right now" in err.getvalue()
    assert "AT-old" not in err.getvalue()


def test_an_artifact_that_needs_a_person_exits_78(make_artifact: Any) -> None:
    make_artifact()  # never authorized
    err = StringIO()
    with pytest.raises(SystemExit) as caught:
        call_command("access_token", "Generic_App", stdout=StringIO(), stderr=err)
    assert caught.value.code == EX_CONFIG
    assert "an admin must choose Authorize" in err.getvalue()


def test_an_unknown_name_or_bad_option_is_a_clear_error(db: None) -> None:
    with pytest.raises(CommandError, match="Client Credentials artifact is named 'Nope'"):
        run("Nope")
    with pytest.raises(CommandError, match="--min-valid-seconds must be from 0 to 86400"):
        run("Nope", "--min-valid-seconds", "-5")
