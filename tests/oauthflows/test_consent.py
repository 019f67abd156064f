"""Consent by link, step by step against a faked token endpoint: the link's token (256 bits,
kept as a hash), one link per artifact, its binding to the settings and to the browser that
opened it, the owner's pages (no sign-in, throttled, never cached, nothing about the
artifact when refused), the account check, and the audit."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import time_machine
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oauthflows import consent
from oauthflows.models import AuthorizationState, ConsentLink
from oauthproviders import PROVIDERS
from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode, Status
from tests.conftest import fuzz_examples, raw_rows

TOKEN_URL = "https://auth.example.com/token"
OWNER = "mailer@example.com"


def id_token(account: str) -> str:
    claims = base64.urlsafe_b64encode(json.dumps({"preferred_username": account}).encode())
    return f"e30.{claims.decode().rstrip('=')}.x"


TOKENS = {
    "access_token": "AT-by-consent",
    "token_type": "Bearer",
    "expires_in": 3600,
    "refresh_token": "RT-by-consent",
}


@pytest.fixture
def artifact(make_artifact: Any) -> OAuth2AuthorizationCode:
    return make_artifact(user_name=OWNER)  # type: ignore[no-any-return]


def opened(token: str) -> tuple[Client, Any]:
    owner = Client()
    return owner, owner.get(reverse("oauthflows:consent"), {"link": token})


def started(token: str) -> tuple[Client, str]:
    """The owner opened the link and chose Sign in and consent: their browser and the state."""
    owner, _ = opened(token)
    return owner, parse_qs(urlsplit(owner.post("/consent/")["Location"]).query)["state"][0]


def test_the_link_holds_256_random_bits_kept_only_as_their_sha256(
    artifact: OAuth2AuthorizationCode, admin_user: Any
) -> None:
    link, token = consent.create(artifact, admin_user)
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(raw_rows("oauthflows_consentlink"))
    assert consent.link_url(token) == f"http://127.0.0.1:8000/consent/?link={token}"
    assert link.expires_at - link.created_at == timedelta(hours=24)  # CONSENT_LINK_HOURS


def test_one_link_per_artifact_a_new_one_replaces_the_old(
    artifact: OAuth2AuthorizationCode, admin_user: Any
) -> None:
    first, first_token = consent.create(artifact, admin_user)
    second, _ = consent.create(artifact, admin_user)
    first.refresh_from_db()
    assert first.ended == ConsentLink.End.REPLACED
    assert artifact.consent_links.outstanding() == second
    assert opened(first_token)[1].status_code == 410
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentLink.objects.create(
            token_hash="0" * 64,
            artifact=artifact,
            created_by_name="x",
            expires_at=timezone.now() + timedelta(hours=1),
            artifact_fingerprint="",
        )


@pytest.mark.parametrize("field", OAuth2AuthorizationCode.AUTHORIZATION_FIELDS)
def test_an_edit_of_what_the_tokens_depend_on_ends_the_link(
    artifact: OAuth2AuthorizationCode, admin_user: Any, field: str
) -> None:
    _, token = consent.create(artifact, admin_user)
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    setattr(stored, field, "https://other.example.com/x" if "url" in field else "changed")
    stored.save()
    assert opened(token)[1].status_code == 410


def test_an_edit_of_the_description_keeps_it(
    artifact: OAuth2AuthorizationCode, admin_user: Any
) -> None:
    _, token = consent.create(artifact, admin_user)
    OAuth2AuthorizationCode.objects.filter(pk=artifact.pk).update(description="Other words")
    assert opened(token)[1].status_code == 302


def test_it_expires_after_24_hours(artifact: OAuth2AuthorizationCode, admin_user: Any) -> None:
    _, token = consent.create(artifact, admin_user)
    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59)):
        assert opened(token)[1].status_code == 302
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        assert opened(token)[1].status_code == 410


def test_opening_binds_the_link_to_the_browser_and_leaves_a_clean_address(
    artifact: OAuth2AuthorizationCode, admin_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _, token = consent.create(artifact, admin_user)
    owner, response = opened(token)
    assert response.status_code == 302 and response["Location"] == "/consent/"
    assert "no-store" in response["Cache-Control"]
    page = owner.get("/consent/")
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    text = page.content.decode()
    for shown in ("Consent for Generic_App", OWNER, "Sign in and consent", "ada"):
        assert shown in text
    assert token not in text
    assert Client().get("/consent/").status_code == 404  # another browser: nothing bound
    opened(token)  # twice: one "opened" in the audit
    actions = AuditEntry.objects.filter(artifact=artifact).values_list("action", flat=True)
    assert list(actions).count(AuditEntry.Action.CONSENT_LINK_OPENED) == 1
    assert token not in caplog.text


@pytest.mark.parametrize("token", ["", "A" * 43, "A" * 101, "%00", "ünïcödé"])
def test_an_unknown_link_answers_404_and_says_nothing(db: None, token: str) -> None:
    response = Client().get("/consent/", {"link": token})
    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_the_owner_s_pages_are_throttled_per_address(db: None, settings: Any) -> None:
    from django.core.cache import cache

    cache.clear()
    assert settings.CONSENT_PAGES_PER_MINUTE == 30
    one = Client(REMOTE_ADDR="192.0.2.1")
    codes = [one.get("/consent/").status_code for _ in range(31)]
    assert codes == [404] * 30 + [429]
    assert Client(REMOTE_ADDR="192.0.2.2").get("/consent/").status_code == 404
    cache.clear()


def test_the_button_starts_the_same_authorization_bound_to_the_link_and_the_browser(
    artifact: OAuth2AuthorizationCode, admin_user: Any
) -> None:
    link, token = consent.create(artifact, admin_user)
    owner, _ = opened(token)
    response = owner.post("/consent/")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["login_hint"] == [OWNER]
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == ["http://127.0.0.1:8000/oauth2/callback/"]
    state = AuthorizationState.objects.get()
    assert state.consent_link == link and state.user is None


@responses.activate
def test_the_owner_s_consent_is_stored_and_the_link_ends(
    artifact: OAuth2AuthorizationCode, admin_user: Any
) -> None:
    responses.post(TOKEN_URL, json={**TOKENS, "id_token": id_token("Mailer@Example.com")})
    _, token = consent.create(artifact, admin_user)
    owner, state = started(token)
    response = owner.get("/oauth2/callback/", {"code": "the-code", "state": state})
    assert response.status_code == 302 and response["Location"] == "/consent/recorded/"
    assert "Consent recorded" in owner.get("/consent/recorded/").content.decode()
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert stored.status == Status.DEPLOYED and stored.access_token == "AT-by-consent"
    assert ConsentLink.objects.get().ended == ConsentLink.End.USED
    assert opened(token)[1].status_code == 410  # single use
    assert [m.subject for m in mail.outbox] == [
        "Security Material: Generic_App was authorized through a consent link"
    ]


@responses.activate
def test_another_account_stores_nothing_and_the_link_stays(
    artifact: OAuth2AuthorizationCode, admin_user: Any
) -> None:
    from tests.conftest import database_snapshot

    responses.post(TOKEN_URL, json={**TOKENS, "id_token": id_token("someone@else.com")})
    _, token = consent.create(artifact, admin_user)
    owner, state = started(token)
    before = database_snapshot()
    response = owner.get("/oauth2/callback/", {"code": "the-code", "state": state}, follow=True)
    text = response.content.decode()
    assert "someone@else.com signed in, but this consent is for mailer@example.com" in text
    assert "Sign in and consent" in text  # the link is still usable
    assert database_snapshot() == before
    assert ConsentLink.objects.get().ended_at is None


def test_a_state_of_a_link_is_refused_in_another_browser(
    artifact: OAuth2AuthorizationCode, admin_user: Any
) -> None:
    _, token = consent.create(artifact, admin_user)
    _, state = started(token)
    stranger = Client()
    response = stranger.get("/oauth2/callback/", {"code": "the-code", "state": state})
    assert response.status_code == 403
    assert AuthorizationState.objects.count() == 1  # the owner may still finish


def test_the_link_is_mailed_only_with_its_own_token(
    artifact: OAuth2AuthorizationCode, admin_client: Client, admin_user: Any
) -> None:
    _, token = consent.create(artifact, admin_user)
    url = reverse("oauthflows:consent-link-mail", args=[artifact.pk])
    admin_client.post(url, {"link": "A" * 43})
    assert mail.outbox == []
    admin_client.post(url, {"link": token})
    (sent,) = mail.outbox
    assert sent.to == [OWNER] and consent.link_url(token) in sent.body


def test_an_authorized_artifact_gets_no_link(make_artifact: Any, admin_client: Client) -> None:
    deployed = make_artifact(status=Status.DEPLOYED, refresh_token="RT")
    response = admin_client.post(reverse("oauthflows:consent-link-create", args=[deployed.pk]))
    assert response.status_code == 302
    assert not ConsentLink.objects.exists()


def test_the_page_shows_the_link_once_and_never_caches_it(
    artifact: OAuth2AuthorizationCode, admin_client: Client
) -> None:
    response = admin_client.post(reverse("oauthflows:consent-link-create", args=[artifact.pk]))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    text = response.content.decode()
    assert 'id="consent-link"' in text and "/consent/?link=" in text
    detail = admin_client.get(reverse("securitymaterial:detail", args=[artifact.pk]))
    assert "/consent/?link=" not in detail.content.decode()
    assert "Revoke Consent Link" in detail.content.decode()


def test_microsoft_365_scopes_in_plain_words() -> None:
    words = PROVIDERS["microsoft365"].explain_scope(
        "https://outlook.office.com/SMTP.Send https://outlook.office.com/IMAP.AccessAsUser.All "
        "offline_access https://example.com/Unknown.Scope"
    )
    assert [said for _, said in words] == [
        "send mail as you",
        "read and manage your mailbox",
        "keep access until you withdraw it",
        "",
    ]


@responses.activate
def test_a_link_revoked_while_the_code_is_exchanged_stores_nothing(
    artifact: OAuth2AuthorizationCode, admin_user: Any
) -> None:
    _, token = consent.create(artifact, admin_user)
    owner, state = started(token)

    def revoked_meanwhile(request: Any) -> tuple[int, dict[str, str], str]:
        consent.revoke(artifact, admin_user)
        return 200, {}, json.dumps({**TOKENS, "id_token": id_token(OWNER)})

    responses.add_callback(responses.POST, TOKEN_URL, callback=revoked_meanwhile)
    response = owner.get("/oauth2/callback/", {"code": "the-code", "state": state})
    assert response.status_code == 410
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert stored.status == Status.UNAUTHORIZED and not stored.refresh_token


def test_opening_gives_the_owner_a_session_of_their_own(
    artifact: OAuth2AuthorizationCode, admin_user: Any
) -> None:
    """A session key planted in the owner's browser before (session fixation) is not the
    one the link is bound to."""
    _, token = consent.create(artifact, admin_user)
    owner = Client()
    owner.get("/consent/")  # any earlier visit
    planted = owner.session.session_key
    owner.get("/consent/", {"link": token})
    assert owner.session.session_key not in (None, planted)
    assert owner.get("/consent/").status_code == 200


@settings(
    max_examples=fuzz_examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(link=st.text(max_size=200), extra=st.text(max_size=20))
def test_any_link_value_is_a_plain_404_never_a_500(db: None, link: str, extra: str) -> None:
    from django.core.cache import cache

    cache.clear()  # the throttle is not what this checks
    response = Client().get("/consent/", {"link": link, extra or "x": "y"})
    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()
