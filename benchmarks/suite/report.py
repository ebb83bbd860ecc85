"""The outputs of a run: one JSON with every figure, a Markdown report, PNG charts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import goals as g


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return [*out, ""]


def goals_table(evaluated: list[dict[str, Any]], *, gating: bool) -> list[str]:
    rows = []
    for e in evaluated:
        goal = g.BY_KEY[e["key"]]
        met = {True: "met", False: "**not met**", None: "n/a"}[e["met"]]
        if not e["gated"]:
            gate = "reported"
        else:
            verdict = {True: "pass", False: "**FAIL**", None: "n/a"}[e["gate_pass"]]
            gate = (
                f"gated at {g.fmt_target(goal, e['gate'])}: {verdict}"
                if gating
                else (f"gated at {g.fmt_target(goal, e['gate'])}")
            )
            if e.get("attempts", 1) > 1:
                gate += f" (re-measured; first {g.fmt(goal, e['first_value'])})"
        rows.append(
            [e["title"], g.fmt(goal, e["value"]), g.fmt_target(goal, e["target"]), met, gate]
        )
    return _table(["goal", "figure", "target", "goal", "CI gate"], rows)


def _us(v: float) -> str:
    return f"{v:,.0f}"


def section_tables(r: dict[str, Any]) -> list[str]:  # noqa: PLR0912, PLR0915 - a table per section
    out: list[str] = []
    if t := r.get("transaction"):
        out += ["### 1. Tenant transaction with one :one query (single task)", ""]
        lo, px = t["loopback_us"], t["proxy_us"]
        rows = [
            [n, _us(lo[n]), f"{lo[n] / lo['sdk']:.2f}x", _us(px[n]), f"{px[n] / px['sdk']:.2f}x"]
            for n in lo
        ]
        out += _table(["variant", "loopback µs", "vs sdk", "delay proxy µs", "vs sdk"], rows)
        out += [f"Delay proxy: one measured round trip = {t['proxy_round_trip_us']:,.0f} µs.", ""]
        cpu = t["client_cpu_us"]
        out += [
            "Client CPU per transaction (loopback, µs): "
            + ", ".join(f"{k} {_us(v)}" for k, v in cpu.items()),
            "",
        ]
        if b := t.get("batch"):
            out += [
                f"`tenant_batch` of 5 queries: {_us(b['us']['batch5'])} µs vs 5 transactions "
                f"{_us(b['us']['five_tx'])} µs ({b['five_tx_over_batch5']:.2f}x).",
                "",
            ]
        if s := t.get("begin_script"):
            out += ["The SDK with candidate BEGIN scripts (1-connection pool, same rounds):", ""]
            out += _table(
                ["BEGIN script", "µs", "vs shipped", "client CPU µs"],
                [
                    [k, _us(v), f"{v / s['us']['shipped']:.3f}x", _us(s["client_cpu_us"][k])]
                    for k, v in s["us"].items()
                ],
            )
        if w := t.get("wire"):
            out += ["Wire-level ideas (raw asyncpg on one connection, same run):", ""]
            out += _table(
                ["shape", "µs", "vs SDK's shape", "client CPU µs"],
                [
                    [k, _us(v), f"{v / w['us']['sdk_shape']:.2f}x", _us(w["client_cpu_us"][k])]
                    for k, v in w["us"].items()
                ],
            )
    if c := r.get("concurrency"):
        out += [f"### 2. Throughput under concurrency ({c['pool_size']}-connection pool)", ""]
        rows = []
        for level, d in c["levels"].items():
            s, raw, hand, sl = d["sdk"], d["raw_tx"], d["handwritten"], d["sdk_set_local"]
            rows.append(
                [
                    level,
                    f"{s['rps']:,.0f}",
                    f"{raw['rps']:,.0f}",
                    f"{d['sdk_rps_over_raw_tx']:.2f}x",
                    f"{hand['rps']:,.0f}",
                    f"{sl['rps']:,.0f}",
                    f"{s['p50_ms']:.2f} / {s['p99_ms']:.2f}",
                    f"{raw['p50_ms']:.2f} / {raw['p99_ms']:.2f}",
                ]
            )
        out += _table(
            [
                "tasks",
                "tenantdb req/s",
                "plain tx req/s",
                "tenantdb / plain",
                "hand-written RLS req/s",
                "tenantdb SET LOCAL req/s",
                "tenantdb p50/p99 ms",
                "plain tx p50/p99 ms",
            ],
            rows,
        )
    if d := r.get("decode"):
        out += [f"### 3. Decode: {d['rows']:,} rows x 8 columns", ""]
        ms = d["ms_per_call"]
        rows = [[k, f"{v:.3f}", f"{v / ms['raw_fetch']:.2f}x"] for k, v in ms.items()]
        out += _table(["variant", "ms per call", "vs raw_fetch"], rows)
        m = d["memory"]
        out += _table(
            ["memory (tracemalloc peak)", "bytes", "ratio"],
            [
                [
                    f":many of {m['rows']:,} rows (Structs)",
                    f"{m['many_peak_bytes']:,}",
                    f"{m['many_over_raw']:.2f}x raw",
                ],
                [f"raw fetch of {m['rows']:,} rows (Records)", f"{m['raw_peak_bytes']:,}", "1.00x"],
                [
                    f"iter_* streaming {m['rows']:,} rows",
                    f"{m['stream_peak_bytes']:,}",
                    f"{m['stream_over_many']:.3f}x :many",
                ],
                [
                    f"iter_* streaming {max(m['rows'] // 10, 1):,} rows",
                    f"{m['stream_tenth_peak_bytes']:,}",
                    f"10x rows -> {m['stream_growth_10x_rows']:.2f}x peak",
                ],
            ],
        )
    if bulk := r.get("bulk"):
        out += ["### 4. Bulk insert", ""]
        rows = []
        for target, b in bulk.items():
            rps = b["rows_per_s"]
            rows += [
                [
                    target.replace("_", " "),
                    k,
                    f"{b['rows'][k]:,}",
                    f"{v:,.0f}",
                    f"{v / rps['raw_copy']:.2f}x",
                ]
                for k, v in rps.items()
            ]
        out += _table(["table", "variant", "rows", "rows/s", "vs raw_copy"], rows)
    if a := r.get("dataapi"):
        out += ["### 5. Data API lane (local gateway in its own process)", ""]
        ms = a["ms_per_request"]
        rows = [[k, f"{v:.2f}"] for k, v in ms.items()]
        out += _table(["variant", "ms per request"], rows)
        cpt = ", ".join(f"N={n}: {v}" for n, v in a["calls_per_transaction"].items())
        out += [f"HTTP calls per transaction: {cpt}.", ""]
    if f := r.get("flatness"):
        out += ["### 6. Per-tenant cost as other tenants grow (shared buffers)", ""]
        rows = [
            [
                f"{int(size):,}",
                str(e["count"]["buffers"]),
                str(e["latest50"]["buffers"]),
                str(not (e["count"]["seq_scan"] or e["latest50"]["seq_scan"])),
            ]
            for size, e in f["explain"].items()
        ]
        out += _table(
            ["other-tenant rows", "count(*) buffers", "latest 50 buffers", "no Seq Scan"], rows
        )
    if cs := r.get("coldstart"):
        out += ["### 7. Cold start (fresh interpreter; ms from the first line)", ""]
        rows = []
        for lane in ("asyncpg", "dataapi"):
            for mode, v in cs.get(lane, {}).items():
                first = f"{v['first_ms']:.0f}" if "first_ms" in v else ""
                rows.append([mode, f"{v['import_ms']:.0f}", first, str(v["botocore"])])
        out += _table(["mode", "imports ms", "first query ms", "botocore loaded"], rows)
    if o := r.get("observe"):
        out += ["### 8. Metrics + logging overhead", ""]
        out += [
            f"With metrics {_us(o['us']['with_metrics'])} µs vs without "
            f"{_us(o['us']['without_metrics'])} µs per transaction (end to end "
            f"{o['end_to_end_ratio']:.3f}x); the observability calls of one transaction cost "
            f"{o['record_calls_us_per_tx']:.2f} µs = {o['overhead_share'] * 100:.2f} % of it.",
            "",
        ]
    if ad := r.get("admin"):
        m, s = ad["migrations"], ad["seeding"]
        out += ["### 9. Migrations and seeding", ""]
        out += _table(
            ["what", "tenantdb", "raw", "ratio"],
            [
                [
                    f"migrations down+up ({m['files']} files), s",
                    f"{m['down_up_s']['runner']:.3f}",
                    f"{m['down_up_s']['raw']:.3f}",
                    f"{m['runner_over_raw']:.2f}x",
                ],
                [
                    f"seed {s['rows']:,} rows, rows/s",
                    f"{s['rows_per_s']['seed']:,.0f}",
                    f"{s['rows_per_s']['raw_copy']:,.0f}",
                    f"{s['seed_over_raw_copy']:.2f}x",
                ],
            ],
        )
    return out


def markdown(doc: dict[str, Any], charts: list[str]) -> str:
    m = doc["machine"]
    mode = "quick (CI gate)" if doc["quick"] else "full"
    lines = [
        f"# tenantdb benchmark report ({mode})",
        "",
        f"{doc['started']}; {m['cpu_count']} CPUs ({m['platform']}), Python {m['python']}, "
        f"PostgreSQL {doc['postgres']}; load average {m['loadavg_before']} before, "
        f"{m['loadavg_after']} after; {doc['seconds']:.0f} s.",
        "Every ratio is against a baseline measured in the same process and run.",
        "",
        "## Goals",
        "",
        *goals_table(doc["goals"], gating=doc["quick"]),
        "## Sections",
        "",
        *section_tables(doc["results"]),
    ]
    if charts:
        lines += ["## Charts", ""]
        lines += [f"![{Path(c).stem}]({Path(c).name})" for c in charts] + [""]
    return "\n".join(lines)


def write(out_dir: Path, doc: dict[str, Any], *, charts: bool) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    images = draw(out_dir, doc["results"]) if charts else []
    doc["charts"] = [Path(p).name for p in images]
    json_path = out_dir / "results.json"
    json_path.write_text(json.dumps(doc, indent=2, default=str))
    md_path = out_dir / "report.md"
    md_path.write_text(markdown(doc, images))
    return json_path, md_path


def draw(out_dir: Path, r: dict[str, Any]) -> list[str]:  # noqa: PLR0915 - a chart per section
    """PNG charts (matplotlib, the ``bench`` extra): the figures people look at first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths: list[str] = []

    def save(fig: Any, name: str) -> None:
        path = out_dir / name
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(str(path))

    if t := r.get("transaction"):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for ax, key, label in (
            (axes[0], "loopback_us", "loopback"),
            (axes[1], "proxy_us", "delay proxy"),
        ):
            data = t[key]
            names = list(data)
            bars = ax.barh(
                names,
                [data[n] for n in names],
                color=["#2a7ae2" if n == "sdk" else "#999999" for n in names],
            )
            ax.bar_label(bars, labels=[f"{data[n] / data['sdk']:.2f}x" for n in names], padding=3)
            ax.invert_yaxis()
            ax.set_xlabel("µs per transaction (lower is better)")
            ax.set_title(f"One tenant transaction, {label}")
        save(fig, "peers.png")
    if c := r.get("concurrency"):
        levels = [int(k) for k in c["levels"]]
        fig, ax = plt.subplots(figsize=(6.5, 4))
        for name, label in (
            ("sdk", "tenantdb"),
            ("raw_tx", "asyncpg plain tx (no isolation)"),
            ("handwritten", "hand-written RLS pattern"),
            ("sdk_set_local", "tenantdb, SET LOCAL BEGIN (idea)"),
        ):
            ax.plot(
                levels, [c["levels"][str(k)][name]["rps"] for k in levels], marker="o", label=label
            )
        ax.set_xscale("log", base=2)
        ax.set_xticks(levels, [str(k) for k in levels])
        ax.set_xlabel("concurrent tasks (10-connection pool)")
        ax.set_ylabel("requests/s")
        ax.set_ylim(bottom=0)
        ax.set_title("Throughput vs concurrency")
        ax.legend()
        save(fig, "throughput_vs_concurrency.png")
        fig, ax = plt.subplots(figsize=(6.5, 4))
        for name, label, color in (
            ("sdk", "tenantdb", "#2a7ae2"),
            ("raw_tx", "plain tx", "#999999"),
        ):
            for q, style in (("p50_ms", "-"), ("p99_ms", "--")):
                ax.plot(
                    levels,
                    [c["levels"][str(k)][name][q] for k in levels],
                    style,
                    marker="o",
                    color=color,
                    label=f"{label} {q[:3]}",
                )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(levels, [str(k) for k in levels])
        ax.set_xlabel("concurrent tasks (10-connection pool)")
        ax.set_ylabel("latency, ms (log)")
        ax.set_title("Latency percentiles vs concurrency")
        ax.legend()
        save(fig, "latency_percentiles.png")
    if d := r.get("decode"):
        ms = d["ms_per_call"]
        names = [n for n in ms if not n.endswith("_decode")]
        fig, ax = plt.subplots(figsize=(6.5, 3.6))
        bars = ax.barh(
            names,
            [ms[n] / ms["raw_fetch"] for n in names],
            color=["#2a7ae2" if n == "generated" else "#999999" for n in names],
        )
        ax.bar_label(bars, fmt="%.2fx", padding=3)
        ax.axvline(1.3, color="#d62728", linestyle="--", label="goal 1.3x")
        ax.invert_yaxis()
        ax.set_xlabel(f"time / raw fetch ({d['rows']:,} rows x 8 columns)")
        ax.set_title("Decode cost over a raw fetch")
        ax.set_xlim(0, max(ms[n] / ms["raw_fetch"] for n in names) * 1.25)
        ax.legend(loc="upper right")
        save(fig, "decode_ratios.png")
    if f := r.get("flatness"):
        sizes = list(f["explain"])
        fig, ax = plt.subplots(figsize=(6.5, 3.6))
        width = 0.35
        xs = range(len(sizes))
        for i, q in enumerate(("count", "latest50")):
            ax.bar(
                [x + i * width for x in xs],
                [f["explain"][s][q]["buffers"] for s in sizes],
                width,
                label=q,
            )
        ax.set_xticks([x + width / 2 for x in xs], [f"{int(s):,}" for s in sizes])
        ax.set_xlabel("other tenants' rows")
        ax.set_ylabel("shared buffers (1,000-row tenant)")
        ax.set_title("Per-tenant cost stays flat")
        ax.legend()
        save(fig, "flatness.png")
    return paths
