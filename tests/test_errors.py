"""The error hierarchy: generated SQLSTATE classes, messages, retry flags, pickling."""

from __future__ import annotations

import pickle
import runpy
from pathlib import Path

import pytest

from tenantdb import errors
from tenantdb.errors import (
    CheckViolation,
    ContextError,
    DataException,
    DeadlockDetected,
    ExclusionViolation,
    ForeignKeyViolation,
    InsufficientPrivilege,
    IntegrityConstraintViolation,
    InvalidTextRepresentation,
    NotNullViolation,
    QueryCanceled,
    QueryError,
    RestrictViolation,
    ResultTooLargeError,
    SerializationFailure,
    StatementTimeoutError,
    SyntaxErrorOrAccessRuleViolation,
    TenantDBError,
    ThrottledError,
    TransactionExpiredError,
    TransactionRollback,
    TransportError,
    UndefinedColumn,
    UndefinedTable,
    UniqueViolation,
    UnsupportedQueryError,
    error_for_sqlstate,
    sqlstate_class,
)

ROOT = Path(__file__).resolve().parent.parent


def test_committed_sqlstates_module_matches_the_generator() -> None:
    generator = runpy.run_path(str(ROOT / "scripts" / "gen_sqlstates.py"))
    committed = (ROOT / "src" / "tenantdb" / "_sqlstates.py").read_text(encoding="utf-8")
    assert committed == generator["generate"](), "run scripts/gen_sqlstates.py"


@pytest.mark.parametrize(
    ("code", "cls", "parent"),
    [
        ("23505", UniqueViolation, IntegrityConstraintViolation),
        ("23503", ForeignKeyViolation, IntegrityConstraintViolation),
        ("23514", CheckViolation, IntegrityConstraintViolation),
        ("23502", NotNullViolation, IntegrityConstraintViolation),
        ("23P01", ExclusionViolation, IntegrityConstraintViolation),
        ("23001", RestrictViolation, IntegrityConstraintViolation),
        ("42501", InsufficientPrivilege, SyntaxErrorOrAccessRuleViolation),
        ("42P01", UndefinedTable, SyntaxErrorOrAccessRuleViolation),
        ("42703", UndefinedColumn, SyntaxErrorOrAccessRuleViolation),
        ("40001", SerializationFailure, TransactionRollback),
        ("40P01", DeadlockDetected, TransactionRollback),
        ("22P02", InvalidTextRepresentation, DataException),
    ],
)
def test_each_sqlstate_maps_to_its_generated_class(
    code: str, cls: type[QueryError], parent: type[QueryError]
) -> None:
    assert sqlstate_class(code) is cls
    assert issubclass(cls, parent)
    assert issubclass(parent, QueryError)
    err = error_for_sqlstate(code, "boom", query="Q")
    assert type(err) is cls
    assert err.sqlstate == code


def test_unknown_subclass_code_falls_back_to_its_class_level_class() -> None:
    err = error_for_sqlstate("23ZZZ", "future violation")
    assert type(err) is IntegrityConstraintViolation
    assert err.sqlstate == "23ZZZ"
    assert not err.retryable


def test_codes_missing_from_this_postgresql_keep_their_retry_flag() -> None:
    err = error_for_sqlstate("72000", "snapshot too old")  # PostgreSQL <= 16 (Aurora 15)
    assert type(err) is QueryError
    assert err.retryable


def test_unknown_class_falls_back_to_query_error() -> None:
    err = error_for_sqlstate("ZZ123", "strange")
    assert type(err) is QueryError
    assert err.sqlstate == "ZZ123"


def test_every_generated_class_is_public_and_under_query_error() -> None:
    from tenantdb._sqlstates import SQLSTATE_CLASSES

    assert len(SQLSTATE_CLASSES) > 200
    for code, cls in SQLSTATE_CLASSES.items():
        assert cls.sqlstate == code
        assert issubclass(cls, QueryError)
        assert cls.__name__ in errors.__all__
        assert getattr(errors, cls.__name__) is cls
        assert cls.__module__ == "tenantdb.errors"


def test_builtin_names_are_not_shadowed() -> None:
    assert sqlstate_class("42601").__name__ == "PostgresSyntaxError"
    assert errors.__dict__.get("SyntaxError") is None


@pytest.mark.parametrize("code", ["40001", "40P01", "55P03", "57P01"])
def test_transient_server_errors_are_retryable(code: str) -> None:
    assert error_for_sqlstate(code, "x").retryable


@pytest.mark.parametrize("code", ["23505", "42501", "57014", "22P02", "40003", "25P03"])
def test_permanent_or_outcome_unknown_errors_are_not_retryable(code: str) -> None:
    assert not error_for_sqlstate(code, "x").retryable


def test_message_names_query_and_sqlstate() -> None:
    err = error_for_sqlstate(
        "23505",
        'duplicate key value violates unique constraint "x"',
        query="ListBookings",
        detail="Key (id)=(1) already exists.",
        hint=None,
    )
    assert str(err) == (
        '[ListBookings] duplicate key value violates unique constraint "x" (SQLSTATE 23505)'
    )
    assert err.detail == "Key (id)=(1) already exists."
    assert "Key (id)" not in str(err)


def test_errors_survive_pickling() -> None:
    samples: list[TenantDBError] = [
        error_for_sqlstate("40001", "could not serialize", query="Q", hint="retry"),
        ContextError("invalid tenant_id", variable="tenant_id"),
        UnsupportedQueryError("interval unsupported", query="Q", column="span"),
        ThrottledError("slow down", query="Q"),
        StatementTimeoutError("timed out", query="Q", retryable=True),
    ]
    for err in samples:
        back = pickle.loads(pickle.dumps(err))  # noqa: S301  (our own bytes)
        assert type(back) is type(err)
        assert str(back) == str(err)
        assert back.__dict__ == err.__dict__
        assert back.retryable == err.retryable


def test_context_error_is_a_value_error_naming_the_variable() -> None:
    err = ContextError("bad", variable="app.role")
    assert isinstance(err, ValueError)
    assert isinstance(err, TenantDBError)
    assert err.variable == "app.role"


def test_transport_errors_default_retryable_except_lost_work() -> None:
    assert ThrottledError("x").retryable
    assert issubclass(ThrottledError, TransportError)
    assert TransactionExpiredError("x").retryable  # nothing of it committed
    assert not StatementTimeoutError("x").retryable  # outside a block: a write may have run
    assert not ResultTooLargeError("too big", query="ListBookings").retryable
    assert str(ResultTooLargeError("too big", query="ListBookings")) == "[ListBookings] too big"


def test_unsupported_query_names_query_and_column() -> None:
    err = UnsupportedQueryError("interval columns are unsupported", query="Q", column="span")
    assert not err.retryable
    assert err.column == "span"
    assert str(err).startswith("[Q] ")


def test_query_canceled_is_generated() -> None:
    assert sqlstate_class("57014") is QueryCanceled
