"""Section 7: cold start, each sample a fresh interpreter (``_cold_child.py``).

* import cost: ``import asyncpg`` (the asyncpg lane's transport) vs ``import tenantdb`` plus the
  generated module; ``import asyncpg, aioboto3`` vs the same plus the Data API lane
* first tenant query: import + connect + one RLS transaction with ``get_booking``, tenantdb vs
  the same by hand with the transport (asyncpg; aioboto3 over the local gateway)
* the asyncpg lane must never import botocore (checked after its first query)

Modes run interleaved, ``cold_rounds`` times each; figures are medians (ms).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from .env import ROOT, Env, gateway_process
from .progress import Progress

CHILD = Path(__file__).with_name("_cold_child.py")


async def _child(mode: str, *args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "generated"), str(ROOT)])}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        mode,
        *args,
        stdout=asyncio.subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"cold-start child {mode} failed ({proc.returncode})")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def _rounds(modes: dict[str, tuple[str, ...]], rounds: int) -> dict[str, Any]:
    samples: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    names = list(modes)
    for r in range(rounds):
        shift = r % len(names)
        for mode in names[shift:] + names[:shift]:
            samples[mode].append(await _child(mode, *modes[mode]))
    out: dict[str, Any] = {}
    for mode, runs in samples.items():
        out[mode] = {
            "import_ms": statistics.median(s["import_s"] for s in runs) * 1e3,
            "botocore": any(s["botocore"] for s in runs),
        }
        if runs[0]["first_s"] is not None:
            out[mode]["first_ms"] = statistics.median(s["first_s"] for s in runs) * 1e3
    return out


async def run(env: Env, progress: Progress) -> dict[str, Any]:
    cfg = env.cfg
    q = (env.pg.tenant_dsn, env.tenant, str(env.booking_id))
    modes: dict[str, tuple[str, ...]] = {
        "asyncpg": (),
        "tenantdb": (),
        "asyncpg_first": q,
        "tenantdb_first": q,
    }
    lanes = await _rounds(modes, cfg.cold_rounds)
    progress.advance()
    result: dict[str, Any] = {
        "asyncpg": lanes,
        "tenantdb_import_over_asyncpg_ms": lanes["tenantdb"]["import_ms"]
        - lanes["asyncpg"]["import_ms"],
        "first_query_tenantdb_over_asyncpg": lanes["tenantdb_first"]["first_ms"]
        / lanes["asyncpg_first"]["first_ms"],
        "asyncpg_lane_imports_botocore": lanes["tenantdb_first"]["botocore"],
    }
    if not cfg.quick:
        async with gateway_process(env.pg) as gw:
            d = (gw.endpoint_url, gw.resource_arn, gw.tenant_secret_arn, gw.database)
            d += (env.tenant, str(env.booking_id))
            api = await _rounds(
                {
                    "transports_dataapi": (),
                    "tenantdb_dataapi": (),
                    "aioboto3_first": d,
                    "tenantdb_dataapi_first": d,
                },
                cfg.cold_rounds,
            )
        result["dataapi"] = api
        result["tenantdb_dataapi_import_over_transports_ms"] = (
            api["tenantdb_dataapi"]["import_ms"] - api["transports_dataapi"]["import_ms"]
        )
        result["first_query_tenantdb_over_aioboto3"] = (
            api["tenantdb_dataapi_first"]["first_ms"] / api["aioboto3_first"]["first_ms"]
        )
        progress.advance()
    return result
