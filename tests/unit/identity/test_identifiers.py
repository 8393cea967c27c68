import pytest

from patron.identity.identifiers import (
    IdentifierType,
    normalise,
    normalise_email,
    normalise_loyalty_card,
    normalise_phone,
    scope_of,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(" Anna.Smith@Example.COM ", "anna.smith@example.com", id="case-and-spaces"),
        pytest.param("anna@example.co.uk", "anna@example.co.uk", id="plain"),
        pytest.param("anna", None, id="no-at"),
        pytest.param("anna@", None, id="no-domain"),
        pytest.param("anna@@example.com", None, id="two-ats"),
        pytest.param("", None, id="empty"),
        pytest.param("a" * 400 + "@example.com", None, id="too-long"),
    ],
)
def test_emails_are_trimmed_lower_cased_and_validated(raw: str, expected: str | None) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        pytest.param("07400 123456", "GB", "+447400123456", id="national"),
        pytest.param("(07400) 123456", "GB", "+447400123456", id="brackets"),
        pytest.param("+44 (0)7400 123456", None, "+447400123456", id="international-with-0"),
        pytest.param("0044 7400 123456", None, "+447400123456", id="double-zero"),
        pytest.param("+44 7400 123456", "DE", "+447400123456", id="region-ignored-for-plus"),
        pytest.param("030 1234567", "DE", "+49301234567", id="other-region"),
        pytest.param("07400 123456", None, None, id="national-without-region"),
        pytest.param("12", "GB", None, id="too-short"),
        pytest.param("call me", "GB", None, id="words"),
    ],
)
def test_phones_become_e164_read_in_the_sources_region(
    raw: str, region: str | None, expected: str | None
) -> None:
    assert normalise_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("6337 0012 3456 7890", "6337001234567890"),
        ("6337-0012-3456", "633700123456"),
        ("ab12 cd34", "AB12CD34"),
        ("12", None),
        ("card #1!", None),
    ],
)
def test_loyalty_cards_lose_separators_and_case(raw: str, expected: str | None) -> None:
    assert normalise_loyalty_card(raw) == expected


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        pytest.param("user_id", " u-42 ", "u-42", id="user-id-trimmed"),
        pytest.param("user_id", 42, "42", id="number"),
        pytest.param("user_id", True, None, id="boolean"),
        pytest.param("anonymous_id", {"a": 1}, None, id="object"),
        pytest.param("anonymous_id", "   ", None, id="blank"),
        pytest.param("device_id", "ABC-DEF", "abc-def", id="device-lower"),
        pytest.param("push_token", "Tok:EN", "Tok:EN", id="token-kept"),
        pytest.param("email", 7, None, id="email-number"),
        pytest.param("email", ["a@b.example"], None, id="email-list"),
        pytest.param("phone", "+447400123456", "+447400123456", id="phone"),
        pytest.param("custom:member", " M-1 ", "M-1", id="custom"),
    ],
)
def test_normalise_accepts_any_json_value_without_raising(
    kind: str, raw: object, expected: str | None
) -> None:
    assert normalise(kind, raw, region="GB") == expected


def test_source_scoped_types_take_the_source_id_as_scope() -> None:
    assert scope_of(IdentifierType.USER_ID, 7) == 7
    assert scope_of(IdentifierType.ANONYMOUS_ID, 7) == 7
    assert scope_of(IdentifierType.RECORD, 7) == 7
    assert scope_of(IdentifierType.EMAIL, 7) == 0
    assert scope_of("custom:member", 7) == 0
    assert scope_of("custom:member", 7, per_source=True) == 7
