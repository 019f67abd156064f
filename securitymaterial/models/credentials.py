"""The two types that only keep a secret for integrations: deployed as soon as saved."""

from __future__ import annotations

from django.db import models

from securitymaterial import crypto
from securitymaterial.fields import EncryptedTextField
from securitymaterial.models.catalogue import Artifact, ArtifactType, Status


class UserCredentials(Artifact):
    KIND = ArtifactType.USER_CREDENTIALS
    INITIAL_STATUS = Status.DEPLOYED

    class Kind(models.TextChoices):
        DEFAULT = "default", "Default"
        SUCCESSFACTORS = "successfactors", "SuccessFactors"

    credential_kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DEFAULT)
    company_id = models.CharField(max_length=255, blank=True)  # SuccessFactors only
    user = models.CharField(max_length=255)
    password = EncryptedTextField()

    class Meta:
        verbose_name = "User Credentials"
        verbose_name_plural = "User Credentials"

    @property
    def password_fingerprint(self) -> str:
        return crypto.fingerprint(self.password) if self.password else ""


class SecureParameter(Artifact):
    KIND = ArtifactType.SECURE_PARAMETER
    INITIAL_STATUS = Status.DEPLOYED

    value = EncryptedTextField()

    class Meta:
        verbose_name = "Secure Parameter"

    @property
    def value_fingerprint(self) -> str:
        return crypto.fingerprint(self.value) if self.value else ""
