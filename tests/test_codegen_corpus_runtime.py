"""The golden corpus's generated code runs: every mapped PostgreSQL type comes back as its
declared Python type through AsyncpgExecutor, overrides included (jsonb into a Struct, a
composite through msgspec.convert), enum arrays, N-D arrays, LEFT JOIN embeds."""

from __future__ import annotations

import decimal
import importlib
import ipaddress
import sys
import typing
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import pytest
from fix_codegen import assert_declared_types

from tenantdb.drivers.asyncpg.executor import AsyncpgExecutor
from tenantdb.errors import UnsupportedQueryError
from tenantdb.local import LocalDatabase

CORPUS = Path(__file__).resolve().parent / "codegen"


@pytest.fixture(scope="module")
def corpus() -> dict[str, ModuleType]:
    for path in (CORPUS, CORPUS / "golden"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    return {m: importlib.import_module(f"corpus.{m}") for m in ("models", "items", "stock")}


@pytest.fixture
async def conn(fresh_db: LocalDatabase) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(fresh_db.superuser_dsn)
    for up in sorted((CORPUS / "schema").glob("*.up.sql")):
        await c.execute(up.read_text())
    yield c
    await c.close()


_ROW = """
INSERT INTO items (label, short_label, code, email, born, opens, opens_tz, seen, span, blob,
                   doc, attrs, extra, addr, net, search, cost, mac, tags, grid, moods, mood,
                   size, regular, big, real_n, double_n, price)
VALUES ('full', 'short', 'abc', 'A@b.c', '2026-01-02', '08:00', '08:00+02', '2026-01-02 03:04:05',
        '1 day 02:00', '\\x00ff', '{"k": [1]}', '{"color": "red", "sizes": [1, 2]}', '{"k": "v"}',
        '10.0.0.1/8', '10.0.0.0/8', 'a b', 12.5, '08:00:2b:01:02:03', '{x,"y z"}',
        '{{1,2},{3,4}}', '{op!en,24h}', 'under-repair', ROW(1.5, 2), 1, 2, 1.5, 2.5, 9.99)
RETURNING id
"""


async def test_every_corpus_type_comes_back_as_declared(
    conn: asyncpg.Connection, corpus: dict[str, ModuleType]
) -> None:
    items, stock, models = corpus["items"], corpus["stock"], corpus["models"]
    ex = AsyncpgExecutor(conn)
    full = await conn.fetchval(_ROW)
    bare = await conn.fetchval("INSERT INTO items (label) VALUES ('bare') RETURNING id")
    rows: list[Any] = [await items.get_item(ex, id=full), await items.get_item(ex, id=bare)]
    for row in rows:
        assert_declared_types(row)
    f = rows[0]
    assert f.mood is models.Mood.UNDER_REPAIR and f.moods == [models.Mood.OPEN, models.Mood.V_24H]
    assert f.attrs == sys.modules["corpus_types"].Attrs(color="red", sizes=[1, 2])
    assert f.size == sys.modules["corpus_types"].Dimensions(
        decimal.Decimal("1.5"), decimal.Decimal(2)
    )
    assert f.grid == [[1, 2], [3, 4]] and f.blob == b"\x00\xff"
    assert f.addr == ipaddress.ip_interface("10.0.0.1/8") and f.cost == "$12.50"
    assert rows[1].attrs == sys.modules["corpus_types"].Attrs()
    await stock.insert_stock(
        ex, item_id=full, sku="S-1", quantity=3, grade=models.InventoryGrade.A, note="n"
    )
    embedded = await stock.stock_with_item(ex)
    for row in embedded:
        assert_declared_types(row)
    assert [(r.item.id, r.inventory_stock is None, r.qty) for r in embedded] == [
        (full, False, 3),
        (bare, True, None),
    ]
    found = await stock.find_stock(
        ex, item_id=full, sku="S-1", min_q=1, max_q=5, grade=models.InventoryGrade.A,
        note="n", a=0, b=0, c=0,
    )  # fmt: skip
    assert [(r.item_id, r.quantity) for r in found] == [(full, 3)]
    moods = [models.Mood.UNDER_REPAIR]
    assert [r.id for r in await items.items_by_ids(ex, ids=[full, bare], moods=moods)] == [full]
    reused = await items.reused_and_out_of_order(ex, short_label="abc", label="full")
    assert reused == [full]  # one column: the values themselves
    totals = await items.totals(ex)
    assert totals is not None and totals.highest == decimal.Decimal("9.99")
    assert_declared_types(totals)
    await items.set_moods(ex, [items.SetMoodsParams(mood=models.Mood.LATER, id=bare)])
    (by_mood,) = await items.items_by_mood(ex, [items.ItemsByMoodParams(mood=models.Mood.LATER)])
    assert [r.id for r in by_mood] == [bare] and by_mood[0].mood is models.Mood.LATER
    copied = await items.copy_items(
        ex,
        [items.CopyItemsParams(label="c", price=decimal.Decimal(1), mood=models.Mood.CLASS,
                               attrs=sys.modules["corpus_types"].Attrs(color="blue"), tags=[])],
    )  # fmt: skip
    assert copied == 1
    paths = await items.json_paths(ex, id=full)
    assert paths is not None and paths.color == "red" and paths.k == "v" and paths.doc == {"k": [1]}
    assert (await items.delete_item(ex, id=bare)).rows_affected == 1


async def test_expressions_over_no_rows_are_none_where_declared_nullable(
    conn: asyncpg.Connection, corpus: dict[str, ModuleType]
) -> None:
    # sqlc reports every expression NOT NULL; sum()/min() of no rows are NULL, so a computed
    # column is nullable unless its alias says `!` (here "highest!": the user's promise).
    totals = await corpus["items"].totals(AsyncpgExecutor(conn))
    assert totals is not None
    assert (totals.n, totals.lowest, totals.total) == (0, None, None)
    hints = {k: v for k, v in typing.get_type_hints(type(totals)).items() if k != "highest"}
    for name, annotation in hints.items():
        assert_declared_types(getattr(totals, name), annotation, f"$.{name}")


async def test_an_outer_join_embed_without_the_directive_is_a_clear_error(
    conn: asyncpg.Connection, corpus: dict[str, ModuleType]
) -> None:
    stock, models = corpus["stock"], corpus["models"]
    ex = AsyncpgExecutor(conn)
    stocked = await conn.fetchval("INSERT INTO items (label) VALUES ('stocked') RETURNING id")
    await stock.insert_stock(
        ex, item_id=stocked, sku="S-1", quantity=1, grade=models.InventoryGrade.B, note="n"
    )
    (row,) = await stock.stock_with_item_unmarked(ex)
    assert_declared_types(row)
    await conn.execute("INSERT INTO items (label) VALUES ('unstocked')")
    with pytest.raises(UnsupportedQueryError) as info:
        await stock.stock_with_item_unmarked(ex)
    assert "add `-- @nullable-embed inventory_stock`" in str(info.value)
    assert (info.value.query, info.value.column) == ("StockWithItemUnmarked", "inventory_stock")
