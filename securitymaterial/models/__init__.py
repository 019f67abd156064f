"""The artifact catalogue. One module per artifact type; TYPES lists them explicitly."""

from __future__ import annotations

from securitymaterial.models.authorization_code import OAuth2AuthorizationCode
from securitymaterial.models.catalogue import (
    Artifact,
    ArtifactCount,
    ArtifactType,
    AuditEntry,
    ErrorKind,
    Runtime,
    Status,
)
from securitymaterial.models.client_credentials import (
    CLIENT_AUTHENTICATION_LABELS,
    OAuth2ClientCredentials,
    RequestBodyFormat,
    SendAsPartOf,
)
from securitymaterial.models.credentials import SecureParameter, UserCredentials
from securitymaterial.models.tokens import ClientAuthentication

# In the order of the platform's Add menu.
TYPES: dict[str, type[Artifact]] = {
    model.KIND: model
    for model in (
        UserCredentials,
        SecureParameter,
        OAuth2ClientCredentials,
        OAuth2AuthorizationCode,
    )
}

__all__ = [
    "CLIENT_AUTHENTICATION_LABELS",
    "TYPES",
    "Artifact",
    "ArtifactCount",
    "ArtifactType",
    "AuditEntry",
    "ClientAuthentication",
    "ErrorKind",
    "OAuth2AuthorizationCode",
    "OAuth2ClientCredentials",
    "RequestBodyFormat",
    "Runtime",
    "SecureParameter",
    "SendAsPartOf",
    "Status",
    "UserCredentials",
]
