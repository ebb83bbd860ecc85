"""The sqlc process plugin: annotated SQL -> typed msgspec/async query modules.

``plugin`` is the entry point sqlc runs (``tenantdb-sqlc-gen``); ``run`` drives sqlc against
an embedded PostgreSQL (``python -m tenantdb.codegen.run [--check]``). See docs/codegen.md.
"""

__all__ = ()
