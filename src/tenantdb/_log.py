"""The ``tenantdb`` logger: silent until the application configures logging.

structlog's default configuration prints every level to stdout, so a library that logs
through it prints a debug line per query into a service that configured nothing. This logger
sends events to structlog only once the application has called ``structlog.configure``
(``structlog.is_configured()``); until then they go to the standard library logger
``tenantdb``, which has a ``NullHandler`` like any library logger: nothing prints, and an
application that configured ``logging`` (not structlog) gets the events at the levels it
chose. See docs/observability.md.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

__all__ = ("TenantdbLogger", "tenantdb_logger")

logging.getLogger("tenantdb").addHandler(logging.NullHandler())


class TenantdbLogger:
    """``debug``/``info``/``warning``/``error`` with structlog's call shape (event, **fields)."""

    __slots__ = ("_proxy", "_stdlib")

    def __init__(self, name: str = "tenantdb") -> None:
        self._proxy = structlog.get_logger(name)
        self._stdlib = logging.getLogger(name)

    def _emit(self, level: int, method: str, event: str, fields: dict[str, Any]) -> None:
        if structlog.is_configured():
            getattr(self._proxy, method)(event, **fields)
        elif self._stdlib.isEnabledFor(level):
            text = " ".join(f"{k}={v!r}" for k, v in fields.items())
            self._stdlib.log(level, "%s %s", event, text, extra={"tenantdb": fields})

    def debug(self, event: str, **fields: Any) -> None:
        self._emit(logging.DEBUG, "debug", event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._emit(logging.INFO, "info", event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._emit(logging.WARNING, "warning", event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._emit(logging.ERROR, "error", event, fields)


def tenantdb_logger(name: str = "tenantdb") -> TenantdbLogger:
    """The logger tenantdb's own modules use."""
    return TenantdbLogger(name)
