"""Types the golden corpus's overrides name (imported by tests/codegen/golden/corpus)."""

from __future__ import annotations

import decimal

import msgspec

__all__ = ("Attrs", "Dimensions")


class Attrs(msgspec.Struct, frozen=True):
    """The typed shape of ``items.attrs`` (jsonb), decoded straight into this Struct."""

    color: str | None = None
    sizes: list[int] = []


class Dimensions(msgspec.Struct, frozen=True):
    """The composite type ``inventory.dimensions``."""

    w: decimal.Decimal
    h: decimal.Decimal
