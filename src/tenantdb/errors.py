"""One exception hierarchy for every driver (grown by the runtime issue)."""

from __future__ import annotations

__all__ = ("ConfigurationError", "TenantDBError")


class TenantDBError(Exception):
    """Root of every error tenantdb raises."""

    retryable: bool = False


class ConfigurationError(TenantDBError):
    """The SDK or a local stand-in was configured or used wrongly."""
