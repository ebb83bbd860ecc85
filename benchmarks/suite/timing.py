"""Interleaved timing: warm-up, rotated order every round, medians of per-round means.

The machine is shared (2 cores, other test suites): a variant must never always run on a cache
another warmed, nor always in the same phase of someone else's load burst. So every round runs
each variant a few times in a rotated order, and the figure is the median over rounds.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

Variant = Callable[[], Awaitable[object]]


async def per_op(fn: Variant, ops: int) -> float:
    """Mean seconds per call over ``ops`` sequential calls."""
    start = time.perf_counter()
    for _ in range(ops):
        await fn()
    return (time.perf_counter() - start) / ops


async def interleaved(
    variants: dict[str, Variant],
    *,
    rounds: int,
    ops: int,
    warmup: int | None = None,
    cpu: dict[str, list[float]] | None = None,
) -> dict[str, list[float]]:
    """Seconds per call of each variant, one sample per round (rotated order, warmed up).

    With ``cpu``, this process's CPU seconds per call (``time.process_time``) are appended to
    it too: the client's own work, which unlike wall time does not include waiting for the
    server, so it barely depends on which CPU a connection's backend happens to share.
    """
    names = list(variants)
    for fn in variants.values():
        await per_op(fn, warmup if warmup is not None else max(ops // 4, 3))
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            c0 = time.process_time()
            samples[name].append(await per_op(variants[name], ops))
            if cpu is not None:
                cpu.setdefault(name, []).append((time.process_time() - c0) / ops)
    return samples


def medians(samples: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in samples.items()}


def quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile of ``values`` (q in [0, 1])."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
    return ordered[index]


def spread(values: list[float]) -> float:
    """(max - min) / median of the samples: how noisy a figure was within the run."""
    mid = statistics.median(values)
    return (max(values) - min(values)) / mid if mid else 0.0
