"""``:name`` parameters -> ``$n`` placeholders typed the way the real service types them.

The Data API binds a plain ``stringValue`` as ``varchar`` (not PostgreSQL's *unknown*), so
``uuid_col = :id`` without a typeHint fails with 42883 exactly as on AWS. Each placeholder is
rewritten to ``($n::<type>)``: the cast fixes the parameter's type while user casts after it
(``:id::uuid``) still apply. Hinted strings travel as text and are cast to the hint's type.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from tenantdb._sqllex import SqlLexError, split_statements, tokenize
from tenantdb.local.dataapi._errors import ApiError

__all__ = ("Bound", "Template", "parse_sql")

_INT8 = (-(2**63), 2**63 - 1)
_VALUE_MEMBERS = (
    "isNull",
    "booleanValue",
    "longValue",
    "doubleValue",
    "stringValue",
    "blobValue",
    "arrayValue",
)
_HINT_TYPES = {
    "DATE": "text::date",
    "TIME": "text::time",
    "TIMESTAMP": "text::timestamp",
    "DECIMAL": "text::numeric",
    "UUID": "text::uuid",
    "JSON": "text::json",
}
_HINT_FORMATS = {
    "DATE": (re.compile(r"\d{4}-\d{2}-\d{2}"), "YYYY-MM-DD"),
    "TIME": (re.compile(r"\d{2}:\d{2}:\d{2}(\.\d{1,9})?"), "HH:MM:SS[.FFF]"),
    "TIMESTAMP": (
        re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?"),
        "YYYY-MM-DD HH:MM:SS[.FFF]",
    ),
}
_DIGITS = re.compile(r"[0-9]+")
_SAFE_NAME = re.compile(r":?[A-Za-z0-9_]{1,64}")


class Bound(NamedTuple):
    """PostgreSQL SQL with ``$n`` placeholders and the values to bind."""

    sql: str
    args: list[Any]


class _Ref(NamedTuple):
    name: str
    numeric: bool  # drizzle-style `:1`; a placeholder only when such a parameter is supplied


class Template:
    """One lexed statement; :meth:`bind` makes a :class:`Bound` per parameter set."""

    def __init__(self, pieces: list[str | _Ref]) -> None:
        self._pieces = pieces

    def bind(self, parameters: Sequence[Any] | None) -> Bound:
        values = _decode_parameters(parameters or ())
        numbers: dict[str, int] = {}
        args: list[Any] = []
        out: list[str] = []
        for piece in self._pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            if piece.name not in values:
                if piece.numeric:
                    out.append(f":{piece.name}")
                    continue
                raise ApiError(
                    "BadRequestException", f'No value specified for parameter "{piece.name}"'
                )
            value, pg_type = values[piece.name]
            if piece.name not in numbers:
                args.append(value)
                numbers[piece.name] = len(args)
            n = numbers[piece.name]
            out.append(f"(${n}::{pg_type})" if pg_type else f"${n}")
        return Bound("".join(out), args)


def parse_sql(sql: str) -> Template:
    """Lex once; more than one statement is AWS's ValidationException."""
    try:
        statements = split_statements(sql)
    except SqlLexError:
        # Let PostgreSQL report the syntax error (42601) the way the service would.
        return Template([sql])
    if len(statements) > 1:
        raise ApiError("ValidationException", "Multistatements aren't supported.")
    pieces: list[str | _Ref] = []
    tokens = list(tokenize(statements[0] if statements else ""))
    skip = False
    for i, tok in enumerate(tokens):
        if skip:
            skip = False
        elif tok.kind == "named":
            pieces.append(_Ref(tok.text[1:], numeric=False))
        elif (
            tok.text == ":"
            and i + 1 < len(tokens)
            and _DIGITS.fullmatch(tokens[i + 1].text)
            and not (i > 0 and tokens[i - 1].text.endswith(":"))
        ):
            pieces.append(_Ref(tokens[i + 1].text, numeric=True))
            skip = True
        else:
            pieces.append(tok.text)
    return Template(pieces)


def _decode_parameters(parameters: Sequence[Any]) -> dict[str, tuple[Any, str]]:
    out: dict[str, tuple[Any, str]] = {}
    for param in parameters:
        if not isinstance(param, Mapping):
            raise ApiError("ValidationException", "Each parameter must be an object")
        name = param.get("name")
        if not isinstance(name, str) or not name:
            raise ApiError("BadRequestException", "Parameter has no name")
        hint = param.get("typeHint")
        if hint is not None and (not isinstance(hint, str) or hint not in _HINT_TYPES):
            raise ApiError(
                "ValidationException",
                f"{_shown(name)} has an invalid typeHint: Member must satisfy enum value set: "
                "[JSON, UUID, TIMESTAMP, DATE, TIME, DECIMAL]",
            )
        value = param.get("value")
        if not isinstance(value, Mapping):
            raise ApiError("BadRequestException", f"{_shown(name)} has value with no field set")
        out[name.removeprefix(":")] = _decode_value(name, value, hint)
    return out


def _decode_value(name: str, value: Mapping[str, Any], hint: Any) -> tuple[Any, str]:
    members = [k for k in _VALUE_MEMBERS if value.get(k) is not None]
    if value.get("isNull") is False:
        members.remove("isNull")
    if not members:
        raise ApiError("BadRequestException", f"{_shown(name)} has value with no field set")
    if len(members) > 1:
        raise ApiError("BadRequestException", f"{_shown(name)} has more than one field set")
    member = members[0]
    raw = value[member]
    if member == "arrayValue":
        raise ApiError("ValidationException", "Array parameters are not supported")
    if member == "isNull":
        return None, ""
    if member == "stringValue":
        return _string(name, raw, hint)
    return _SCALARS[member](name, raw)


def _string(name: str, raw: Any, hint: Any) -> tuple[Any, str]:
    if not isinstance(raw, str):
        raise _invalid(name, "stringValue")
    if hint is None:
        return raw, "varchar"
    if hint in _HINT_FORMATS:
        pattern, shape = _HINT_FORMATS[hint]
        if not pattern.fullmatch(raw):
            # The value itself is never echoed: it may be anything the caller holds.
            raise ApiError(
                "BadRequestException",
                f"{_shown(name)} with typeHint {hint} must be formatted {shape}",
            )
    return raw, _HINT_TYPES[hint]


def _long(name: str, raw: Any) -> tuple[Any, str]:
    if isinstance(raw, bool) or not isinstance(raw, int) or not _INT8[0] <= raw <= _INT8[1]:
        raise _invalid(name, "longValue")
    return raw, "int8"


def _double(name: str, raw: Any) -> tuple[Any, str]:
    # botocore sends non-finite doubles as the strings "NaN", "Infinity", "-Infinity".
    if isinstance(raw, str) and raw in ("NaN", "Infinity", "-Infinity"):
        return float(raw), "float8"
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _invalid(name, "doubleValue")
    return float(raw), "float8"


def _boolean(name: str, raw: Any) -> tuple[Any, str]:
    if not isinstance(raw, bool):
        raise _invalid(name, "booleanValue")
    return raw, "bool"


def _blob(name: str, raw: Any) -> tuple[Any, str]:
    if not isinstance(raw, str):
        raise _invalid(name, "blobValue")
    try:
        return base64.b64decode(raw, validate=True), "bytea"
    except (binascii.Error, ValueError) as exc:
        raise _invalid(name, "blobValue") from exc


def _invalid(name: str, member: str) -> ApiError:
    return ApiError("ValidationException", f"{_shown(name)} has an invalid {member}")


def _shown(name: str) -> str:
    """How a message names a parameter: an identifier-like name as AWS shows it, anything
    else (the caller's bytes, not a name) anonymously."""
    return f'Parameter "{name}"' if _SAFE_NAME.fullmatch(name) else "A parameter"


_SCALARS = {
    "longValue": _long,
    "doubleValue": _double,
    "booleanValue": _boolean,
    "blobValue": _blob,
}
