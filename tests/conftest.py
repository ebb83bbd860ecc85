"""Test configuration: fixture plugins live in ``tests/fix_*.py`` (psycopg style).

Every async test runs on asyncio through anyio's pytest plugin (``anyio_mode = "auto"``), in
one session-wide event loop, so session fixtures (the embedded PostgreSQL, pools, the gateway)
are shared.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = (
    *sorted(p.stem for p in Path(__file__).parent.glob("fix_*.py")),
    "pytester",  # tests/test_testing_plugin.py: the user-facing plugin, in pytester projects
)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"
