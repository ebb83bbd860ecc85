"""``tenantdb.audit``: the stable public path (implementation: ``tenantdb.admin.audit``)."""

from tenantdb.admin.audit import (
    Finding,
    add_arguments,
    audit,
    run,
)

__all__ = (
    "Finding",
    "add_arguments",
    "audit",
    "run",
)
