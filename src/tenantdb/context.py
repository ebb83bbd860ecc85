"""``TenantContext``: who a transaction runs for, validated before any SQL is sent.

A context carries the tenant id, an optional user id and extra ``app.*`` variables. The
drivers set all of them transaction-locally in one statement
(``SELECT set_config($1, $2, true), ...``) from :meth:`TenantContext.settings`::

    ctx = TenantContext(tenant_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301")
    ctx = TenantContext.create("acme", variables={"app.role": "staff"}, validator=slug_id)

Ids are canonical lowercase hyphenated UUIDs by default (RLS.md §4.2): Python's ``uuid.UUID``
is too lenient (it turns ``' ' + 31 hex digits`` into a *different* valid UUID), so the
validator is an ASCII regex and rejects every other spelling instead of normalising it.

Contexts also come from a verified JWT (``tenantdb.web.jwt.JwtVerifier``), from trusted
proxy headers (:func:`context_from_headers`), and from the ASGI middleware in
:mod:`tenantdb.web.asgi`, which stores the request's context for :func:`current_context`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

import msgspec

from tenantdb.errors import ConfigurationError, ContextError

__all__ = (
    "TENANT_HEADER",
    "TENANT_SETTING",
    "USER_HEADER",
    "USER_SETTING",
    "IdValidator",
    "OpaqueId",
    "SlugId",
    "TenantContext",
    "UuidId",
    "bind_context",
    "context_from_headers",
    "current_context",
    "current_context_or_none",
    "opaque_id",
    "slug_id",
    "uuid_id",
)

TENANT_SETTING = "app.current_tenant_id"
USER_SETTING = "app.current_user_id"

MAX_VARIABLES = 32
"""Extra ``app.*`` variables per context: each costs a ``set_config`` per transaction."""
MAX_VALUE_LENGTH = 1024
"""Characters per extra variable value; PostgreSQL would take 1 MB, we refuse to carry it."""

_UUID = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_NIL_UUID = "00000000-0000-0000-0000-000000000000"
_OPAQUE = re.compile(r"\A[!-~]+\Z")
_SLUG = re.compile(r"\A[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_VARIABLE = re.compile(r"\Aapp\.[a-z_][a-z0-9_]{0,62}\Z")
_RESERVED_VARIABLES = frozenset({TENANT_SETTING, USER_SETTING})
_SHOWN = 24  # characters of a rejected value quoted in an error message


def _show(value: object) -> str:
    """A short, log-safe description of a rejected value (never the whole of it)."""
    if not isinstance(value, str):
        return f"a {type(value).__name__}"
    if len(value) <= _SHOWN:
        return repr(value)
    return f"{value[:_SHOWN]!r}... ({len(value)} chars)"


class IdValidator(Protocol):
    """Checks one id: returns it unchanged or raises :class:`ContextError`.

    ``variable`` (``tenant_id`` or ``user_id``) goes into the error. Implementations must be
    hashable and comparable (frozen Structs), since contexts compare and hash them.
    """

    def __call__(self, value: object, *, variable: str) -> str: ...


class UuidId(msgspec.Struct, frozen=True):
    """Canonical lowercase hyphenated UUIDs, except the nil UUID (RLS.md §4.2).

    Rejects uppercase, braces, ``urn:uuid:``, missing hyphens, whitespace anywhere, full-width
    or other non-ASCII digits, NUL, anything but ``str`` (``TenantContext`` turns a
    ``uuid.UUID`` into its canonical string first).
    """

    def __call__(self, value: object, *, variable: str) -> str:
        if isinstance(value, str) and _UUID.match(value) and value != _NIL_UUID:
            return value
        raise ContextError(
            f"invalid {variable}: expected a canonical lowercase hyphenated UUID, "
            f"got {_show(value)}",
            variable=variable,
        )


class SlugId(msgspec.Struct, frozen=True, repr_omit_defaults=True):
    """ASCII DNS-label slugs (``acme``, ``north-wing-2``), at most 63 characters.

    For schemas whose tenant_id is text. Unicode is rejected, not normalised (a Cyrillic
    look-alike of ``a`` must not pass for a Latin ``a``); ``reserved`` names are refused too.
    """

    reserved: frozenset[str] = frozenset(
        {"admin", "api", "app", "default", "internal", "null", "public", "root", "system"}
    )

    def __call__(self, value: object, *, variable: str) -> str:
        if isinstance(value, str) and _SLUG.match(value) and value not in self.reserved:
            return value
        raise ContextError(
            f"invalid {variable}: expected a lowercase ASCII slug (a-z, 0-9, inner '-', "
            f"at most 63 chars, not reserved), got {_show(value)}",
            variable=variable,
        )


class OpaqueId(msgspec.Struct, frozen=True, repr_omit_defaults=True):
    """Identity-provider user ids such as ``auth0|5f7c8ec7c33c6c004bbafe82``, ``google-oauth2|1``
    or an email: printable ASCII without spaces (``!`` to ``~``), 1 to ``max_length`` chars.

    For ``user_validator=`` when tenants are UUIDs but users come from an IdP. Such values are
    always sent as bound parameters (the asyncpg lane inlines only ``[A-Za-z0-9._:@+-]``).
    """

    max_length: int = 255

    def __call__(self, value: object, *, variable: str) -> str:
        if (
            isinstance(value, str)
            and 0 < len(value) <= self.max_length
            and _OPAQUE.match(value) is not None
        ):
            return value
        raise ContextError(
            f"invalid {variable}: expected printable ASCII without spaces, at most "
            f"{self.max_length} chars, got {_show(value)}",
            variable=variable,
        )


uuid_id = UuidId()
"""The default validator: canonical UUIDs."""
opaque_id = OpaqueId()
"""Opaque identity-provider ids (``auth0|…``), for ``user_validator=``."""
slug_id = SlugId()
"""Slug validator with the default reserved list."""


class TenantContext(msgspec.Struct, frozen=True, repr_omit_defaults=True):
    """The identity one RLS transaction runs for; valid by construction.

    ``validator`` checks ``tenant_id`` and, unless ``user_validator`` is given, ``user_id``
    (e.g. ``user_validator=opaque_id`` for ``auth0|…`` users of UUID tenants);
    ``user_id=None`` means no user (the setting is sent as ``''``, which policies must treat as
    none). A ``uuid.UUID`` is accepted for either id and stored as its canonical string.
    ``variables`` are extra ``app.*`` settings, in the order they are sent. Construction raises
    :class:`~tenantdb.errors.ContextError` naming the bad variable.
    """

    tenant_id: str
    user_id: str | None = None
    variables: tuple[tuple[str, str], ...] = ()
    validator: IdValidator = uuid_id
    user_validator: IdValidator | None = None

    def __post_init__(self) -> None:
        # uuid.UUID is unambiguous: its str() is the canonical form the validators expect.
        for field in ("tenant_id", "user_id"):
            value: object = getattr(self, field)
            if type(value) is uuid.UUID:
                msgspec.structs.force_setattr(self, field, str(value))
        _check_id(self.validator, self.tenant_id, "tenant_id")
        if self.user_id is not None:
            user_validator = self.validator if self.user_validator is None else self.user_validator
            _check_id(user_validator, self.user_id, "user_id")
        _check_variables(self.variables)

    @classmethod
    def create(
        cls,
        tenant_id: str | uuid.UUID,
        user_id: str | uuid.UUID | None = None,
        variables: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        *,
        validator: IdValidator = uuid_id,
        user_validator: IdValidator | None = None,
    ) -> TenantContext:
        """Build a context from looser inputs: ``uuid.UUID`` ids, a mapping of variables.

        A mapping's variables are sorted by name, so equal inputs give equal contexts.
        """
        items: tuple[tuple[str, str], ...] = ()
        if isinstance(variables, Mapping):
            items = tuple(sorted(variables.items()))
        elif variables is not None:
            items = tuple(variables)
        return cls(
            tenant_id=_from_uuid(tenant_id),
            user_id=None if user_id is None else _from_uuid(user_id),
            variables=items,
            validator=validator,
            user_validator=user_validator,
        )

    def settings(self) -> tuple[tuple[str, str], ...]:
        """``(name, value)`` pairs to set transaction-locally, tenant and user first."""
        return (
            (TENANT_SETTING, self.tenant_id),
            (USER_SETTING, self.user_id or ""),
            *self.variables,
        )

    def ensure_validator(self, validator: IdValidator) -> None:
        """Raise ContextError unless this context was validated by ``validator``.

        ``Database`` calls this so a slug context cannot reach a UUID-configured database.
        """
        if self.validator != validator:
            raise ContextError(
                f"tenant_id was validated by {self.validator!r}, but this database expects "
                f"{validator!r}",
                variable="tenant_id",
            )


def _check_id(validator: IdValidator, value: object, variable: str) -> None:
    """Run a (possibly user-supplied) validator; the id must be a ``str`` whatever it says.

    A permissive custom validator cannot make a non-``str`` id reach a driver, where it would
    fail with an untyped error (docs/security.md).
    """
    validator(value, variable=variable)
    if type(value) is not str:
        raise ContextError(
            f"invalid {variable}: expected a str, got {_show(value)}", variable=variable
        )


def _from_uuid(value: str | uuid.UUID) -> str:
    # str(uuid.UUID) is canonical by construction; anything else is checked as given.
    return str(value) if isinstance(value, uuid.UUID) else value


def _check_variables(variables: object) -> None:
    if not isinstance(variables, tuple):
        raise ContextError(
            f"variables must be a tuple of (name, value) pairs, got {_show(variables)}",
            variable="variables",
        )
    if len(variables) > MAX_VARIABLES:
        raise ContextError(
            f"at most {MAX_VARIABLES} extra variables, got {len(variables)}",
            variable="variables",
        )
    seen: set[str] = set()
    for item in variables:
        name = _check_variable(item)
        if name in seen:
            raise ContextError(f"variable {name} is given twice", variable=name)
        seen.add(name)


def _check_variable(item: object) -> str:
    if not (isinstance(item, tuple) and len(item) == 2):
        raise ContextError(
            f"variables must be (name, value) pairs, got {_show(item)}", variable="variables"
        )
    name, value = item
    if not isinstance(name, str) or not _VARIABLE.match(name) or name in _RESERVED_VARIABLES:
        raise ContextError(
            f"invalid variable name {_show(name)}: expected app.<lowercase identifier>, "
            f"not {TENANT_SETTING} or {USER_SETTING}",
            variable="variables",
        )
    if not isinstance(value, str) or "\x00" in value or len(value) > MAX_VALUE_LENGTH:
        raise ContextError(
            f"invalid value for {name}: expected a str without NUL of at most "
            f"{MAX_VALUE_LENGTH} chars, got {_show(value)}",
            variable=name,
        )
    return name


# --- the current request's context ------------------------------------------------------

_current: ContextVar[TenantContext | None] = ContextVar("tenantdb_context", default=None)


def current_context() -> TenantContext:
    """The context of the current request or task; ContextError when none is bound."""
    ctx = _current.get()
    if ctx is None:
        raise ContextError(
            "no tenant context is bound (install TenantContextMiddleware or use bind_context)",
            variable="tenant_id",
        )
    return ctx


def current_context_or_none() -> TenantContext | None:
    """The bound context, or None."""
    return _current.get()


@contextmanager
def bind_context(ctx: TenantContext) -> Iterator[TenantContext]:
    """Bind ``ctx`` as the current context for the block (workers, scripts, tests).

    >>> with bind_context(ctx):
    ...     assert current_context() is ctx
    """
    if not isinstance(ctx, TenantContext):
        raise ContextError(f"expected a TenantContext, got {_show(ctx)}", variable="tenant_id")
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


# --- trusted proxy headers ---------------------------------------------------------------

TENANT_HEADER = "x-tenant-id"
USER_HEADER = "x-user-id"

_Headers = Mapping[str, str] | Iterable[tuple[bytes, bytes]]
"""A mapping of header names to values, or ASGI's raw ``[(name, value), ...]`` bytes list."""


def context_from_headers(
    headers: _Headers, *, trust_proxy_headers: bool, validator: IdValidator = uuid_id
) -> TenantContext:
    """A context from ``x-tenant-id`` / ``x-user-id``, set by a proxy you trust.

    Any client can send these headers, so this only works when ``trust_proxy_headers=True``
    states that a proxy in front of the app authenticates the caller and overwrites them.
    A header given twice is rejected rather than guessed at.
    """
    if not trust_proxy_headers:
        raise ConfigurationError(
            "context_from_headers reads client-controllable headers; pass "
            "trust_proxy_headers=True only behind a proxy that authenticates and sets them"
        )
    values = _collect(headers, (TENANT_HEADER, USER_HEADER))
    tenant = values.get(TENANT_HEADER)
    if tenant is None:
        raise ContextError(f"missing {TENANT_HEADER} header", variable="tenant_id")
    return TenantContext(tenant_id=tenant, user_id=values.get(USER_HEADER), validator=validator)


def _collect(headers: _Headers, wanted: tuple[str, ...]) -> dict[str, str]:
    pairs: Iterable[tuple[str | bytes, str | bytes]]
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, str] = {}
    for raw_name, raw_value in pairs:
        name = _text(raw_name).lower()
        if name not in wanted:
            continue
        if name in found:
            variable = "tenant_id" if name == TENANT_HEADER else "user_id"
            raise ContextError(f"header {name} is given more than once", variable=variable)
        found[name] = _text(raw_value)
    return found


def _text(value: str | bytes) -> str:
    # Header bytes are latin-1 on the wire (ASGI spec); non-ASCII then fails validation.
    return value.decode("latin-1") if isinstance(value, bytes) else value
