"""Local stand-ins for development and tests: embedded PostgreSQL (and the Data API gateway)."""

from tenantdb.local.postgres import LocalDatabase, LocalPostgres, Roles

__all__ = ("LocalDatabase", "LocalPostgres", "Roles")
