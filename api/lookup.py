"""The token API's question in one statement: the API token by its hash (not revoked)
and the artifact by runtime and name, with only the columns an answer needs.

The ORM built this SQL again on every call (about a millisecond for the artifact's query
alone) and the two lookups were two round trips. The statement is built once per process
from the models' own metadata; what comes back is turned into model instances the way the
ORM does (Model.from_db, after each column's converters: the access token is decrypted by
its field), so every rule downstream stays on the models. A column not selected here is
loaded by Django on first access, as with .only(): slower, never wrong.

The grants (runtime, names, consume) are checked on the token row by ApiToken's own
methods, before the artifact's columns are looked at (api.base.find).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model

from api.models import ApiToken, token_hash
from securitymaterial.models import Artifact, OAuth2AuthorizationCode, OAuth2ClientCredentials
from securitymaterial.validators import NAME_RE

TOKEN_FIELDS = [
    *("id", "name", "runtime", "artifact_names", "can_consume", "can_manage", "last_used_at")
]
CATALOGUE_FIELDS = [
    *("id", "runtime", "name", "kind", "status", "status_reason", "error_kind", "last_used_at")
]
# What oauthflows.access.issue reads of each type on the way to a 200.
TYPE_FIELDS: dict[type[Artifact], list[str]] = {
    OAuth2AuthorizationCode: [
        "artifact_ptr_id",
        "access_token",
        "access_token_expires_at",
        "token_scope",
        "scope",
        "user_name",
        "refresh_token",
        "refresh_token_renewed_at",
        "retry_at",
    ],
    OAuth2ClientCredentials: [
        "artifact_ptr_id",
        "access_token",
        "access_token_expires_at",
        "token_scope",
        "scope",
        "access_token_fetched_at",
        "retry_at",
    ],
}
NAME_MAX_LENGTH = 150


@dataclass(frozen=True)
class Presented:
    """An API token as the request sent it, before it is looked up."""

    secret: str = field(repr=False)


@dataclass(frozen=True)
class _Part:
    model: type[Model]
    alias: str
    fields: list[Field[Any, Any]]
    converters: list[list[Any]]


def _part(model: type[Model], names: list[str], alias: str) -> _Part:
    # In the model's order of columns, the order Model.from_db takes values in.
    fields = [one for one in model._meta.concrete_fields if one.attname in names]
    assert len(fields) == len(names), f"not columns of {model.__name__}: {names}"
    converters = []
    for one in fields:
        column = one.get_col(alias)  # as the compiler converts a selected column
        converters.append(
            connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        )
    return _Part(model, alias, fields, converters)


@cache
def _statement() -> tuple[str, list[_Part]]:
    quote = connection.ops.quote_name
    token = _part(ApiToken, TOKEN_FIELDS, "t")
    catalogue = _part(Artifact, CATALOGUE_FIELDS, "a")
    parts = [token, catalogue]
    joins = []
    for number, (model, names) in enumerate(TYPE_FIELDS.items()):
        alias = f"k{number}"
        parts.append(_part(model, [n for n in names if n not in CATALOGUE_FIELDS], alias))
        joins.append(
            f"LEFT JOIN {quote(model._meta.db_table)} {alias} "
            f"ON {alias}.{quote(model._meta.pk.column)} = a.id"
        )
    columns = ", ".join(f"{p.alias}.{quote(one.column)}" for p in parts for one in p.fields)
    sql = (
        f"SELECT {columns} FROM {quote(ApiToken._meta.db_table)} t "  # noqa: S608 - names from the models
        f"LEFT JOIN {quote(Artifact._meta.db_table)} a ON a.runtime = %s AND LOWER(a.name) = %s "
        + " ".join(joins)
        + " WHERE t.token_hash = %s AND t.revoked_at IS NULL"
    )
    return sql, parts


def _instance(part: _Part, values: list[Any], extra: tuple[list[str], list[Any]] = ([], [])) -> Any:
    converted = []
    for value, converters in zip(values, part.converters, strict=True):
        for convert in converters:
            value = convert(value, None, connection)
        converted.append(value)
    names = [one.attname for one in part.fields]
    return part.model.from_db(connection.alias, extra[0] + names, extra[1] + converted)


def token_and_artifact(
    presented: Presented, runtime: str, name: str
) -> tuple[ApiToken, Artifact | None] | None:
    """The API token (None if unknown or revoked) and the artifact of that name in any
    case (None if there is none), as an instance of its type if it is an OAuth type."""
    sql, parts = _statement()
    # A name no artifact can have finds nothing (and a NUL never reaches PostgreSQL).
    wanted = name.lower() if len(name) <= NAME_MAX_LENGTH and NAME_RE.fullmatch(name) else ""
    with connection.cursor() as cursor:
        cursor.execute(sql, [runtime, wanted, token_hash(presented.secret)])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    token_part, catalogue, *typed = parts
    api_token = _instance(token_part, values[: len(token_part.fields)])
    values = values[len(token_part.fields) :]
    catalogue_values, values = values[: len(catalogue.fields)], values[len(catalogue.fields) :]
    if catalogue_values[0] is None:
        return api_token, None
    for part in typed:
        own, values = values[: len(part.fields)], values[len(part.fields) :]
        if own[0] is not None:  # this type's row joined
            names = [one.attname for one in catalogue.fields]
            converted = _instance(catalogue, catalogue_values)
            return api_token, _instance(part, own, (names, [getattr(converted, n) for n in names]))
    return api_token, _instance(catalogue, catalogue_values)
