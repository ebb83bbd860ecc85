"""Progress on the long runs: a rich bar on a terminal, one plain line per section otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any


class Progress:
    """``with Progress(total) as p: p.section(name); p.advance()``."""

    def __init__(self, total_steps: int, *, enabled: bool | None = None) -> None:
        self._tty = sys.stderr.isatty() if enabled is None else enabled
        self._total = total_steps
        self._bar: Any = None
        self._task: Any = None
        self._t0 = time.perf_counter()
        self._section_t0 = self._t0
        self._section = ""

    def __enter__(self) -> Progress:
        if self._tty:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as Bar

            self._bar = Bar(
                TextColumn("[bold]bench[/] {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("starting", total=self._total)
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish_section()
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def section(self, name: str) -> None:
        self._finish_section()
        self._section = name
        self._section_t0 = time.perf_counter()
        if self._bar is not None:
            self._bar.update(self._task, description=name)

    def advance(self, steps: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, steps)

    def _finish_section(self) -> None:
        if self._section and self._bar is None:
            took = time.perf_counter() - self._section_t0
            print(f"[bench] {self._section}: {took:.1f} s", file=sys.stderr, flush=True)
        self._section = ""
