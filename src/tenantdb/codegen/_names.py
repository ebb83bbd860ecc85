"""Python names from SQL names: identifiers, Struct and enum member names, constants, modules.

Function names follow sqlc-gen-python's snake-casing of sqlc query names (``ListHTTPRequests``
-> ``list_http_requests``) and enum members its sanitising of labels (``op!en`` -> ``OPEN``),
so code ported from it keeps its names. Every name a user's SQL decides is a valid identifier
that cannot shadow what generated modules use: Python keywords and the few builtins and
imported names generated code refers to get a trailing underscore (``in`` -> ``in_``,
``list`` -> ``list_``); modules are imported under ``_``-prefixed aliases, a prefix no
user-derived name can carry.
"""

from __future__ import annotations

import keyword
import re

__all__ = (
    "RESERVED",
    "class_name",
    "const_name",
    "enum_members",
    "ident",
    "module_name",
    "safe",
    "singular",
    "snake",
)

_NON_WORD = re.compile(r"[^0-9A-Za-z]+")
_FIRST_CAP = re.compile(r"(.)([A-Z][a-z]+)")
_ALL_CAP = re.compile(r"([a-z0-9])([A-Z])")
_ENUM_SEPARATORS = re.compile(r"[-:/]")
_ENUM_DROP = re.compile(r"[^A-Za-z0-9_]+")

RESERVED = frozenset(
    {
        # builtins generated code names in annotations and bodies
        "all", "bool", "bytes", "dict", "float", "int", "list", "object", "str",
        # names generated modules import unaliased (CamelCase) or define
        "Any", "AsyncIterator", "AsyncQuerier", "Column", "Command", "ExecResult", "Executor",
        "JsonValue", "Param", "Query", "Sequence",
    }
)  # fmt: skip
"""Names a user-derived identifier must not take (it gets a trailing underscore)."""


def snake(name: str) -> str:
    """sqlc-gen-python's ``methodName``: ``GetBooking`` -> ``get_booking``,
    ``DeleteBarByIDAndName`` -> ``delete_bar_by_id_and_name``,
    ``ListHTTPRequests`` -> ``list_http_requests``."""
    return _ALL_CAP.sub(r"\1_\2", _FIRST_CAP.sub(r"\1_\2", name)).lower()


def safe(name: str) -> str:
    """``name`` unless it is a keyword or reserved, then ``name_``."""
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in RESERVED:
        return name + "_"
    return name


def const_name(name: str) -> str:
    return ident(snake(name)).rstrip("_").upper() or "QUERY"


def ident(name: str) -> str:
    """A usable Python identifier: non-word runs become ``_``, never a leading ``_`` (that
    prefix is the generator's), keywords and reserved names get a trailing underscore."""
    out = _NON_WORD.sub("_", name).strip("_") or "value"
    if out[0].isdigit():
        out = "n" + out
    return safe(out)


def class_name(*parts: str) -> str:
    """``("other", "mood")`` -> ``OtherMood``; ``booking_status`` -> ``BookingStatus``."""
    words = [w for p in parts for w in _NON_WORD.split(p) if w]
    out = "".join(w[:1].upper() + w[1:] for w in words) or "Value"
    if out[0].isdigit():
        out = "T" + out
    return safe(out)


def module_name(filename: str) -> str:
    """A query file's module: ``query-building.sql`` -> ``query_building``,
    ``postgresql.query.sql`` -> ``postgresql_query``; ``models`` and keywords are escaped."""
    stem = filename.rsplit("/", 1)[-1].removesuffix(".sql")
    out = ident(stem.lower())
    return "models_" if out == "models" else out


def singular(word: str) -> str:
    """The small inflection sqlc applies to table names (``bookings`` -> ``booking``)."""
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("uses", "us"), ("xes", "x")):
        if word.endswith(suffix):
            return word[: -len(suffix)] + repl
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def enum_members(labels: list[str]) -> list[str]:
    """Unique UPPER_SNAKE member names as sqlc-gen-python spells them (``-``, ``:``, ``/``
    become ``_``, anything else that is not a word character is dropped: ``op!en`` -> ``OPEN``,
    ``Under Repair`` -> ``UNDERREPAIR``); a leading digit
    gets ``V_`` (``24h`` -> ``V_24H``), an empty result ``VALUE_<i>``, a collision ``_2``."""
    seen: set[str] = set()
    out = []
    for i, label in enumerate(labels):
        base = _ENUM_DROP.sub("", _ENUM_SEPARATORS.sub("_", label)).upper().strip("_")
        base = base or f"VALUE_{i}"
        if base[0].isdigit():
            base = "V_" + base
        name, n = base, 2
        while name in seen:
            name, n = f"{base}_{n}", n + 1
        seen.add(name)
        out.append(name)
    return out
