"""The request edge: the pure-ASGI middleware and JWT verification that build contexts."""

__all__ = ()
