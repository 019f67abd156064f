"""The encrypted field: ciphertext in the database, plaintext only in Python."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet

from securitymaterial.crypto import DecryptionError
from securitymaterial.models import OAuth2AuthorizationCode
from tests.conftest import CLIENT_SECRET, TEST_KEY, opened, raw_rows, raw_secrets


def test_the_raw_row_holds_no_plaintext_client_secret(make_artifact: Any) -> None:
    artifact = make_artifact()
    rows = raw_rows("securitymaterial_oauth2authorizationcode")
    assert len(rows) == 1
    assert not any(CLIENT_SECRET in str(value) for value in rows[0])
    [ciphertext] = raw_secrets()
    assert opened(ciphertext, TEST_KEY) == CLIENT_SECRET
    assert OAuth2AuthorizationCode.objects.get(pk=artifact.pk).client_secret == CLIENT_SECRET


def test_the_same_secret_encrypts_differently_each_time(make_artifact: Any) -> None:
    make_artifact(name="a")
    make_artifact(name="b")
    assert len(set(raw_secrets())) == 2


def test_old_keys_still_decrypt_and_the_first_key_encrypts(
    make_artifact: Any, settings: Any
) -> None:
    artifact = make_artifact()
    new_key = Fernet.generate_key().decode()
    settings.SECURITY_MATERIAL_KEYS = [new_key, TEST_KEY]
    assert OAuth2AuthorizationCode.objects.get(pk=artifact.pk).client_secret == CLIENT_SECRET
    make_artifact(name="later")
    [ciphertext] = raw_secrets("later")
    assert opened(ciphertext, new_key) == CLIENT_SECRET


def test_a_missing_key_gives_an_error_that_names_no_secret(
    make_artifact: Any, settings: Any
) -> None:
    artifact = make_artifact()
    settings.SECURITY_MATERIAL_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(DecryptionError) as caught:
        OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert "rotate_keys" in str(caught.value)
    assert CLIENT_SECRET not in str(caught.value)
    assert caught.value.__cause__ is None


def test_searching_an_encrypted_column_is_refused(db: None) -> None:
    with pytest.raises(NotImplementedError):
        list(OAuth2AuthorizationCode.objects.filter(client_secret__contains="X"))
