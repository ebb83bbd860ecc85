"""Local stand-ins for development and tests: embedded PostgreSQL (and the Data API gateway)."""

from tenantdb.local.dataapi import LocalDataApi
from tenantdb.local.postgres import LocalDatabase, LocalPostgres, Roles

__all__ = ("LocalDataApi", "LocalDatabase", "LocalPostgres", "Roles")
