"""Local stand-ins for development and tests: embedded PostgreSQL (and the Data API gateway)."""

from tenantdb.local.dataapi import LocalDataApi
from tenantdb.local.postgres import LocalDatabase, LocalPostgres, Roles
from tenantdb.local.standby import LocalStandby

__all__ = ("LocalDataApi", "LocalDatabase", "LocalPostgres", "LocalStandby", "Roles")
