"""``python -m benchmarks.suite [--quick] [--out DIR] [--only SECTION ...] [--charts]``.

Starts the servers, runs each section, evaluates the goals and writes ``results.json``,
``report.md`` and the charts to ``--out`` (``bench-results/`` by default; ``bench-results/
quick/`` for ``--quick``). The quick run is the CI gate: a gated ratio that misses its gate is
measured again once, with fresh rounds (its whole section re-runs), and the run fails only if
it misses again, so load noise does not block a landing while a real regression fails twice.
Exit status: 0, or 1 when the gate failed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from . import (
    goals,
    report,
    s1_transaction,
    s2_concurrency,
    s3_decode,
    s4_bulk,
    s5_dataapi,
    s6_flatness,
    s7_coldstart,
    s8_observe,
    s9_admin,
)
from .config import FULL, QUICK, Config
from .env import ROOT, Env, configure_logging, machine_facts, started
from .progress import Progress

SECTIONS: dict[str, tuple[ModuleType, Callable[[Config], int], bool]] = {
    # name: (module, progress steps, runs in the quick gate)
    "transaction": (s1_transaction, lambda c: c.tx_epochs + c.proxy_epochs + 1, True),
    "concurrency": (s2_concurrency, lambda c: len(c.levels), True),
    "decode": (s3_decode, lambda c: 2, True),
    "bulk": (s4_bulk, lambda c: 2, True),
    "dataapi": (s5_dataapi, lambda c: 2, True),
    "flatness": (s6_flatness, lambda c: len(c.flat_sizes), False),
    "coldstart": (s7_coldstart, lambda c: 1 if c.quick else 2, True),
    "observe": (s8_observe, lambda c: 1, True),
    "admin": (s9_admin, lambda c: 2, False),
}


async def _run_sections(
    env: Env, names: list[str], progress: Progress, timings: dict[str, float]
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in names:
        # Move everything alive (peer libraries, pools, seed data) to the permanent generation:
        # a full collection then walks only what the variants allocate. Without this, one gen-2
        # collection of the harness's ~160k objects costs 60-80 ms on this machine and lands
        # in whichever variant crossed the threshold (a 2.8x "decode" outlier in a quick run).
        gc.collect()
        gc.freeze()
        module = SECTIONS[name][0]
        run: Callable[[Env, Progress], Awaitable[dict[str, Any]]] = module.run
        progress.section(name)
        start = time.perf_counter()
        results[name] = await run(env, progress)
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start
    return results


async def suite(cfg: Config, names: list[str], out_dir: Path, *, charts: bool) -> int:
    configure_logging()
    started_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    facts = machine_facts()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    steps = sum(SECTIONS[n][1](cfg) for n in names)
    remeasured: dict[str, Any] = {}
    with Progress(steps) as progress:
        async with started(cfg) as env:
            results = await _run_sections(env, names, progress, timings)
            evaluated = goals.evaluate(results, quick=cfg.quick)
            if cfg.quick:
                missed = [e for e in evaluated if e["gate_pass"] is False]
                again = sorted({e["section"] for e in missed})
                if again:
                    print(
                        "[bench] missed the gate, measuring again once: "
                        + ", ".join(f"{e['key']}={e['value']}" for e in missed),
                        file=sys.stderr,
                    )
                    fresh = await _run_sections(env, again, progress, timings)
                    second = {e["key"]: e for e in goals.evaluate({**results, **fresh}, quick=True)}
                    for i, e in enumerate(evaluated):
                        if e["gate_pass"] is False:
                            new = second[e["key"]]
                            new["attempts"] = 2
                            new["first_value"] = e["value"]
                            evaluated[i] = new
                    remeasured = fresh
    facts["loadavg_before"] = facts.pop("loadavg")
    facts["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    doc = {
        "quick": cfg.quick,
        "started": started_at,
        "seconds": time.perf_counter() - t0,
        "section_seconds": timings,
        "machine": facts,
        "postgres": env.server_version,
        "config": dict(vars(cfg).items()),
        "goals": evaluated,
        "results": results,
        "remeasured": remeasured,
    }
    json_path, md_path = report.write(out_dir, doc, charts=charts)
    print(md_path.read_text())
    gated = [e for e in evaluated if e["gated"]]
    failed = [e for e in gated if e["gate_pass"] is False]
    print(f"results: {json_path}  report: {md_path}")
    if cfg.quick:
        print(
            f"gated: {', '.join(e['key'] for e in gated)}; reported only: "
            + ", ".join(e["key"] for e in evaluated if not e["gated"])
        )
        if failed:
            print("BENCH GATE FAILED (missed twice): " + ", ".join(e["key"] for e in failed))
        else:
            print(f"bench gate passed: {len(gated)} gated figures within their thresholds")
        print(f"bench_quick: {len(gated) - len(failed)} passed, {len(failed)} failed")
        return 1 if failed else 0
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="tenantdb benchmark suite")
    parser.add_argument("--quick", action="store_true", help="the CI gate: seconds, not minutes")
    parser.add_argument("--out", type=Path, default=None, help="output directory")
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), default=None)
    parser.add_argument(
        "--charts",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="draw PNG charts (default: on for the full run, off for --quick)",
    )
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    names = args.only or [n for n, (_, _, quick) in SECTIONS.items() if quick or not cfg.quick]
    out = args.out or ROOT / "bench-results" / ("quick" if cfg.quick else "")
    charts = args.charts if args.charts is not None else not cfg.quick
    return asyncio.run(suite(cfg, names, out, charts=charts))
