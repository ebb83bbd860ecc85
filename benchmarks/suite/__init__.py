"""The benchmark suite: one command, one JSON, one report (``nox -s bench`` / ``bench_quick``).

Every figure is a ratio against a baseline measured in the same process and run: tenantdb and
its peers (raw asyncpg, the brief's hand-written RLS pattern, SQLAlchemy 2 async, psycopg 3,
hand-written aioboto3 over the local Data API gateway) run interleaved on one embedded
PostgreSQL with the example schema and ``tenantdb.seed`` data.

Layout: ``config`` (full and quick sizes), ``timing`` (interleaved rounds, medians),
``env`` (servers, seed data, the delay proxy, the gateway process), ``calls`` (the only code
that depends on generated signatures), ``peers`` (the other libraries), one ``s*_`` module per
section, ``goals`` (targets, gates, margins), ``report`` (JSON, Markdown, charts), ``runner``.

Run ``python -m benchmarks.suite [--quick] [--out DIR] [--only SECTION ...]`` from the repository
root with ``PYTHONPATH=generated`` (the nox sessions do this).
"""
