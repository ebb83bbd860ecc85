"""Interleaved timing shared by the benchmarks: warm-up, alternating order, medians."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

__all__ = ("interleaved_medians",)


async def interleaved_medians(
    variants: dict[str, Callable[[], Awaitable[None]]], rounds: int
) -> dict[str, float]:
    """Median seconds per variant over ``rounds`` rounds, after one warm-up call each.

    The order flips every round so neither variant always runs on a cache the other warmed.
    """
    for fn in variants.values():
        await fn()
    order = list(variants.items())
    times: dict[str, list[float]] = {name: [] for name in variants}
    for i in range(rounds):
        for name, fn in order if i % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            await fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}
