"""A small PostgreSQL lexer: just enough to find placeholders and statement boundaries.

One scanner serves codegen (``$n`` -> ``:name`` for the Data API), the local Data API gateway
(``:name`` -> ``$n``, multi-statement rejection) and migrations over the Data API (splitting a
file into statements). It respects single-quoted strings (with ``''``), ``E''`` strings (with
backslash escapes), dollar quotes (``$$`` and ``$tag$``), quoted identifiers, ``--`` and nested
``/* */`` comments, and ``::`` casts, so a ``:name`` or ``;`` inside any of them is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Literal, NamedTuple

__all__ = (
    "SqlLexError",
    "Token",
    "named_params",
    "replace_named",
    "replace_positional",
    "split_statements",
    "tokenize",
)

Kind = Literal[
    "space", "comment", "string", "ident", "positional", "named", "cast", "semicolon", "other"
]


class Token(NamedTuple):
    kind: Kind
    text: str
    start: int


class SqlLexError(ValueError):
    """Unterminated string, identifier, dollar quote or comment."""


_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)?\$")
_POSITIONAL = re.compile(r"\$[0-9]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD = re.compile(r"[A-Za-z0-9_\x80-\uffff]+")
_SPACE = re.compile(r"\s+")


def tokenize(sql: str) -> Iterator[Token]:  # noqa: PLR0912, PLR0915 - one flat scanner loop
    """Yield tokens covering ``sql`` exactly (their texts concatenate to the input)."""
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        nxt = sql[i + 1] if i + 1 < n else ""
        if c.isspace():
            end = _SPACE.match(sql, i).end()  # type: ignore[union-attr]  # c is a space
            yield Token("space", sql[i:end], i)
        elif c == "-" and nxt == "-":
            nl = sql.find("\n", i)
            end = n if nl < 0 else nl
            yield Token("comment", sql[i:end], i)
        elif c == "/" and nxt == "*":
            end = _block_comment_end(sql, i)
            yield Token("comment", sql[i:end], i)
        elif c == "'":
            end = _quoted_end(sql, i, "'", backslash=_is_escape_string(sql, i))
            yield Token("string", sql[i:end], i)
        elif c == '"':
            end = _quoted_end(sql, i, '"', backslash=False)
            yield Token("ident", sql[i:end], i)
        elif c == "$":
            m = _POSITIONAL.match(sql, i)
            if m and not _in_word(sql, i):
                end = m.end()
                yield Token("positional", sql[i:end], i)
            elif (tag := _DOLLAR_TAG.match(sql, i)) and not _in_word(sql, i):
                close = sql.find(tag.group(0), tag.end())
                if close < 0:
                    raise SqlLexError(f"unterminated dollar-quoted string at offset {i}")
                end = close + len(tag.group(0))
                yield Token("string", sql[i:end], i)
            else:
                end = i + 1
                yield Token("other", c, i)
        elif c == ":":
            if nxt == ":":
                end = i + 2
                yield Token("cast", "::", i)
            elif (m := _NAME.match(sql, i + 1)) and not (i > 0 and sql[i - 1] == ":"):
                end = m.end()
                yield Token("named", sql[i:end], i)
            else:
                end = i + 1
                yield Token("other", c, i)
        elif c == ";":
            end = i + 1
            yield Token("semicolon", c, i)
        elif (w := _WORD.match(sql, i)) is not None:
            end = w.end()
            yield Token("other", sql[i:end], i)
        else:
            end = i + 1
            yield Token("other", c, i)
        i = end


def split_statements(sql: str) -> list[str]:
    """Split a script on top-level ``;``; drop statements that are only space and comments."""
    out: list[str] = []
    current: list[Token] = []
    for tok in [*tokenize(sql), Token("semicolon", ";", len(sql))]:
        if tok.kind != "semicolon":
            current.append(tok)
            continue
        if any(t.kind not in ("space", "comment") for t in current):
            out.append("".join(t.text for t in current).strip())
        current = []
    return out


def named_params(sql: str) -> list[str]:
    """Names of the ``:name`` placeholders, in order of appearance (repeats included)."""
    return [t.text[1:] for t in tokenize(sql) if t.kind == "named"]


def replace_named(sql: str, replace: Callable[[str], str]) -> str:
    """Rewrite every ``:name`` placeholder with ``replace(name)``."""
    return "".join(replace(t.text[1:]) if t.kind == "named" else t.text for t in tokenize(sql))


def replace_positional(sql: str, replace: Callable[[int], str]) -> str:
    """Rewrite every ``$n`` placeholder with ``replace(n)``."""
    return "".join(
        replace(int(t.text[1:])) if t.kind == "positional" else t.text for t in tokenize(sql)
    )


def _in_word(sql: str, i: int) -> bool:
    # `a$1` or `x$tag$` is part of an identifier, not a placeholder or a dollar quote.
    return i > 0 and (sql[i - 1].isalnum() or sql[i - 1] in "_$")


def _is_escape_string(sql: str, i: int) -> bool:
    return (
        i > 0 and sql[i - 1] in "eE" and not (i > 1 and (sql[i - 2].isalnum() or sql[i - 2] == "_"))
    )


def _quoted_end(sql: str, i: int, quote: str, *, backslash: bool) -> int:
    j, n = i + 1, len(sql)
    while j < n:
        ch = sql[j]
        if backslash and ch == "\\":
            j += 2
            continue
        if ch == quote:
            if j + 1 < n and sql[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    what = "identifier" if quote == '"' else "string"
    raise SqlLexError(f"unterminated quoted {what} at offset {i}")


def _block_comment_end(sql: str, i: int) -> int:
    depth, j, n = 0, i, len(sql)
    while j < n:
        if sql.startswith("/*", j):
            depth += 1
            j += 2
        elif sql.startswith("*/", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j
        else:
            j += 1
    raise SqlLexError(f"unterminated block comment at offset {i}")
