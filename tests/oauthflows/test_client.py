"""The token client against a faked token endpoint: exact requests, strict parsing, errors."""

from __future__ import annotations

import base64
import json
import logging

import pytest
import requests
import responses
from responses import matchers

from oauthflows import client
from oauthproviders import Generic, Microsoft365

TOKEN_URL = "https://login.example.com/oauth2/token"
SECRET = "s3cret/with+odd chars"
CODE = "the-authorization-code"
VERIFIER = "v" * 86
CREDENTIALS_BODY = client.ClientAuth("client-1", SECRET, "body")
CREDENTIALS_BASIC = client.ClientAuth("client:1", SECRET, "basic")
REDIRECT_URI = "https://sm.example.com/oauth2/callback/"


def code_request(**fields: str) -> dict[str, str]:
    """The form of a code exchange (RFC 6749 §4.1.3) with PKCE and scope, plus `fields`."""
    return {
        "grant_type": "authorization_code",
        "code": CODE,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": VERIFIER,
        "scope": "read write",
        **fields,
    }


TOKENS = {
    "access_token": "AT-1",
    "token_type": "Bearer",
    "expires_in": 3600,
    "refresh_token": "RT-1",
    "scope": "read write",
}


def exchange(
    provider: type = Generic,
    credentials: client.ClientAuth = CREDENTIALS_BODY,
    verifier: str = VERIFIER,
    scope: str = "read write",
) -> client.TokenResult:
    return client.exchange_code(
        provider,
        TOKEN_URL,
        credentials,
        code=CODE,
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
        scope=scope,
    )


@responses.activate
def test_body_parameter_sends_id_and_secret_in_the_form() -> None:
    responses.post(
        TOKEN_URL,
        json=TOKENS,
        match=[
            matchers.urlencoded_params_matcher(
                code_request(client_id="client-1", client_secret=SECRET)
            ),
            matchers.header_matcher(
                {"Accept": "application/json", "User-Agent": client.USER_AGENT}
            ),
        ],
    )
    result = exchange()
    assert "Authorization" not in responses.calls[0].request.headers
    assert (result.access_token, result.refresh_token, result.expires_in) == ("AT-1", "RT-1", 3600)


@responses.activate
def test_basic_auth_header_form_urlencodes_then_base64s_and_keeps_the_secret_out_of_the_body() -> (
    None
):
    expected = base64.b64encode(b"client%3A1:s3cret%2Fwith%2Bodd+chars").decode()
    responses.post(
        TOKEN_URL,
        json=TOKENS,
        match=[
            matchers.header_matcher({"Authorization": f"Basic {expected}"}),
            matchers.urlencoded_params_matcher(code_request()),
        ],
    )
    exchange(credentials=CREDENTIALS_BASIC)


@responses.activate
def test_microsoft_365_with_basic_keeps_client_id_in_the_body() -> None:
    responses.post(
        TOKEN_URL,
        json=TOKENS,
        match=[
            matchers.urlencoded_params_matcher(
                code_request(
                    scope="https://outlook.office.com/SMTP.Send offline_access",
                    client_id="client:1",
                )
            ),
        ],
    )
    exchange(
        Microsoft365, CREDENTIALS_BASIC, scope="https://outlook.office.com/SMTP.Send offline_access"
    )


@responses.activate
def test_without_pkce_no_verifier_is_sent() -> None:
    responses.post(
        TOKEN_URL,
        json=TOKENS,
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "grant_type": "authorization_code",
                    "code": CODE,
                    "redirect_uri": REDIRECT_URI,
                    "client_id": "client-1",
                    "client_secret": SECRET,
                }
            )
        ],
    )
    exchange(verifier="", scope="")


@responses.activate
def test_refresh_sends_no_scope_for_generic() -> None:
    responses.post(
        TOKEN_URL,
        json=TOKENS,
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": "RT-0",
                    "client_id": "client-1",
                    "client_secret": SECRET,
                }
            )
        ],
    )
    client.refresh(Generic, TOKEN_URL, CREDENTIALS_BODY, refresh_token="RT-0", scope="read")


@responses.activate
def test_microsoft_shaped_success_is_parsed_with_account_and_ext_expiry() -> None:
    claims = (
        base64.urlsafe_b64encode(json.dumps({"preferred_username": "mailer@contoso.com"}).encode())
        .decode()
        .rstrip("=")
    )
    responses.post(
        TOKEN_URL,
        json={
            "token_type": "Bearer",
            # Microsoft echoes the scope without offline_access: not an error.
            "scope": "https://outlook.office.com/SMTP.Send",
            "expires_in": "3599",
            "ext_expires_in": 3599,
            "access_token": "AT-2",
            "refresh_token": "RT-2",
            "id_token": f"e30.{claims}.sig",
        },
    )
    result = exchange(Microsoft365)
    assert result.scope == "https://outlook.office.com/SMTP.Send"
    assert (result.expires_in, result.ext_expires_in) == (3599, 3599)
    assert result.account_name == "mailer@contoso.com"


@responses.activate
def test_a_response_without_refresh_token_parses_with_none() -> None:
    responses.post(TOKEN_URL, json={"access_token": "AT", "token_type": "bearer"})
    result = exchange()
    assert result.refresh_token is None
    assert result.expires_in is None


def microsoft_error(error: str, code: int, description: str) -> dict[str, object]:
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {description}",
        "error_codes": [code],
        "timestamp": "2026-11-28 10:00:00Z",
        "trace_id": "0000aaaa-11bb-22cc-33dd-444444eeeeee",
        "correlation_id": "aaaa0000-bb11-cc22-dd33-ee4444444444",
    }


@responses.activate
def test_invalid_grant_code_reused_is_reauthorization_with_plain_words() -> None:
    responses.post(
        TOKEN_URL,
        status=400,
        json=microsoft_error(
            "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed"
        ),
    )
    with pytest.raises(client.ReauthorizationRequired) as caught:
        exchange(Microsoft365)
    assert caught.value.message == "This sign-in code was already redeemed. (AADSTS54005)"
    assert "trace ID 0000aaaa-11bb-22cc-33dd-444444eeeeee" in caught.value.support_ids
    assert "correlation ID aaaa0000-bb11-cc22-dd33-ee4444444444" in caught.value.support_ids


@responses.activate
def test_invalid_client_secret_is_a_configuration_error() -> None:
    responses.post(
        TOKEN_URL,
        status=401,
        json=microsoft_error("invalid_client", 7000215, "Invalid client secret provided."),
    )
    with pytest.raises(client.ConfigurationError) as caught:
        exchange(Microsoft365)
    assert "not its Secret ID" in caught.value.message


@responses.activate
def test_an_expired_client_secret_is_a_configuration_error() -> None:
    responses.post(
        TOKEN_URL,
        status=401,
        json=microsoft_error(
            "invalid_client", 7000222, "The provided client secret keys are expired."
        ),
    )
    with pytest.raises(client.ConfigurationError, match="client secret has expired"):
        exchange(Microsoft365)


@responses.activate
def test_a_500_is_transient() -> None:
    responses.post(TOKEN_URL, status=500, body="oops")
    with pytest.raises(client.TransientTokenError, match="HTTP 500"):
        exchange()


@responses.activate
def test_a_503_carries_retry_after() -> None:
    responses.post(TOKEN_URL, status=503, body="busy", headers={"Retry-After": "120"})
    with pytest.raises(client.TransientTokenError) as caught:
        exchange()
    assert caught.value.retry_after == 120


@responses.activate
def test_a_429_with_an_http_date_is_transient() -> None:
    responses.post(
        TOKEN_URL,
        status=429,
        json={"error": "slow_down"},
        headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
    )
    with pytest.raises(client.TransientTokenError) as caught:
        exchange()
    assert caught.value.retry_after == 0


@responses.activate
def test_temporarily_unavailable_is_transient() -> None:
    responses.post(TOKEN_URL, status=400, json={"error": "temporarily_unavailable"})
    with pytest.raises(client.TransientTokenError):
        exchange()


@responses.activate
def test_a_timeout_is_transient() -> None:
    responses.post(TOKEN_URL, body=requests.ReadTimeout())
    with pytest.raises(client.TransientTokenError, match="did not answer in time"):
        exchange()


@responses.activate
def test_a_refused_connection_is_transient() -> None:
    responses.post(TOKEN_URL, body=requests.ConnectionError())
    with pytest.raises(client.TransientTokenError, match="could not be reached"):
        exchange()


@responses.activate
def test_html_instead_of_json_is_transient_not_a_crash() -> None:
    responses.post(TOKEN_URL, status=200, body="<html>Sign in</html>", content_type="text/html")
    with pytest.raises(client.TransientTokenError, match="did not answer with JSON"):
        exchange()


@responses.activate
def test_a_redirect_is_not_followed() -> None:
    responses.post(TOKEN_URL, status=302, headers={"Location": "https://elsewhere.example.com/"})
    with pytest.raises(client.ConfigurationError, match="redirect"):
        exchange()
    assert len(responses.calls) == 1


@responses.activate
def test_an_oversized_answer_is_refused() -> None:
    responses.post(TOKEN_URL, body=b"x" * (client.MAX_RESPONSE_BYTES + 10))
    with pytest.raises(client.TransientTokenError, match="too large"):
        exchange()


@responses.activate
def test_a_non_bearer_token_is_refused() -> None:
    responses.post(TOKEN_URL, json={"access_token": "AT", "token_type": "mac"})
    with pytest.raises(client.ConfigurationError, match="only Bearer"):
        exchange()


@responses.activate
def test_an_unknown_error_code_needs_a_person() -> None:
    responses.post(TOKEN_URL, status=400, json={"error": "weird_thing"})
    with pytest.raises(client.ConfigurationError, match="weird_thing"):
        exchange()


@responses.activate
def test_secrets_echoed_by_a_provider_are_redacted_and_never_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    responses.post(
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": f"bad code {CODE} for {SECRET}"},
    )
    with pytest.raises(client.TokenError) as caught:
        exchange()
    assert caught.value.description == "bad code [redacted] for [redacted]"
    for text in (caplog.text, str(caught.value), repr(caught.value)):
        for secret in (CODE, SECRET, VERIFIER):
            assert secret not in text
    assert SECRET not in repr(CREDENTIALS_BODY)


@responses.activate
def test_every_request_has_timeouts_and_verifies_tls() -> None:
    responses.post(TOKEN_URL, json=TOKENS)
    exchange()
    sent = responses.calls[0].request.req_kwargs
    assert sent["timeout"] == (client.CONNECT_TIMEOUT, client.READ_TIMEOUT)
    assert sent["verify"] not in (False, None)  # True or a CA bundle path


@responses.activate
def test_every_error_field_a_provider_echoes_is_redacted_capped_and_free_of_control_characters(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    responses.post(
        TOKEN_URL,
        status=400,
        json={
            "error": f"{'e' * 95}{SECRET}",  # a cut before redaction would leave a piece
            "error_description": f"{'d' * 995}{VERIFIER}",
            "trace_id": f"t-{CODE}\nFAKE LOG LINE",
            "correlation_id": "c" * 500,
            "error_codes": "not a list",
        },
    )
    with pytest.raises(client.TokenError) as caught:
        exchange()
    error = caught.value
    assert error.error == ("e" * 95 + "[redacted]")[:100]
    assert error.description == ("d" * 995 + "[redacted]")[:1000]
    assert error.trace_id == "t-[redacted] FAKE LOG LINE"
    assert error.correlation_id == "c" * 100
    assert error.error_codes == ()
    shown = " ".join([caplog.text, error.message, error.support_ids, str(error)])
    for secret in (CODE, SECRET, VERIFIER, SECRET[:5], VERIFIER[:5], CODE[:8]):
        assert secret not in shown
    assert "\nFAKE LOG LINE" not in caplog.text


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("invalid_grant", client.ReauthorizationRequired),
        ("interaction_required", client.ReauthorizationRequired),
        ("consent_required", client.ReauthorizationRequired),
        ("invalid_client", client.ConfigurationError),
        ("unauthorized_client", client.ConfigurationError),
        ("invalid_scope", client.ConfigurationError),
        ("temporarily_unavailable", client.TransientTokenError),
        ("server_error", client.TransientTokenError),
        ("something_new", client.ConfigurationError),  # a person looks; no endless retries
    ],
)
@responses.activate
def test_generic_provider_errors_are_classified_by_their_rfc_6749_code(
    error: str, expected: type[client.TokenError]
) -> None:
    responses.post(TOKEN_URL, status=400, json={"error": error})
    with pytest.raises(client.TokenError) as caught:
        client.refresh(Generic, TOKEN_URL, CREDENTIALS_BODY, refresh_token="RT", scope="")
    assert type(caught.value) is expected
