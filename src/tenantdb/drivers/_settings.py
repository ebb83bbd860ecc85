"""The tenant context as SQL text, the same on every transport.

Which settings may travel as literals (validated ids of a conservative ASCII shape) and which
must be bound, how a literal is quoted, and which setting names are acceptable: the asyncpg
lane's BEGIN message and the Data API lane's context statement both build on these.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tenantdb.errors import ConfigurationError

__all__ = ("SAFE_LITERAL", "check_setting_name", "quote_literal", "split_settings")

SAFE_LITERAL = re.compile(r"\A[0-9A-Za-z._:@+-]{0,128}\Z")
"""Values this shape may travel as literals in the BEGIN round trip (uuids, slugs, emails)."""

_SETTING_NAME = re.compile(r"\A[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\Z")
"""A custom GUC name (``app.current_tenant_id``): validated again before it enters SQL text."""

_LITERAL_IDS = 2
"""``TenantContext.settings()`` starts with the tenant id and the user id."""


def quote_literal(value: str) -> str:
    """A single-quoted SQL literal. Defence in depth: callers pass only validated values."""
    if "\x00" in value or "\\" in value:
        raise ConfigurationError("a value with NUL or backslash cannot travel as a SQL literal")
    return "'" + value.replace("'", "''") + "'"


def check_setting_name(name: str) -> str:
    if not _SETTING_NAME.fullmatch(name):
        raise ConfigurationError(f"invalid tenant variable name {name!r}")
    return name


def split_settings(
    settings: Sequence[tuple[str, str]],
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(literal, bound): the ids go literal when safe; every extra variable goes bound."""
    literal: list[tuple[str, str]] = []
    bound: list[tuple[str, str]] = []
    for index, (name, value) in enumerate(settings):
        check_setting_name(name)
        if index < _LITERAL_IDS and SAFE_LITERAL.fullmatch(value):
            literal.append((name, value))
        else:
            bound.append((name, value))
    return literal, bound
