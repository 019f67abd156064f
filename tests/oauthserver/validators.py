"""The server accepts exactly one client authentication method per client.

django-oauth-toolkit accepts HTTP Basic and body credentials alike; a provider that allows
only one shows whether Send As really sends what it says. The method is the prefix of the
application's name: "basic:..." or "body:...".
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator


class OneClientAuthMethodValidator(OAuth2Validator):
    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if self._extract_basic_auth(request):
            method, authenticated = "basic", self._authenticate_basic_auth(request)
        else:
            method, authenticated = "body", self._authenticate_request_body(request)
        return bool(authenticated) and request.client.name.split(":", 1)[0] == method

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        return {"preferred_username": request.user.email or request.user.username}
