"""The 60-second soak in the test line (issue 13, part 5): both lanes under random faults lose,
duplicate and cross nothing, and raise only typed errors. ``nox -s soak -- --minutes N`` runs
the same for longer; the report is written to ``soak-results/``."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest
from soak import soak

SECONDS = float(os.environ.get("TENANTDB_SOAK_SECONDS", "60"))
OUT = Path(__file__).resolve().parent.parent / "soak-results"


@pytest.mark.timeout(SECONDS + 240)
async def test_soak_loses_nothing_under_faults() -> None:
    report = await soak(SECONDS, window=SECONDS / 6, fault_every=max(SECONDS / 15, 2.0))
    OUT.mkdir(exist_ok=True)
    (OUT / "report.md").write_text(report.markdown())
    (OUT / "report.json").write_bytes(msgspec.json.encode(report))
    summary = report.markdown()
    assert (report.lost, report.duplicated, report.cross_tenant) == (0, 0, 0), summary
    assert (report.foreign_reads, report.untyped_errors) == (0, 0), summary
    assert report.acknowledged > 100, summary
    assert sum(report.faults.values()) >= 5, summary
    assert report.rss_growth_mb < 150, summary  # flat: no per-transaction leak
    assert report.max_tenant_connections <= 40, summary  # pools bounded, nothing leaked
    last = report.windows[-1]
    assert last.transactions > 0, summary  # still serving at the end
