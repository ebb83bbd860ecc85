"""TenantContext validation: one canonical spelling, rejected before any SQL exists."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tenantdb.context import (
    TENANT_SETTING,
    USER_SETTING,
    SlugId,
    TenantContext,
    bind_context,
    context_from_headers,
    current_context,
    current_context_or_none,
    slug_id,
    uuid_id,
)
from tenantdb.errors import ConfigurationError, ContextError

TENANT = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
OTHER = "9b2e6f1c-1d2a-4c3b-8e4f-5a6b7c8d9e0f"
USER = "0d9c8b7a-6f5e-4d3c-8b2a-19f8e7d6c5b4"
FULLWIDTH = {ord("0") + i: 0xFF10 + i for i in range(10)}  # ASCII digit -> full-width digit


def test_canonical_uuid_is_accepted_and_settings_come_in_fixed_order() -> None:
    ctx = TenantContext(tenant_id=TENANT, user_id=USER, variables=(("app.role", "staff"),))
    assert ctx.settings() == (
        (TENANT_SETTING, TENANT),
        (USER_SETTING, USER),
        ("app.role", "staff"),
    )


def test_missing_user_is_sent_as_empty_string() -> None:
    assert TenantContext(tenant_id=TENANT).settings() == (
        (TENANT_SETTING, TENANT),
        (USER_SETTING, ""),
    )


@pytest.mark.parametrize(
    "bad",
    [
        TENANT.upper(),
        "{" + TENANT + "}",
        "urn:uuid:" + TENANT,
        TENANT.replace("-", ""),
        " " + TENANT,
        TENANT + "\n",
        TENANT[:8] + " " + TENANT[9:],
        TENANT.translate(FULLWIDTH),
        TENANT[:-1] + "\x00",
        "00000000-0000-0000-0000-000000000000",
        TENANT + "0",
        TENANT[:-1],
        "",
        f"{TENANT}'; SET app.current_tenant_id = '{OTHER}",
    ],
)
def test_non_canonical_tenant_ids_are_rejected(bad: str) -> None:
    with pytest.raises(ContextError) as info:
        TenantContext(tenant_id=bad)
    assert info.value.variable == "tenant_id"


@pytest.mark.parametrize("bad", [None, 42, TENANT.encode(), [TENANT]])
def test_non_str_tenant_ids_are_rejected(bad: object) -> None:
    with pytest.raises(ContextError, match="tenant_id"):
        TenantContext(tenant_id=bad)  # type: ignore[arg-type]


def test_invalid_user_id_names_user_id() -> None:
    with pytest.raises(ContextError) as info:
        TenantContext(tenant_id=TENANT, user_id="")
    assert info.value.variable == "user_id"


def test_error_message_quotes_only_a_short_prefix_of_the_value() -> None:
    payload = "x" * 5000 + "SECRET-TAIL"
    with pytest.raises(ContextError) as info:
        TenantContext(tenant_id=payload)
    assert "SECRET-TAIL" not in str(info.value)
    assert len(str(info.value)) < 200


def test_create_accepts_uuid_objects_and_sorts_mapping_variables() -> None:
    ctx = TenantContext.create(uuid.UUID(TENANT), uuid.UUID(USER), {"app.b": "2", "app.a": "1"})
    assert ctx == TenantContext(
        tenant_id=TENANT, user_id=USER, variables=(("app.a", "1"), ("app.b", "2"))
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (TENANT_SETTING, OTHER),
        (USER_SETTING, USER),
        ("role", "x"),
        ("app.Role", "x"),
        ("app.role;drop", "x"),
        ("app." + "a" * 64, "x"),
        ("app.role", "nul\x00"),
        ("app.role", "x" * 1025),
    ],
)
def test_bad_extra_variables_are_rejected(name: str, value: str) -> None:
    with pytest.raises(ContextError):
        TenantContext.create(TENANT, variables={name: value})


def test_non_str_variable_value_names_the_variable() -> None:
    with pytest.raises(ContextError) as info:
        TenantContext(tenant_id=TENANT, variables=(("app.role", 3),))  # type: ignore[arg-type]
    assert info.value.variable == "app.role"


def test_duplicate_variables_are_rejected() -> None:
    with pytest.raises(ContextError, match="twice"):
        TenantContext(tenant_id=TENANT, variables=(("app.a", "1"), ("app.a", "2")))


def test_slug_validator_for_text_tenant_ids() -> None:
    ctx = TenantContext(tenant_id="acme-hotels", user_id="frontdesk", validator=slug_id)
    assert ctx.settings()[0] == (TENANT_SETTING, "acme-hotels")
    for bad in ["Acme", "acme_", "-acme", "acme-", "a" * 64, "\u0430cme", "admin", "acme\n"]:
        with pytest.raises(ContextError):
            TenantContext(tenant_id=bad, validator=slug_id)
    with pytest.raises(ContextError):
        TenantContext(tenant_id="acme", validator=SlugId(reserved=frozenset({"acme"})))


def test_uuid_context_is_refused_by_default_validator_check() -> None:
    slug_ctx = TenantContext(tenant_id="acme", validator=slug_id)
    slug_ctx.ensure_validator(slug_id)
    with pytest.raises(ContextError):
        slug_ctx.ensure_validator(uuid_id)


def test_contexts_are_hashable_values() -> None:
    assert hash(TenantContext(tenant_id=TENANT)) == hash(TenantContext(tenant_id=TENANT))
    assert "validator" not in repr(TenantContext(tenant_id=TENANT))


def test_current_context_is_bound_for_a_block_only() -> None:
    assert current_context_or_none() is None
    with pytest.raises(ContextError):
        current_context()
    ctx = TenantContext(tenant_id=TENANT)
    with bind_context(ctx):
        assert current_context() is ctx
    assert current_context_or_none() is None


def test_headers_need_explicit_proxy_trust() -> None:
    with pytest.raises(ConfigurationError):
        context_from_headers({"x-tenant-id": TENANT}, trust_proxy_headers=False)
    ctx = context_from_headers(
        [(b"X-Tenant-Id", TENANT.encode()), (b"x-user-id", USER.encode())],
        trust_proxy_headers=True,
    )
    assert ctx == TenantContext(tenant_id=TENANT, user_id=USER)


def test_missing_or_duplicated_tenant_header_is_rejected() -> None:
    with pytest.raises(ContextError, match="missing"):
        context_from_headers({}, trust_proxy_headers=True)
    with pytest.raises(ContextError, match="more than once"):
        context_from_headers(
            [(b"x-tenant-id", TENANT.encode()), (b"x-tenant-id", OTHER.encode())],
            trust_proxy_headers=True,
        )


# --- properties (RLS.md §4.3): mutate valid ids; random text rarely hits the edges ---------

_META = ["'", "''", '"', ";", "--", "/*", "\\", "$1", "%s", "\n", "\x00", " ", "\u00a0", "\u200b"]


@st.composite
def mutated_uuid(draw: st.DrawFn) -> str:
    """A canonical UUID with one realistic edit applied (never canonical afterwards)."""
    text = str(draw(st.uuids()))
    edits = [
        lambda s: s.upper(),
        lambda s: s.replace("-", ""),
        lambda s: "{" + s + "}",
        lambda s: "urn:uuid:" + s,
        lambda s: s[:-1],
        lambda s: s + draw(st.sampled_from("0af-")),
        lambda s: draw(st.sampled_from([" ", "_", "\t"])) + s.replace("-", "")[1:],
        lambda s: s.translate(FULLWIDTH),
        lambda s: s[:9] + "-" + s[9:],
        lambda s: s + draw(st.sampled_from(_META)),
        lambda s: draw(st.sampled_from(_META)) + s,
        lambda s: f"{s}'; SET app.current_tenant_id = '{draw(st.uuids())}",
    ]
    mutated: str = draw(st.sampled_from(edits))(text)
    if mutated == text:  # upper() leaves an all-digit UUID unchanged: force a change
        mutated += " "
    return mutated


@given(mutated_uuid())
@example("e\uff13e70682-c209-4cac-629f-6fbed82c07cd")
@example(" e3e70682c2094cac629f6fbed82c07c")
def test_mutated_uuids_are_rejected(value: str) -> None:
    with pytest.raises(ContextError):
        TenantContext(tenant_id=value)


@given(st.uuids())
def test_canonical_uuids_are_accepted_verbatim(value: uuid.UUID) -> None:
    if value.int == 0:
        return
    assert TenantContext(tenant_id=str(value)).tenant_id == str(value)


@given(st.text())
def test_arbitrary_text_is_accepted_only_if_canonical(value: str) -> None:
    try:
        ctx = TenantContext(tenant_id=value)
    except ContextError:
        return
    assert value.isascii()
    assert str(uuid.UUID(value)) == value == ctx.tenant_id


@given(st.one_of(st.none(), st.integers(), st.floats(), st.binary(), st.lists(st.text())))
def test_non_str_objects_are_rejected(value: object) -> None:
    with pytest.raises(ContextError):
        TenantContext(tenant_id=value)  # type: ignore[arg-type]


@given(st.uuids().filter(lambda u: u.int != 0))
def test_uuid_objects_are_stored_as_their_canonical_string(value: uuid.UUID) -> None:
    """A uuid.UUID is unambiguous (issue 12): accepted for both ids, stored canonical."""
    ctx = TenantContext(tenant_id=value, user_id=value)  # type: ignore[arg-type]
    assert ctx.tenant_id == ctx.user_id == str(value)
    assert ctx == TenantContext(tenant_id=str(value), user_id=str(value))


def test_the_nil_uuid_object_is_still_refused() -> None:
    with pytest.raises(ContextError, match="tenant_id"):
        TenantContext(tenant_id=uuid.UUID(int=0))  # type: ignore[arg-type]


def test_replace_cannot_smuggle_an_invalid_id() -> None:
    import msgspec

    ctx = TenantContext(tenant_id=TENANT)
    with pytest.raises(ContextError):
        msgspec.structs.replace(ctx, tenant_id=TENANT.upper())


@given(st.text(max_size=80))
def test_slug_validator_accepts_only_short_ascii_labels(value: str) -> None:
    try:
        TenantContext(tenant_id=value, validator=slug_id)
    except ContextError:
        return
    assert value.isascii()
    assert 1 <= len(value) <= 63
    assert value == value.lower().strip("-")
    assert value not in slug_id.reserved
