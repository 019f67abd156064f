"""A key removed too early: the start-up check names every artifact it cannot read, and a
request that meets one gets a 503 that says what to do, never a 500."""

from __future__ import annotations

import hashlib
from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from api.models import ApiToken
from securitymaterial.models import OAuth2AuthorizationCode, SecureParameter
from tests.conftest import CLIENT_SECRET, TEST_KEY

OTHER_KEY = Fernet.generate_key().decode()


@pytest.fixture
def written_under_the_old_key(make_artifact: Any) -> OAuth2AuthorizationCode:
    SecureParameter.objects.create(name="Fine_Param", value="")  # nothing encrypted to lose
    return make_artifact(name="Old_Mailer", refresh_token="RT-1", access_token="AT-1")


def test_the_start_up_check_names_what_the_keys_cannot_read(
    written_under_the_old_key: OAuth2AuthorizationCode, settings: Any
) -> None:
    call_command("check", "--database", "default")  # the right key: nothing to say
    settings.SECURITY_MATERIAL_KEYS = [OTHER_KEY]
    with pytest.raises(SystemCheckError) as refused:
        call_command("check", "--database", "default")
    message = str(refused.value)
    assert "securitymaterial.E003" in message
    assert "1 stored record(s) cannot be decrypted" in message
    assert "“Old_Mailer” (cloud)" in message and "Fine_Param" not in message
    assert CLIENT_SECRET not in message and "RT-1" not in message
    settings.SECURITY_MATERIAL_KEYS = [OTHER_KEY, TEST_KEY]  # the old key back, after the new
    call_command("check", "--database", "default")


def test_without_database_the_check_does_not_read_the_tables(
    written_under_the_old_key: OAuth2AuthorizationCode, settings: Any
) -> None:
    settings.SECURITY_MATERIAL_KEYS = [OTHER_KEY]
    call_command("check")  # what runs before migrate: the tables may not exist yet


def test_a_page_that_meets_one_is_a_503_that_says_what_to_do(
    written_under_the_old_key: OAuth2AuthorizationCode, admin_client: Client, settings: Any
) -> None:
    settings.SECURITY_MATERIAL_KEYS = [OTHER_KEY]
    assert admin_client.get("/monitor/integrations/security-material/").status_code == 200
    response = admin_client.get(
        f"/monitor/integrations/security-material/{written_under_the_old_key.pk}/"
    )
    assert response.status_code == 503
    assert "was a key removed before rotate_keys ran?" in response.content.decode()


def test_the_api_answers_503_with_retry_after(
    written_under_the_old_key: OAuth2AuthorizationCode, settings: Any
) -> None:
    _, secret = ApiToken.create("consumer")
    settings.SECURITY_MATERIAL_KEYS = [OTHER_KEY]
    response = Client().get(
        "/api/v1/security-material/Old_Mailer/access-token",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "300"
    assert "SECURITY_MATERIAL_KEYS" in response.json()["detail"]


def test_migrate_refuses_to_start_with_them_too(
    written_under_the_old_key: OAuth2AuthorizationCode, settings: Any
) -> None:
    """scripts/run and the compose file start with migrate: its database checks are ours."""
    settings.SECURITY_MATERIAL_KEYS = [OTHER_KEY]
    with pytest.raises(SystemCheckError, match="“Old_Mailer” \\(cloud\\)"):
        call_command("migrate", "--check", verbosity=0, skip_checks=False)


def _one_of_each(make_artifact: Any) -> dict[str, Any]:
    from securitymaterial.models import OAuth2ClientCredentials, UserCredentials

    return {
        "OAuth2AuthorizationCode": make_artifact(
            name="Ac_One", refresh_token="RT-1", access_token="AT-1"
        ),
        "OAuth2ClientCredentials": OAuth2ClientCredentials.objects.create(
            name="Cc_One",
            token_service_url="https://auth.example.com/t",
            client_id="c",
            client_secret="s",
            access_token="AT-2",
            custom_parameters_json='[{"key": "k", "value": "v", "send_as": "body"}]',
        ),
        "UserCredentials": UserCredentials.objects.create(name="Uc_One", user="u", password="p"),
        "SecureParameter": SecureParameter.objects.create(name="Sp_One", value="v"),
    }


def _foreign(form: str, settings: Any) -> str:
    """A value written under another key: as stored before key ids, or with its key's id."""
    from securitymaterial import crypto

    if form == "before key ids":
        return Fernet(OTHER_KEY.encode()).encrypt(b"written under another key").decode()
    settings.SECURITY_MATERIAL_KEYS = [OTHER_KEY]
    value = crypto.encrypt("written under another key")
    settings.SECURITY_MATERIAL_KEYS = [TEST_KEY]
    return value


@pytest.mark.parametrize("form", ["before key ids", "with its key id"])
def test_every_encrypted_column_of_every_type_is_checked_not_only_the_first(
    make_artifact: Any, settings: Any, form: str
) -> None:
    """One column at a time is made unreadable (written under another key) while the
    others still decrypt: the check names the artifact for each of them."""
    from django.db import connection

    from securitymaterial.secrets_at_rest import encrypted_models, unreadable

    rows = _one_of_each(make_artifact)
    foreign = _foreign(form, settings)
    checked = 0
    for model, fields in encrypted_models():
        if model.__name__ not in rows:
            continue
        row = rows[model.__name__]
        table, pk = model._meta.db_table, model._meta.pk.column
        for field in fields:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {field.column} FROM {table} WHERE {pk} = %s", [row.pk])  # noqa: S608
                [kept] = cursor.fetchone()
                cursor.execute(
                    f"UPDATE {table} SET {field.column} = %s WHERE {pk} = %s",  # noqa: S608
                    [foreign, row.pk],
                )
                assert unreadable() == [f"“{row.name}” (cloud)"], (model, field.name)
                cursor.execute(
                    f"UPDATE {table} SET {field.column} = %s WHERE {pk} = %s",  # noqa: S608
                    [kept, row.pk],
                )
            checked += 1
    assert checked == 8  # 3 + 3 + 1 + 1 columns
    assert unreadable() == []


def test_the_start_up_check_decrypts_only_values_whose_key_is_not_configured(
    make_artifact: Any, settings: Any
) -> None:
    """At 1,000,000 artifacts decrypting every value took most of a 30 s start (issue 19):
    with key ids it reads none of the values the configured keys wrote."""
    from unittest import mock

    from django.db import connection

    from securitymaterial import crypto, secrets_at_rest

    _one_of_each(make_artifact)
    settings.SECURITY_MATERIAL_KEYS = [OTHER_KEY, TEST_KEY]  # a rotation under way: both fine
    with mock.patch.object(crypto, "decrypt", wraps=crypto.decrypt) as decrypted:
        assert secrets_at_rest.unreadable() == []
        call_command("check", "--database", "default")
    assert decrypted.call_count == 0
    legacy = Fernet(TEST_KEY).encrypt(b"from before key ids").decode()  # still readable
    with connection.cursor() as cursor:
        cursor.execute("UPDATE securitymaterial_secureparameter SET value = %s", [legacy])
    with mock.patch.object(crypto, "decrypt", wraps=crypto.decrypt) as decrypted:
        assert secrets_at_rest.unreadable() == []
    assert decrypted.call_count == 1  # that one value, to tell which key it needs
    # The full scan decrypts everything and tells which key wrote how many.
    with mock.patch.object(crypto, "decrypt", wraps=crypto.decrypt) as decrypted:
        out = StringIO()
        call_command("check_secrets", stdout=out)
    assert decrypted.call_count == 8
    assert "Stored values by key: key 2: 7; from before key ids: 1" in out.getvalue()
    assert "Every stored value decrypts." in out.getvalue()


def test_check_secrets_finds_what_the_key_ids_cannot(make_artifact: Any) -> None:
    """A value that names a configured key but does not decrypt with it (damaged, or a
    key id copied by hand) passes the start-up check; the full scan names it."""
    from django.core.management.base import CommandError
    from django.db import connection

    from securitymaterial import crypto
    from securitymaterial.secrets_at_rest import unreadable

    artifact = make_artifact(name="Damaged")
    damaged = crypto.encrypt("x")[:-4] + "AAAA"
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE securitymaterial_oauth2authorizationcode SET client_secret = %s"
            " WHERE artifact_ptr_id = %s",
            [damaged, artifact.pk],
        )
    assert unreadable() == []
    with pytest.raises(CommandError, match=r"1 stored record.*“Damaged” \(cloud\)"):
        call_command("check_secrets", stdout=StringIO())


def test_rotate_keys_gives_every_value_the_first_keys_id_and_says_what_is_left(
    make_artifact: Any, settings: Any
) -> None:
    from django.db import connection

    from securitymaterial.secrets_at_rest import values_by_key

    make_artifact(name="Mailer", refresh_token="RT-1", access_token="AT-1")
    legacy = Fernet(TEST_KEY).encrypt(b"from before key ids").decode()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE securitymaterial_oauth2authorizationcode SET access_token = %s", [legacy]
        )
    settings.SECURITY_MATERIAL_KEYS = [OTHER_KEY, TEST_KEY]
    first, second = (
        hashlib.sha256(k.encode()).hexdigest()[:8] + "$" for k in (OTHER_KEY, TEST_KEY)
    )
    assert values_by_key() == {second: 2, "": 1}
    out = StringIO()
    call_command("rotate_keys", stdout=out)
    assert values_by_key() == {first: 3}
    assert "Stored values by key: key 1: 3." in out.getvalue()
