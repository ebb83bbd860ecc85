"""Operations on a database rather than tenant requests: migrations, seeding, the RLS audit.

``session`` is the admin SQL session both transports share (asyncpg connection or Data API
with the admin secret); ``migrate/``, ``seed`` and ``audit`` run on it. Users import the
stable paths ``tenantdb.migrate``, ``tenantdb.seed`` and ``tenantdb.audit``.
"""

__all__ = ()
