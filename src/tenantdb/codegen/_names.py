"""Python names from SQL names: identifiers, Struct and enum member names, constants."""

from __future__ import annotations

import keyword
import re

__all__ = ("class_name", "const_name", "enum_members", "ident", "singular", "snake")

_NON_WORD = re.compile(r"[^0-9A-Za-z]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake(name: str) -> str:
    """``GetBooking`` -> ``get_booking``."""
    return _CAMEL.sub("_", name).lower()


def const_name(name: str) -> str:
    return snake(name).upper()


def ident(name: str) -> str:
    """A usable Python identifier (keywords get a trailing underscore)."""
    out = _NON_WORD.sub("_", name).strip("_") or "value"
    if out[0].isdigit():
        out = "n" + out
    if keyword.iskeyword(out) or keyword.issoftkeyword(out):
        out += "_"
    return out


def class_name(*parts: str) -> str:
    """``("other", "mood")`` -> ``OtherMood``; ``booking_status`` -> ``BookingStatus``."""
    words = [w for p in parts for w in _NON_WORD.split(p) if w]
    return "".join(w[:1].upper() + w[1:] for w in words) or "Value"


def singular(word: str) -> str:
    """The small inflection sqlc applies to table names (``bookings`` -> ``booking``)."""
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("uses", "us"), ("xes", "x")):
        if word.endswith(suffix):
            return word[: -len(suffix)] + repl
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def enum_members(labels: list[str]) -> list[str]:
    """Sanitised, unique UPPER_SNAKE member names: ``op!en`` -> ``OP_EN``, ``24h`` -> ``V_24H``."""
    seen: set[str] = set()
    out = []
    for i, label in enumerate(labels):
        base = _NON_WORD.sub("_", label).strip("_").upper() or f"VALUE_{i}"
        if base[0].isdigit():
            base = "V_" + base
        name, n = base, 2
        while name in seen:
            name, n = f"{base}_{n}", n + 1
        seen.add(name)
        out.append(name)
    return out
