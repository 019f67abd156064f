"""rotate_keys re-encrypts every row under the first key, so old keys can be dropped."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from securitymaterial.models import (
    OAuth2AuthorizationCode,
    OAuth2ClientCredentials,
    SecureParameter,
    UserCredentials,
)
from tests.conftest import CLIENT_SECRET, TEST_KEY, opened, raw_rows, raw_secrets


def test_after_rotation_the_old_key_can_be_removed(make_artifact: Any, settings: Any) -> None:
    make_artifact(name="one")
    make_artifact(name="two", client_secret="")
    new_key = Fernet.generate_key().decode()
    settings.SECURITY_MATERIAL_KEYS = [new_key, TEST_KEY]
    out = StringIO()
    call_command("rotate_keys", stdout=out)
    assert "securitymaterial.OAuth2AuthorizationCode: re-encrypted 1 row(s)." in out.getvalue()
    settings.SECURITY_MATERIAL_KEYS = [new_key]
    assert OAuth2AuthorizationCode.objects.get(name="one").client_secret == CLIENT_SECRET
    assert OAuth2AuthorizationCode.objects.get(name="two").client_secret == ""
    [ciphertext] = raw_secrets("one")
    assert opened(ciphertext, new_key) == CLIENT_SECRET
    assert CLIENT_SECRET not in str(raw_rows("securitymaterial_oauth2authorizationcode"))


def test_rotation_covers_every_type(db: None, settings: Any) -> None:
    UserCredentials.objects.create(name="U", user="u", password="pw-1")
    SecureParameter.objects.create(name="P", value="value-2")
    OAuth2ClientCredentials.objects.create(
        name="C",
        token_service_url="https://auth.example.com/t",
        client_id="c",
        client_secret="secret-3",
        access_token="token-4",
        custom_parameters_json='[{"key": "k", "value": "v", "send_as": "body"}]',
    )
    new_key = Fernet.generate_key().decode()
    settings.SECURITY_MATERIAL_KEYS = [new_key, TEST_KEY]
    out = StringIO()
    call_command("rotate_keys", stdout=out)
    for label in ("UserCredentials", "SecureParameter", "OAuth2ClientCredentials"):
        assert f"securitymaterial.{label}: re-encrypted 1 row(s)." in out.getvalue()
    settings.SECURITY_MATERIAL_KEYS = [new_key]  # the old key is gone
    assert UserCredentials.objects.get().password == "pw-1"
    assert SecureParameter.objects.get().value == "value-2"
    client = OAuth2ClientCredentials.objects.get()
    assert (client.client_secret, client.access_token) == ("secret-3", "token-4")
    assert client.custom_parameters == [{"key": "k", "value": "v", "send_as": "body"}]


def test_a_row_no_key_can_read_is_named_and_the_rest_is_rotated(
    make_artifact: Any, settings: Any
) -> None:
    from django.core.management.base import CommandError
    from django.db import connection

    make_artifact(name="readable")
    lost = make_artifact(name="lost")
    foreign = Fernet(Fernet.generate_key()).encrypt(b"from another installation").decode()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE securitymaterial_oauth2authorizationcode SET client_secret = %s"
            " WHERE artifact_ptr_id = %s",
            [foreign, lost.pk],
        )
    new_key = Fernet.generate_key().decode()
    settings.SECURITY_MATERIAL_KEYS = [new_key, TEST_KEY]
    with pytest.raises(CommandError, match=f"securitymaterial.OAuth2AuthorizationCode {lost.pk}"):
        call_command("rotate_keys", "--batch", "1", stdout=StringIO())
    settings.SECURITY_MATERIAL_KEYS = [new_key]
    assert OAuth2AuthorizationCode.objects.get(name="readable").client_secret == CLIENT_SECRET
    assert raw_secrets("lost") == [foreign]  # left as it was
