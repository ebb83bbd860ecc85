"""``tenantdb.seed``: the stable public path (implementation: ``tenantdb.admin.seed``)."""

from tenantdb.admin.seed import (
    SeedError,
    SeedSummary,
    add_arguments,
    run,
    seed,
    seed_files,
)

__all__ = (
    "SeedError",
    "SeedSummary",
    "add_arguments",
    "run",
    "seed",
    "seed_files",
)
