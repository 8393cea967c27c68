import pytest

from patron.identity.rules import IdentityRules, RulesError, parse_rules


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("user_id", "null"),
        ("user_id", "UNDEFINED"),
        ("anonymous_id", "anonymous"),
        ("loyalty_card", "0"),
        ("user_id", "-1"),
        ("email", "test@test.com"),
        ("email", "noemail@shop.co.uk"),
        ("email", "anyone@example.com"),
        ("phone", "+447777777777"),
        ("loyalty_card", "0000000"),
    ],
)
def test_default_rules_block_placeholder_values(kind: str, value: str) -> None:
    assert IdentityRules().is_blocked(kind, value)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("email", "anna@shop.co.uk"),
        ("phone", "+447400123456"),
        ("user_id", "u-0"),
        ("loyalty_card", "6337001"),
    ],
)
def test_default_rules_keep_real_values(kind: str, value: str) -> None:
    assert not IdentityRules().is_blocked(kind, value)


def test_priority_puts_user_id_first_and_unlisted_types_last() -> None:
    rules = IdentityRules()

    ranks = [
        rules.rank(kind)
        for kind in (
            "user_id",
            "loyalty_card",
            "email",
            "phone",
            "push_token",
            "device_id",
            "anonymous_id",
        )
    ]

    assert ranks == sorted(ranks)
    assert rules.rank("custom:member") == len(rules.priority)
    assert rules.limit("user_id") == 1
    assert rules.limit("record") == 1
    assert rules.limit("push_token") == 10


def test_a_custom_identifier_can_be_limited_and_ranked() -> None:
    rules = parse_rules(
        {
            "custom_identifiers": [{"name": "member", "trait": "member_no"}],
            "limits": {"custom:member": 1},
            "priority": ["user_id", "custom:member", "email"],
        }
    )

    assert rules.custom_identifiers[0].type == "custom:member"
    assert rules.limit("custom:member") == 1
    assert rules.rank("custom:member") == 1


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param({"limits": {"email": 0}}, "limits: .*at least 1", id="limit-zero"),
        pytest.param({"limits": {"fax": 2}}, "unknown identifier type 'fax'", id="unknown-type"),
        pytest.param({"blocked_patterns": {"email": ["("]}}, r"email\[0\]", id="bad-regex"),
        pytest.param(
            {"match": {"auto_merge": 0.7, "review": 0.9}}, "match: .*review", id="thresholds"
        ),
        pytest.param({"match": {"auto_merge": 2}}, r"match\.auto_merge", id="probability"),
        pytest.param({"colour": "red"}, "colour: Extra inputs", id="unknown-key"),
        pytest.param(
            {"survivorship": {"fields": {"email": {"rule": "loudest"}}}},
            r"survivorship\.fields\.email\.rule",
            id="survivorship-rule",
        ),
    ],
)
def test_a_bad_rule_set_says_what_is_wrong_and_where(document: object, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        parse_rules(document)


def test_survivorship_defaults_trust_the_eshop_for_email_and_the_pos_for_address() -> None:
    fields = IdentityRules().survivorship.fields

    assert fields["email"].rule == "most_trusted_source"
    assert fields["email"].trusted_sources[0] == "eshop"
    assert fields["address"].trusted_sources[0] == "pos"


def test_the_shared_email_guard_is_on_by_default_and_can_be_switched_off() -> None:
    assert IdentityRules().is_shareable("email")
    assert not IdentityRules().is_shareable("phone")
    assert not IdentityRules().is_shareable("user_id")
    switched_off = parse_rules({"shared_identifiers": {"enabled": False}})
    assert not switched_off.is_shareable("email")


def test_the_shared_identifier_guard_names_only_known_types() -> None:
    with pytest.raises(RulesError, match=r"shared_identifiers.types: unknown identifier type"):
        parse_rules({"shared_identifiers": {"types": ["emial"]}})
