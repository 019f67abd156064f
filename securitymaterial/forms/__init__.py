"""One form per artifact type, on one pattern (forms.base.ArtifactForm)."""

from __future__ import annotations

from securitymaterial.forms.authorization_code import OAuth2AuthorizationCodeForm
from securitymaterial.forms.base import ArtifactForm
from securitymaterial.forms.client_credentials import OAuth2ClientCredentialsForm
from securitymaterial.forms.credentials import SecureParameterForm, UserCredentialsForm
from securitymaterial.models import ArtifactType

FORMS: dict[str, type[ArtifactForm]] = {
    ArtifactType.USER_CREDENTIALS: UserCredentialsForm,
    ArtifactType.SECURE_PARAMETER: SecureParameterForm,
    ArtifactType.OAUTH2_CLIENT_CREDENTIALS: OAuth2ClientCredentialsForm,
    ArtifactType.OAUTH2_AUTHORIZATION_CODE: OAuth2AuthorizationCodeForm,
}

__all__ = [
    "FORMS",
    "ArtifactForm",
    "OAuth2AuthorizationCodeForm",
    "OAuth2ClientCredentialsForm",
    "SecureParameterForm",
    "UserCredentialsForm",
]
