from __future__ import annotations

from functools import lru_cache

from django import template
from django.http import QueryDict
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html

from securitymaterial import listing

register = template.Library()


@register.simple_tag
def artifact_url(name: str, pk: int) -> str:
    """{% url name pk %} for a row of the list: Django's reverse() costs about as much as
    the rest of a row, so each URL's shape is worked out once (per script prefix)."""
    return _url_format(name, get_script_prefix()).format(pk=int(pk))


@lru_cache(maxsize=64)
def _url_format(name: str, prefix: str) -> str:
    marker = 987654321
    return (
        reverse(name, args=[marker])
        .replace("{", "{{")
        .replace("}", "}}")
        .replace(str(marker), "{pk}")
    )


@register.simple_tag(takes_context=True)
def page_link(context: template.Context, keys: str | None, label: str) -> str:
    """A pagination item: the list's filters and sort with the page's key (listing.Page).
    Nothing where there is no such page (a greyed-out link reads as one to a screen reader
    and fails the contrast a link needs)."""
    if keys is None:
        return ""
    params: QueryDict = context["request"].GET.copy()
    for key in listing.KEY_PARAMS:
        params.pop(key, None)
    params.update(QueryDict(keys))
    item = '<li class="page-item"><a class="page-link" href="?{}">{}</a></li>'
    return format_html(item, params.urlencode(), label)


@register.simple_tag(takes_context=True)
def sort_link(context: template.Context, column: str) -> str:
    current = str(context.get("sort", "name"))
    descending = current == column
    params: QueryDict = context["request"].GET.copy()
    params["sort"] = f"-{column}" if descending else column
    for key in listing.KEY_PARAMS:  # a new sort starts on its first page
        params.pop(key, None)
    return "?" + params.urlencode()


@register.simple_tag(takes_context=True)
def sort_indicator(context: template.Context, column: str) -> str:
    current = str(context.get("sort", "name"))
    if current == column:
        return "▲"
    if current == f"-{column}":
        return "▼"
    return ""
