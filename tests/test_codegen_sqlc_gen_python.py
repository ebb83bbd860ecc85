"""sqlc-gen-python's example tests, ported: its SQL (tests/codegen/sqlc_gen_python, from
github.com/sqlc-dev/sqlc-gen-python examples/src) generated with ``emit_async_querier`` and
``query_parameter_limit: 5``, driven through ``AsyncQuerier`` as its tests drive it (same
method names, parameters and Params classes), on the asyncpg and Data API tenant lanes.

Differences from the original tests: the querier wraps a tenantdb executor instead of an
SQLAlchemy connection; ``available`` is an aware datetime (the column is timestamptz).
"""

from __future__ import annotations

import datetime
import importlib
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest

from tenantdb import Database, TenantContext
from tenantdb.codegen.run import run
from tenantdb.local import LocalDatabase, LocalPostgres
from tenantdb.local.dataapi import LocalDataApi

EXAMPLES = Path(__file__).resolve().parent / "codegen" / "sqlc_gen_python"
SHARED = Path(__file__).resolve().parent / "codegen" / "sqlc_examples"
"""authors, jets and ondeck are the same SQL in sqlc's and sqlc-gen-python's examples: one copy
(sqlc_examples/); booktest differs (sqlc-gen-python's ``say_hello`` takes ``$1``)."""
TENANT = TenantContext(tenant_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301")
_MODULES = {
    "authors": ["models", "query"],
    "booktest": ["models", "query"],
    "jets": ["models", "query_building"],
    "ondeck": ["models", "city", "venue"],
}


@pytest.fixture(scope="module")
async def examples(
    local_pg: LocalPostgres, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("sqlc_gen_python")
    shutil.copytree(EXAMPLES, root, dirs_exist_ok=True)
    for shared in ("authors", "jets", "ondeck"):
        shutil.copytree(SHARED / shared, root / shared)
    await run(root / "sqlc.yaml", server_dsn=local_pg.dsn("postgres", "postgres"))
    out = root / "out"
    mypy = await anyio.run_process(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *_MODULES],
        cwd=out, check=False,
    )  # fmt: skip
    for key in [k for k in sys.modules if k.split(".")[0] in _MODULES]:
        del sys.modules[key]  # the other example suites use the same package names
    sys.path.insert(0, str(out))
    try:
        mods = {
            f"{pkg}.{m}": importlib.import_module(f"{pkg}.{m}")
            for pkg, names in _MODULES.items()
            for m in names
        }
    finally:
        sys.path.remove(str(out))
    return {"mods": mods, "mypy": mypy}


def test_examples_pass_mypy_strict(examples: dict[str, Any]) -> None:
    assert examples["mypy"].returncode == 0, (
        examples["mypy"].stdout + examples["mypy"].stderr
    ).decode()


async def _database(db: LocalDatabase, package: str, gateway: LocalDataApi, lane: str) -> Any:
    home = EXAMPLES if package == "booktest" else SHARED
    schema = home / package / ("schema" if package == "ondeck" else "schema.sql")
    files = sorted(schema.glob("*.sql")) if schema.is_dir() else [schema]
    conn = await asyncpg.connect(db.superuser_dsn)
    try:
        for f in files:
            await conn.execute(f.read_text())
        await conn.execute(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO PUBLIC;"
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO PUBLIC;"
        )
    finally:
        await conn.close()
    tenant: Any = db.tenant_dsn if lane == "asyncpg" else gateway.data_api(db.name)
    return Database(admin=db.admin_dsn, tenant=tenant)


@pytest.fixture(params=["asyncpg", "data_api"])
def lane(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _to_list(it: AsyncIterator[Any]) -> list[Any]:
    return [x async for x in it]


async def test_authors(
    examples: dict[str, Any], fresh_db: LocalDatabase, gateway: LocalDataApi, lane: str
) -> None:
    query = examples["mods"]["authors.query"]
    async with await _database(fresh_db, "authors", gateway, lane) as db, db.tenant(TENANT) as tx:
        querier = query.AsyncQuerier(tx)
        async for _ in querier.list_authors():
            raise AssertionError("No authors should exist")
        author_name = "Brian Kernighan"
        author_bio = "Co-author of The C Programming Language and The Go Programming Language"
        new_author = await querier.create_author(name=author_name, bio=author_bio)
        assert new_author.id > 0
        assert new_author.name == author_name
        assert new_author.bio == author_bio
        db_author = await querier.get_author(id=new_author.id)
        assert db_author == new_author
        author_list = await _to_list(querier.list_authors())
        assert len(author_list) == 1
        assert author_list[0] == new_author
        await querier.delete_author(id=new_author.id)
        assert await querier.get_author(id=new_author.id) is None


async def test_booktest(
    examples: dict[str, Any], fresh_db: LocalDatabase, gateway: LocalDataApi, lane: str
) -> None:
    query, models = examples["mods"]["booktest.query"], examples["mods"]["booktest.models"]
    async with await _database(fresh_db, "booktest", gateway, lane) as db, db.tenant(TENANT) as tx:
        querier = query.AsyncQuerier(tx)
        author = await querier.create_author(name="Unknown Master")
        assert author is not None
        now = datetime.datetime.now(datetime.UTC)

        def book(isbn: str, title: str, kind: Any, year: int, tags: list[str]) -> Any:
            return query.CreateBookParams(
                author_id=author.author_id, isbn=isbn, title=title, book_type=kind, year=year,
                available=now, tags=tags,
            )  # fmt: skip

        fiction, nonfiction = models.BookType.FICTION, models.BookType.NONFICTION
        await querier.create_book(book("1", "my book title", fiction, 2016, []))
        b1 = await querier.create_book(
            book("2", "the second book", fiction, 2016, ["cool", "unique"])
        )
        await querier.update_book(
            book_id=b1.book_id, title="changed second title", tags=["cool", "disastor"]
        )
        b3 = await querier.create_book(book("3", "the third book", fiction, 2001, ["cool"]))
        b4 = await querier.create_book(book("4", "4th place finisher", nonfiction, 2011, ["other"]))
        await querier.update_book_isbn(
            book_id=b4.book_id, isbn="NEW ISBN", title="never ever gonna finish, a quatrain",
            tags=["someother"],
        )  # fmt: skip
        expected_titles = {"my book title"}
        async for b in querier.books_by_title_year(title="my book title", year=2016):
            expected_titles.remove(b.title)
            assert len(b.tags) == 0
            got = await querier.get_author(author_id=b.author_id)
            assert got.name == "Unknown Master"
        assert len(expected_titles) == 0
        expected_titles = {"changed second title", "the third book",
                           "never ever gonna finish, a quatrain"}  # fmt: skip
        async for b in querier.books_by_tags(dollar_1=["cool", "other", "someother"]):
            expected_titles.remove(b.title)
        assert len(expected_titles) == 0
        b5 = await querier.get_book(book_id=b3.book_id)
        assert b5 is not None
        await querier.delete_book(book_id=b5.book_id)
        assert await querier.get_book(book_id=b5.book_id) is None


async def test_ondeck(
    examples: dict[str, Any], fresh_db: LocalDatabase, gateway: LocalDataApi, lane: str
) -> None:
    models = examples["mods"]["ondeck.models"]
    city_queries, venue_queries = examples["mods"]["ondeck.city"], examples["mods"]["ondeck.venue"]
    async with await _database(fresh_db, "ondeck", gateway, lane) as db, db.tenant(TENANT) as tx:
        city_querier = city_queries.AsyncQuerier(tx)
        venue_querier = venue_queries.AsyncQuerier(tx)
        city = await city_querier.create_city(slug="san-francisco", name="San Francisco")
        assert city is not None
        venue_id = await venue_querier.create_venue(
            venue_queries.CreateVenueParams(
                slug="the-fillmore", name="The Fillmore", city=city.slug,
                spotify_playlist="spotify:uri", status=models.Status.OPEN,
                statuses=[models.Status.OPEN, models.Status.CLOSED], tags=["rock", "punk"],
            )
        )  # fmt: skip
        assert venue_id is not None
        venue = await venue_querier.get_venue(slug="the-fillmore", city=city.slug)
        assert venue is not None
        assert venue.id == venue_id
        assert city == await city_querier.get_city(slug=city.slug)
        assert [venue_queries.VenueCountByCityRow(city=city.slug, count=1)] == await _to_list(
            venue_querier.venue_count_by_city()
        )
        assert [city] == await _to_list(city_querier.list_cities())
        assert [venue] == await _to_list(venue_querier.list_venues(city=city.slug))
        await city_querier.update_city_name(slug=city.slug, name="SF")
        _id = await venue_querier.update_venue_name(slug=venue.slug, name="Fillmore")
        assert _id == venue_id
        await venue_querier.delete_venue(slug=venue.slug)


async def test_jets(
    examples: dict[str, Any], fresh_db: LocalDatabase, gateway: LocalDataApi, lane: str
) -> None:
    # sqlc-gen-python has no jets test (its query-building.py cannot be imported).
    query = examples["mods"]["jets.query_building"]
    database = await _database(fresh_db, "jets", gateway, lane)
    conn = await asyncpg.connect(fresh_db.superuser_dsn)
    try:
        await conn.execute("INSERT INTO pilots (id, name) VALUES (1, 'Amelia'), (2, 'Bessie')")
    finally:
        await conn.close()
    async with database as db, db.tenant(TENANT) as tx:
        querier = query.AsyncQuerier(tx)
        assert await querier.count_pilots() == 2
        pilots = await _to_list(querier.list_pilots())
        assert [(p.id, p.name) for p in pilots] == [(1, "Amelia"), (2, "Bessie")]
        await querier.delete_pilot(id=1)
        assert await querier.count_pilots() == 1
