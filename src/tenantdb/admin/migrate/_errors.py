"""The migration runner's typed error."""

from __future__ import annotations

from tenantdb.errors import ConfigurationError

__all__ = ("MigrationError",)


class MigrationError(ConfigurationError):
    """A migration chain was refused or a migration failed (nothing was half-applied).

    ``path`` names the migration file, ``sqlstate`` the server's error code and ``position``
    the 1-based character offset in the file of the failing token (the server reports one
    for syntax errors) or else of the failing statement.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        sqlstate: str | None = None,
        position: int | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.sqlstate = sqlstate
        self.position = position
