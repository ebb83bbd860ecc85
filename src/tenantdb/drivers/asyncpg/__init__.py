"""The asyncpg transport: lane (pool, RLS transactions), executor, SQL shapes, error mapping."""

__all__ = ()
