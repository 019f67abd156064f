"""The token API's hot path (issue 19): one statement for the API token and the artifact
(api.lookup), answers kept until what they depend on changes (api.answers), and uses
recorded off the request (securitymaterial.usage). The suite runs with both turned off
(tests/conftest.py); here they are on, as shipped."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from unittest import mock

import psycopg
import pytest
from django.db import DatabaseError, connection
from django.test import Client
from django.utils import timezone

from api import answers
from api.models import ApiToken
from securitymaterial import usage
from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode

URL = "/api/v1/security-material/{}/access-token"


@pytest.fixture(autouse=True)
def _fresh_store() -> Any:
    answers.store.clear()
    with usage._lock:
        usage._pending.clear()
    yield
    answers.store.clear()
    with usage._lock:
        usage._pending.clear()


def get(secret: str, name: str = "Generic_App", query: str = "") -> Any:
    url = URL.format(name) + (f"?{query}" if query else "")
    return Client().get(url, HTTP_AUTHORIZATION=f"Bearer {secret}")


# api.lookup: one statement


def test_a_200_takes_one_statement_when_nothing_is_written(
    in_use: OAuth2AuthorizationCode, django_assert_num_queries: Any
) -> None:
    token, secret = ApiToken.create("mailer")
    now = timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    OAuth2AuthorizationCode.objects.filter(pk=in_use.pk).update(last_used_at=now)
    with django_assert_num_queries(1):  # a column read later than the statement adds one
        response = get(secret)
    assert response.status_code == 200 and response.json()["access_token"] == "AT-live"


def test_the_statement_checks_the_hash_and_revocation(in_use: OAuth2AuthorizationCode) -> None:
    token, secret = ApiToken.create("mailer")
    assert get(secret).status_code == 200
    assert get(secret[:-1] + ("A" if secret[-1] != "A" else "B")).status_code == 401
    token.revoke()
    response = get(secret)
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"


def test_a_name_no_artifact_can_have_finds_nothing(in_use: OAuth2AuthorizationCode) -> None:
    _, secret = ApiToken.create("mailer")
    assert get(secret, "Generic_App%00").status_code == 404
    assert get(secret, "x" * 151).status_code == 404
    assert get(secret, "GENERIC_APP").status_code == 200  # any case, as Artifact.named


def test_the_lookup_hands_over_the_typed_artifact_with_its_token_decrypted(
    in_use: OAuth2AuthorizationCode,
) -> None:
    from api import lookup

    token, secret = ApiToken.create("mailer")
    found = lookup.token_and_artifact(lookup.Presented(secret), "cloud", "generic_app")
    assert found is not None
    api_token, artifact = found
    assert api_token.pk == token.pk and api_token.name == "mailer"
    assert isinstance(artifact, OAuth2AuthorizationCode)
    assert artifact.access_token == "AT-live" and artifact.refresh_token == "RT-1"
    assert artifact.access_token_expires_at == in_use.access_token_expires_at
    assert lookup.token_and_artifact(lookup.Presented(secret), "edge", "generic_app") == (
        api_token,
        None,
    )


# securitymaterial.usage: recorded off the request


def test_a_use_is_written_later_in_one_batch(
    in_use: OAuth2AuthorizationCode, settings: Any
) -> None:
    settings.USE_RECORD_DELAY_SECONDS = 1
    _, secret = ApiToken.create("mailer")
    with mock.patch.object(usage, "_start_writer"):  # the test writes, not a thread
        assert get(secret).status_code == 200
        assert get(secret).status_code == 200  # the same artifact: one pending use
    assert not AuditEntry.objects.filter(action="token_issued").exists()
    assert list(usage._pending) == [in_use.pk]
    usage.flush()
    entry = AuditEntry.objects.get(action="token_issued")
    assert entry.detail == "Issued to API token “mailer”"
    assert entry.actor_name == "refresh service" and entry.artifact_id == in_use.pk
    in_use.refresh_from_db()
    assert in_use.last_used_at is not None
    assert timezone.now() - in_use.last_used_at < timedelta(seconds=5)
    assert not usage._pending


def test_an_idle_artifacts_first_use_is_written_at_once(
    in_use: OAuth2AuthorizationCode, settings: Any
) -> None:
    """Its refresh schedule changes with the use: that is not bookkeeping to defer."""
    settings.USE_RECORD_DELAY_SECONDS = 1
    OAuth2AuthorizationCode.objects.filter(pk=in_use.pk).update(
        last_used_at=timezone.now() - timedelta(hours=25)
    )
    _, secret = ApiToken.create("mailer")
    assert get(secret).status_code == 200
    assert AuditEntry.objects.filter(action="token_issued").count() == 1
    assert not usage._pending


def test_uses_wait_when_the_database_is_away_and_a_deleted_artifact_gets_no_row(
    in_use: OAuth2AuthorizationCode, settings: Any, make_artifact: Any
) -> None:
    settings.USE_RECORD_DELAY_SECONDS = 1
    other = make_artifact(name="Other", last_used_at=timezone.now() - timedelta(hours=1))
    now = timezone.now()
    usage._pending[in_use.pk] = usage.Use(in_use.pk, "cloud", in_use.name, now, "a")
    usage._pending[other.pk] = usage.Use(other.pk, "cloud", "Other", now, "b")
    with (
        mock.patch.object(usage, "_write", side_effect=DatabaseError("gone")),
        mock.patch.object(usage.connection, "close"),
    ):
        usage.flush()
    assert sorted(usage._pending) == sorted([in_use.pk, other.pk])
    other.delete()
    usage.flush()
    assert list(
        AuditEntry.objects.filter(action="token_issued").values_list("detail", flat=True)
    ) == ["Issued to a"]


def test_pending_uses_are_bounded(in_use: OAuth2AuthorizationCode, settings: Any) -> None:
    settings.USE_RECORD_DELAY_SECONDS = 1
    assert usage.MAX_PENDING == 10_000
    with mock.patch.object(usage, "MAX_PENDING", 0), mock.patch.object(usage, "_start_writer"):
        usage.record(in_use, timezone.now(), "x")
    assert not usage._pending


# api.answers: kept until a change is heard


def answered_and_kept(settings: Any) -> str:
    """An API token whose answer the full path gave and kept (no listener thread: the
    tests say when it was live)."""
    settings.TOKEN_ANSWER_CACHE_SECONDS = 60
    _, secret = ApiToken.create("mailer")
    with mock.patch.object(answers, "_listen"):
        assert get(secret).status_code == 200
    return secret


def _question(secret: str, query: str = "") -> answers.Question:
    request = mock.Mock()
    request.headers = {"Authorization": f"Bearer {secret}"}
    request.META = {"QUERY_STRING": query}
    asked = answers.question(request, "Generic_App")
    assert asked is not None
    return asked


def test_a_kept_answer_is_given_only_to_the_same_api_token_for_the_same_runtime(
    in_use: OAuth2AuthorizationCode, settings: Any, make_artifact: Any
) -> None:
    """A token that may not use the artifact gets its 403, and another runtime's question
    goes the full path, though an answer for the artifact is kept."""
    secret = answered_and_kept(settings)
    answers.store.live_at = time.monotonic()
    _, limited = ApiToken.create("limited", artifact_names=["Another_App"])
    with mock.patch.object(answers, "_listen"):
        answers.store.live_at = time.monotonic()
        refused = get(limited)
        assert refused.status_code == 403 and "AT-live" not in refused.content.decode()
        answers.store.live_at = time.monotonic()
        assert get(secret, query="runtime=edge").status_code == 404
        answers.store.live_at = time.monotonic()
        assert get(secret).json()["access_token"] == "AT-live"  # kept, for its own question


def test_only_plain_questions_may_be_answered_from_memory() -> None:
    request = mock.Mock()
    request.headers = {"Authorization": "Bearer smt_x"}
    for query, plain in [
        ("", True),
        ("runtime=edge", True),
        ("min_valid_seconds=60&runtime=cloud", True),
        ("runtime=cloud&runtime=edge", False),  # twice: the full path says which counts
        ("runtime=moon", False),
        ("min_valid_seconds=99999", False),
        ("min_valid_seconds=+5", False),
        ("other=1", False),
    ]:
        request.META = {"QUERY_STRING": query}
        assert (answers.question(request, "A") is not None) is plain, query
    request.headers = {"Authorization": "Basic smt_x"}
    request.META = {"QUERY_STRING": ""}
    assert answers.question(request, "A") is None


def test_a_kept_answer_is_given_without_a_query_while_the_listener_is_live(
    in_use: OAuth2AuthorizationCode, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.TOKEN_ANSWER_CACHE_SECONDS = 60
    _, secret = ApiToken.create("mailer")
    with mock.patch.object(answers, "_listen"):
        first = get(secret)
        answers.store.live_at = time.monotonic()
        with django_assert_num_queries(0):
            again = get(secret)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and "no-store" in again["Cache-Control"]


def test_without_a_live_listener_an_answer_is_given_for_1_s_only(
    in_use: OAuth2AuthorizationCode, settings: Any
) -> None:
    secret = answered_and_kept(settings)
    asked = _question(secret)
    answers.store.live_at = float("-inf")
    assert answers.answer(asked) is not None
    kept = answers.store.kept[asked.key]
    answers.store.kept[asked.key] = kept.__class__(
        **{**kept.__dict__, "read_at": kept.read_at - 1.0}
    )
    assert answers.answer(asked) is None
    answers.store.live_at = time.monotonic() - 0.74
    assert answers.answer(asked) is not None
    answers.store.live_at = time.monotonic() - 0.75
    assert answers.answer(asked) is None
    assert (answers.POLL_SECONDS, answers.LIVE_SECONDS, answers.UNHEARD_SECONDS) == (
        0.25,
        0.75,
        1.0,
    )


def test_an_answer_is_not_given_past_its_age_or_when_the_token_is_too_short(
    in_use: OAuth2AuthorizationCode, settings: Any
) -> None:
    secret = answered_and_kept(settings)
    answers.store.live_at = time.monotonic()
    # The token lives 1 h from now and was issued now: half its lifetime caps the margin.
    assert answers.answer(_question(secret, "min_valid_seconds=1799")) is not None
    OAuth2AuthorizationCode.objects.filter(pk=in_use.pk).update(
        access_token_expires_at=timezone.now() + timedelta(seconds=200),
        refresh_token_renewed_at=timezone.now() - timedelta(hours=1),  # a long lifetime
    )
    answers.store.clear()
    with mock.patch.object(answers, "_listen"):
        assert get(secret, query="min_valid_seconds=100").status_code == 200
    answers.store.live_at = time.monotonic()
    assert answers.answer(_question(secret, "min_valid_seconds=100")) is not None
    assert answers.answer(_question(secret, "min_valid_seconds=200")) is None
    settings.TOKEN_ANSWER_CACHE_SECONDS = 0.001
    time.sleep(0.002)
    assert answers.answer(_question(secret, "min_valid_seconds=100")) is None


def test_an_answer_read_while_a_change_was_heard_is_not_kept(
    in_use: OAuth2AuthorizationCode, settings: Any
) -> None:
    settings.TOKEN_ANSWER_CACHE_SECONDS = 60
    token, secret = ApiToken.create("mailer")
    asked = _question(secret)
    answers.store.drop("a", 999_999)  # heard between the question and the answer
    response = mock.Mock(status_code=200, content=b"{}")
    response.__getitem__ = lambda self, key: "application/json"
    answers.keep(asked, response, answers.Given(token.pk, in_use.pk, None, None))
    assert not answers.store.kept
    answers.keep(_question(secret), response, answers.Given(token.pk, in_use.pk, None, None))
    assert len(answers.store.kept) == 1


def test_a_change_drops_the_answers_of_that_artifact_or_token_only() -> None:
    def kept(token_pk: int, artifact_pk: int) -> answers.Kept:
        return answers.Kept(b"", "application/json", token_pk, artifact_pk, None, None, 0.0)

    answers.store.kept.update(
        {
            ("h1", "cloud", "a"): kept(1, 10),
            ("h2", "cloud", "a"): kept(2, 10),
            ("h1", "cloud", "b"): kept(1, 11),
        }
    )
    answers.store.drop("a", 10)
    assert list(answers.store.kept) == [("h1", "cloud", "b")]
    answers.store.kept[("h2", "cloud", "b")] = kept(2, 11)
    answers.store.drop("t", 1)
    assert list(answers.store.kept) == [("h2", "cloud", "b")]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="NOTIFY (CI runs it)")
@pytest.mark.django_db(transaction=True)
def test_every_save_and_delete_of_an_artifact_or_token_is_announced_at_commit(
    make_artifact: Any,
) -> None:
    with psycopg.connect(**answers.listener_params(), autocommit=True) as listening:
        listening.execute(f"LISTEN {answers.CHANNEL}")
        artifact = make_artifact(name="Heard")
        token, _ = ApiToken.create("heard")
        token.revoke()
        artifact.status_reason = "x"
        artifact.save(update_fields=["status_reason"])
        artifact.save(update_fields=["next_refresh_at", "last_used_at"])  # no answer uses them
        pk = artifact.pk
        artifact.delete()
        heard = [n.payload for n in listening.notifies(timeout=1, stop_after=10)]
    assert heard.count(f"a {pk}") == 3 and heard.count(f"t {token.pk}") == 2
