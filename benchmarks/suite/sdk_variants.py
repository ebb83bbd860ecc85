"""SDK ideas measured as variants, without changing ``src/``: the tenant BEGIN script.

``begin_script(name)`` swaps the function the asyncpg lane builds its BEGIN message with, for
the duration of a ``with`` block (and clears the lane's cached plans on entry and exit), so one
process can interleave the shipped SDK with a candidate change round by round:

* ``shipped``    ``BEGIN;RESET ALL;RESET ROLE;DISCARD TEMP;SELECT set_config(…, true), …``
* ``no_reset``   without the session reset (the behaviour before the security review)
* ``set_local``  the same reset, then ``SET LOCAL name = 'value'`` utility statements instead of
                 one planned ``SELECT set_config(…)`` (the ids are validated literals already)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from tenantdb.drivers.asyncpg import lane as asyncpg_lane
from tenantdb.drivers.asyncpg import sql as asyncpg_sql

SHIPPED = asyncpg_sql.begin_script


def _no_reset(**kw: Any) -> str:
    return SHIPPED(**{**kw, "clear_session": False})


def _set_local(**kw: Any) -> str:
    script = SHIPPED(**{**kw, "statement_timeout": None, "literal": []})
    sets = []
    if kw.get("statement_timeout") is not None:
        sets.append(f"SET LOCAL statement_timeout = {max(1, int(kw['statement_timeout'] * 1000))}")
    sets += [
        f"SET LOCAL {name} = {asyncpg_sql.quote_literal(value)}" for name, value in kw["literal"]
    ]
    return ";".join([script, *sets])


SCRIPTS = {"shipped": SHIPPED, "no_reset": _no_reset, "set_local": _set_local}


@contextlib.contextmanager
def begin_script(name: str) -> Iterator[None]:
    asyncpg_lane.sql.begin_script = SCRIPTS[name]  # type: ignore[attr-defined]
    asyncpg_lane._begin_plan.cache_clear()
    try:
        yield
    finally:
        asyncpg_lane.sql.begin_script = SHIPPED  # type: ignore[attr-defined]
        asyncpg_lane._begin_plan.cache_clear()
