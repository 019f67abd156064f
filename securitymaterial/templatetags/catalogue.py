from __future__ import annotations

from django import template
from django.http import QueryDict

register = template.Library()


@register.simple_tag(takes_context=True)
def query(context: template.Context, **changes: object) -> str:
    """The current query string with some parameters replaced (sorting, paging)."""
    params: QueryDict = context["request"].GET.copy()
    for key, value in changes.items():
        params[key] = str(value)
    return "?" + params.urlencode()


@register.simple_tag(takes_context=True)
def sort_link(context: template.Context, column: str) -> str:
    current = str(context.get("sort", "name"))
    descending = current == column
    params: QueryDict = context["request"].GET.copy()
    params["sort"] = f"-{column}" if descending else column
    params.pop("page", None)
    return "?" + params.urlencode()


@register.simple_tag(takes_context=True)
def sort_indicator(context: template.Context, column: str) -> str:
    current = str(context.get("sort", "name"))
    if current == column:
        return "▲"
    if current == f"-{column}":
        return "▼"
    return ""
