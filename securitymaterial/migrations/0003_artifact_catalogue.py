"""One catalogue for every artifact type.

The table of OAuth2 Authorization Code artifacts becomes the catalogue table `Artifact`
(same ids, so URLs, audit entries and pending authorizations keep pointing at the same
artifacts); the attributes of the authorization-code type move into a table of their own
that extends it (multi-table inheritance), and the three new types get theirs.

The columns are copied with SQL: no value is decrypted or re-encrypted, so the migration
needs no key and cannot garble a token.
"""

import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import securitymaterial.fields
import oauthproviders

MOVED = [
    "provider",
    "tenant",
    "authorization_url",
    "token_service_url",
    "refresh_token_expiry_days",
    "client_id",
    "client_secret",
    "send_as",
    "user_name",
    "scope",
    "use_pkce",
    "access_token",
    "refresh_token",
    "access_token_expires_at",
    "refresh_token_renewed_at",
    "token_scope",
    "authorized_account",
    "authorized_by_id",
    "authorized_at",
    "next_refresh_at",
    "retry_at",
    "last_attempt_at",
    "last_attempt_result",
    "attempts_since_success",
    "failing_since",
]


def authorization_code_fields() -> list:
    fields = [
        ("access_token", securitymaterial.fields.EncryptedTextField(blank=True, default="")),
        ("access_token_expires_at", models.DateTimeField(blank=True, null=True)),
        ("token_scope", models.CharField(blank=True, max_length=2000)),
        ("last_attempt_at", models.DateTimeField(blank=True, null=True)),
        ("last_attempt_result", models.CharField(blank=True, max_length=1000)),
        ("provider", models.CharField(choices=oauthproviders.choices, max_length=32)),
        ("tenant", models.CharField(blank=True, max_length=255)),
        ("authorization_url", models.CharField(max_length=2000)),
        ("token_service_url", models.CharField(max_length=2000)),
        ("refresh_token_expiry_days", models.PositiveSmallIntegerField(blank=True, null=True)),
        ("client_id", models.CharField(max_length=255)),
        ("client_secret", securitymaterial.fields.EncryptedTextField(blank=True, default="")),
        (
            "send_as",
            models.CharField(
                choices=[("body", "Body Parameter"), ("basic", "Basic Auth Header")],
                default="body",
                max_length=8,
            ),
        ),
        ("user_name", models.CharField(blank=True, max_length=254)),
        ("scope", models.CharField(blank=True, max_length=2000)),
        ("use_pkce", models.BooleanField(default=True)),
        ("refresh_token", securitymaterial.fields.EncryptedTextField(blank=True, default="")),
        ("refresh_token_renewed_at", models.DateTimeField(blank=True, null=True)),
        ("authorized_account", models.CharField(blank=True, max_length=254)),
        (
            "authorized_by",
            models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        ("authorized_at", models.DateTimeField(blank=True, null=True)),
        ("next_refresh_at", models.DateTimeField(blank=True, db_index=True, null=True)),
        ("retry_at", models.DateTimeField(blank=True, null=True)),
        ("attempts_since_success", models.PositiveIntegerField(default=0)),
        ("failing_since", models.DateTimeField(blank=True, null=True)),
    ]
    return [("artifact_ptr", artifact_ptr()), *fields]


def artifact_ptr() -> models.OneToOneField:
    return models.OneToOneField(
        auto_created=True,
        on_delete=django.db.models.deletion.CASCADE,
        parent_link=True,
        primary_key=True,
        serialize=False,
        to="securitymaterial.artifact",
    )


def copy_columns(apps, schema_editor):
    quote = schema_editor.quote_name
    columns = ", ".join(quote(column) for column in MOVED)
    schema_editor.execute(
        f"INSERT INTO {quote('securitymaterial_oauth2authorizationcode')} "
        f"({quote('artifact_ptr_id')}, {columns}) "
        f"SELECT {quote('id')}, {columns} FROM {quote('securitymaterial_artifact')}"
    )


def copy_columns_back(apps, schema_editor):
    quote = schema_editor.quote_name
    for column in MOVED:
        schema_editor.execute(
            f"UPDATE {quote('securitymaterial_artifact')} SET {quote(column)} = "
            f"(SELECT {quote(column)} FROM {quote('securitymaterial_oauth2authorizationcode')} "
            f"WHERE {quote('artifact_ptr_id')} = {quote('securitymaterial_artifact')}.{quote('id')})"
        )


def _move_grants(apps, model: str, old: str, new: str) -> None:
    """Grants of permission `old_<model>` become grants of `new_...` on the same content type
    (the migrate command renamed the content type along with the model)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    Group = apps.get_model("auth", "Group")
    content_type = ContentType.objects.filter(app_label="securitymaterial", model=model).first()
    if content_type is None:  # a fresh database: post_migrate creates them afterwards
        return
    for action in ("add", "change", "delete", "view"):
        before = Permission.objects.filter(
            content_type=content_type, codename=f"{action}_{old}"
        ).first()
        if before is None:
            continue
        after, _ = Permission.objects.get_or_create(
            content_type=content_type,
            codename=f"{action}_{new}",
            defaults={"name": f"Can {action} {new}"},
        )
        for through, owner in (
            (User.user_permissions.through, "user_id"),
            (Group.permissions.through, "group_id"),
        ):
            for grant in through.objects.filter(permission=before):
                through.objects.get_or_create(**{owner: getattr(grant, owner)}, permission=after)
        before.delete()


def rename_permissions(apps, schema_editor):
    """Whoever could change authorization-code artifacts can change every artifact: one
    permission set for the catalogue, as the platform's CredentialsEdit."""
    _move_grants(apps, "artifact", "oauth2authorizationcode", "artifact")


def rename_permissions_back(apps, schema_editor):
    _move_grants(apps, "artifact", "artifact", "oauth2authorizationcode")


class Migration(migrations.Migration):
    dependencies = [
        ("securitymaterial", "0002_audit_tokens_and_api_tokens"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="oauth2authorizationcode", name="unique_name_per_runtime"
        ),
        migrations.RenameModel("OAuth2AuthorizationCode", "Artifact"),
        migrations.AlterModelOptions(name="artifact", options={"ordering": ["name"]}),
        migrations.AddField(
            model_name="artifact",
            name="kind",
            field=models.CharField(
                choices=[
                    ("user-credentials", "User Credentials"),
                    ("secure-parameter", "Secure Parameter"),
                    ("oauth2-client-credentials", "OAuth2 Client Credentials"),
                    ("oauth2-authorization-code", "OAuth2 Authorization Code"),
                ],
                default="oauth2-authorization-code",
                max_length=32,
            ),
        ),
        migrations.AlterField(
            model_name="artifact",
            name="status",
            field=models.CharField(
                choices=[
                    ("stored", "Stored"),
                    ("deployed", "Deployed"),
                    ("error", "Error"),
                    ("unauthorized", "Unauthorized"),
                ],
                default="stored",
                max_length=16,
            ),
        ),
        # The type's own table, first as a plain model (its fields still exist on Artifact
        # in the migration state, and a subclass may not repeat them).
        migrations.CreateModel(
            name="OAuth2AuthorizationCode",
            fields=authorization_code_fields(),
            options={"verbose_name": "OAuth2 Authorization Code"},
        ),
        migrations.RunPython(copy_columns, copy_columns_back, elidable=False),
        *[
            migrations.RemoveField(
                model_name="artifact", name="authorized_by" if name == "authorized_by_id" else name
            )
            for name in MOVED
        ],
        # Now it can extend Artifact: the table is already what that means.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel("OAuth2AuthorizationCode"),
                migrations.CreateModel(
                    name="OAuth2AuthorizationCode",
                    fields=authorization_code_fields(),
                    options={"verbose_name": "OAuth2 Authorization Code"},
                    bases=("securitymaterial.artifact", models.Model),
                ),
            ]
        ),
        migrations.AddConstraint(
            model_name="artifact",
            constraint=models.UniqueConstraint(
                models.F("runtime"),
                django.db.models.functions.text.Lower("name"),
                name="unique_name_per_runtime_any_case",
            ),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("created", "Created"),
                    ("updated", "Updated"),
                    ("deleted", "Deleted"),
                    ("authorized", "Authorized"),
                    ("refresh_failed", "Refresh failed"),
                    ("authorization_failed", "Authorization failed"),
                    ("token_issued", "Access token issued"),
                    ("token_fetch_failed", "Token request failed"),
                    ("secret_read", "Secret read"),
                    ("api_token_created", "API token created"),
                    ("api_token_revoked", "API token revoked"),
                ],
                max_length=32,
            ),
        ),
        migrations.CreateModel(
            name="OAuth2ClientCredentials",
            fields=[
                ("artifact_ptr", artifact_ptr()),
                ("access_token", securitymaterial.fields.EncryptedTextField(blank=True, default="")),
                ("access_token_expires_at", models.DateTimeField(blank=True, null=True)),
                ("token_scope", models.CharField(blank=True, max_length=2000)),
                ("last_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("last_attempt_result", models.CharField(blank=True, max_length=1000)),
                ("token_service_url", models.CharField(max_length=2000)),
                ("client_id", models.CharField(max_length=255)),
                ("client_secret", securitymaterial.fields.EncryptedTextField(blank=True, default="")),
                (
                    "client_authentication",
                    models.CharField(
                        choices=[
                            ("body", "Send as Body Parameter"),
                            ("header", "Send as Request Header"),
                        ],
                        default="body",
                        max_length=8,
                    ),
                ),
                ("scope", models.CharField(blank=True, max_length=2000)),
                (
                    "content_type",
                    models.CharField(
                        choices=[
                            ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded"),
                            ("application/json", "application/json"),
                        ],
                        default="application/x-www-form-urlencoded",
                        max_length=40,
                    ),
                ),
                ("resource", models.CharField(blank=True, max_length=2000)),
                ("audience", models.CharField(blank=True, max_length=2000)),
                (
                    "custom_parameters_json",
                    securitymaterial.fields.EncryptedTextField(blank=True, default=""),
                ),
                ("access_token_fetched_at", models.DateTimeField(blank=True, null=True)),
                ("retry_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "verbose_name": "OAuth2 Client Credentials",
                "verbose_name_plural": "OAuth2 Client Credentials",
            },
            bases=("securitymaterial.artifact", models.Model),
        ),
        migrations.CreateModel(
            name="SecureParameter",
            fields=[
                ("artifact_ptr", artifact_ptr()),
                ("value", securitymaterial.fields.EncryptedTextField(blank=True, default="")),
            ],
            options={"verbose_name": "Secure Parameter"},
            bases=("securitymaterial.artifact",),
        ),
        migrations.CreateModel(
            name="UserCredentials",
            fields=[
                ("artifact_ptr", artifact_ptr()),
                (
                    "credential_kind",
                    models.CharField(
                        choices=[("default", "Default"), ("successfactors", "SuccessFactors")],
                        default="default",
                        max_length=16,
                    ),
                ),
                ("company_id", models.CharField(blank=True, max_length=255)),
                ("user", models.CharField(max_length=255)),
                ("password", securitymaterial.fields.EncryptedTextField(blank=True, default="")),
            ],
            options={"verbose_name": "User Credentials", "verbose_name_plural": "User Credentials"},
            bases=("securitymaterial.artifact",),
        ),
        migrations.RunPython(rename_permissions, rename_permissions_back),
    ]
