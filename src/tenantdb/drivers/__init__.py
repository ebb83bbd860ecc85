"""Transports behind one contract (see ``drivers/base.py``); private to tenantdb."""

__all__ = ()
