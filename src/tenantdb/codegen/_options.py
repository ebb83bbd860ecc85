"""The plugin's options (``codegen: - options:`` in sqlc.yaml), strictly validated.

Example::

    options:
      package: hospitality
      rename: {ref: reference}                 # column / parameter name -> Python name
      emit_async_querier: true                 # + sqlc-gen-python's AsyncQuerier classes
      query_parameter_limit: 4                 # (its option: a Params Struct above this)
      overrides:
        - db_type: public.money_amount          # every column / parameter of that type
          python_type: decimal.Decimal
        - column: bookings.metadata             # one table column ([schema.]table.column)
          python_type: hospitality_types.BookingMetadata   # jsonb decoded into this type
          nullable: false

An override's ``python_type`` is an annotation; a dotted name is imported from its module
(or name the module in ``import``). json/jsonb values are decoded into it with
msgspec; other values are converted with ``msgspec.convert`` (strict=False).
"""

from __future__ import annotations

import msgspec

__all__ = ("OptionsError", "Override", "PluginOptions", "parse_options")


class OptionsError(ValueError):
    """The plugin options in sqlc.yaml are invalid."""


class Override(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    db_type: str | None = None
    column: str | None = None
    python_type: str | None = None
    import_: str | None = msgspec.field(default=None, name="import")
    nullable: bool | None = None


class PluginOptions(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    package: str = ""
    overrides: list[Override] = []
    rename: dict[str, str] = {}
    emit_async_querier: bool = False
    """Also emit sqlc-gen-python's surface: an ``AsyncQuerier`` class per query module."""
    query_parameter_limit: int = 4
    """sqlc-gen-python's option: AsyncQuerier methods of queries with more parameters take
    one ``<Name>Params`` Struct (0: always)."""


def parse_options(raw: bytes) -> PluginOptions:
    """Decode and check the options; unknown keys are errors (typos must not pass silently)."""
    try:
        opts = msgspec.json.decode(raw or b"{}", type=PluginOptions)
    except msgspec.ValidationError as exc:
        raise OptionsError(f"sqlc.yaml plugin options: {exc}") from None
    if opts.query_parameter_limit < 0:
        raise OptionsError("sqlc.yaml plugin options: query_parameter_limit must be >= 0")
    for i, ov in enumerate(opts.overrides):
        if (ov.db_type is None) == (ov.column is None):
            raise OptionsError(
                f"sqlc.yaml plugin options: overrides[{i}] needs exactly one of db_type, column"
            )
        if ov.python_type is None and ov.nullable is None:
            raise OptionsError(
                f"sqlc.yaml plugin options: overrides[{i}] sets neither python_type nor nullable"
            )
        if ov.db_type is not None and ov.nullable is not None:
            raise OptionsError(
                f"sqlc.yaml plugin options: overrides[{i}]: nullable applies to a column override"
            )
    return opts
