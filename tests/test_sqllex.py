"""The shared SQL lexer finds placeholders and statement ends only where PostgreSQL would."""

from __future__ import annotations

import pytest

from tenantdb._sqllex import (
    SqlLexError,
    named_params,
    replace_named,
    replace_positional,
    split_statements,
    tokenize,
)

TRICKY = """
SELECT $1::text, ':no' AS a, E'it\\'s :no;' AS b, $$ :no; $$ AS c, $tag$ $1 ; $tag$ AS d,
       "col:no;" AS e, -- :no; comment
       /* outer /* nested :no; */ still */ x::int, :yes, arr[1:2], f(a := 1), $2
"""


def test_tokens_cover_the_input_exactly() -> None:
    assert "".join(t.text for t in tokenize(TRICKY)) == TRICKY


def test_named_params_skip_strings_comments_casts_and_identifiers() -> None:
    assert named_params(TRICKY) == ["yes"]
    assert named_params("SELECT :a, :b::uuid, :a") == ["a", "b", "a"]


def test_replace_positional_rewrites_only_placeholders() -> None:
    out = replace_positional(TRICKY, lambda n: f":p{n}")
    assert out.count(":p1") == 1
    assert out.count(":p2") == 1
    assert "$tag$ $1 ; $tag$" in out


def test_replace_named_round_trips() -> None:
    assert replace_named("SELECT :a + :b, ':a'", lambda name: "$" + str(ord(name) - 96)) == (
        "SELECT $1 + $2, ':a'"
    )


def test_split_statements_respects_quotes_and_drops_empty_ones() -> None:
    script = """
    CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;
    -- only a comment;
    INSERT INTO t VALUES ('a;b'); ;
    /* trailing */
    """
    assert split_statements(script) == [
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$",
        "-- only a comment;\n    INSERT INTO t VALUES ('a;b')",
    ]


def test_identifier_with_dollar_is_not_a_placeholder() -> None:
    assert replace_positional("SELECT a$1 FROM t WHERE x = $1", lambda n: "?") == (
        "SELECT a$1 FROM t WHERE x = ?"
    )


@pytest.mark.parametrize("bad", ["SELECT 'x", 'SELECT "x', "SELECT $$x", "SELECT /* x"])
def test_unterminated_input_raises(bad: str) -> None:
    with pytest.raises(SqlLexError):
        list(tokenize(bad))
