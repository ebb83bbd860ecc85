"""What both lanes cut from a server error before anyone prints it (docs/security.md).

A class-22 (data exception) message quotes the rejected input, which is a bound value:
``invalid input syntax for type integer: "<the value>"``. Both lanes replace the quoted part
with ``"<redacted>"``, so the same fault reads the same on asyncpg and on the Data API.
"""

from __future__ import annotations

import re

__all__ = ("REDACTED", "redact_message")

_QUOTED = re.compile(r'".*"', re.DOTALL)
"""From the first to the last double quote of a class-22 message: the rejected input, which
PostgreSQL quotes without escaping, so a value with quotes of its own must not end it early."""
REDACTED = '"<redacted>"'


def redact_message(sqlstate: str, message: str) -> str:
    """``message`` with the rejected input of a data exception (class 22) replaced."""
    if sqlstate.startswith("22"):
        return _QUOTED.sub(REDACTED, message)
    return message
