"""Clean-up of the fields the match model compares, and the reading of a saved model."""

import pytest

from patron.identity.matching.features import (
    clean_name,
    clean_postcode,
    clean_street,
    first_name_forms,
)
from patron.identity.matching.model import level_labels, match_settings, model_for_dialect


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("  ANNE-MARIE ", "anne marie", id="capitals-and-hyphen"),
        pytest.param("Zoë", "zoe", id="accent"),
        pytest.param("O'Brien", "o brien", id="apostrophe"),
        pytest.param("null", None, id="placeholder"),
        pytest.param("  ", None, id="blank"),
        pytest.param(None, None, id="missing"),
    ],
)
def test_clean_name(raw: str | None, expected: str | None) -> None:
    assert clean_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("m6 7bt", "M6 7BT", id="lower-case"),
        pytest.param("M67BT", "M6 7BT", id="no-space"),
        pytest.param("SW1A 1AA", "SW1A 1AA", id="already-clean"),
        pytest.param("75008", "75008", id="not-uk-kept-compact"),
        pytest.param(" - ", None, id="no-characters"),
    ],
)
def test_clean_postcode(raw: str, expected: str | None) -> None:
    assert clean_postcode(raw) == expected


def test_clean_street_drops_punctuation_and_case() -> None:
    assert clean_street("Flat 6, 76 Elliott Heights") == "flat 6 76 elliott heights"


def test_a_nickname_shares_a_form_with_its_full_name() -> None:
    # given a short form and the full name
    short, full = first_name_forms("bill"), first_name_forms("william")

    # then they share the full name, and an unrelated name shares nothing
    assert "william" in set(short) & set(full)
    assert not set(first_name_forms("zebedee")) & set(full)


def _trained_duckdb_model() -> dict[str, object]:
    model = match_settings().get_settings("duckdb").as_dict()
    for comparison in model["comparisons"]:
        for index, level in enumerate(comparison["comparison_levels"]):
            if not level.get("is_null_level"):
                level["m_probability"] = 0.1 + index / 100
                level["u_probability"] = 0.2 + index / 100
    model["probability_two_random_records_match"] = 0.0007
    return model


def test_level_labels_number_levels_as_splink_does() -> None:
    # given a model's first-name comparison (null, exact, swapped, nickname, two similarities,
    # else)
    labels = level_labels(_trained_duckdb_model())

    # then gamma counts down from the first non-null level to the else level at 0
    assert labels["first_name"][-1] == "missing"
    assert labels["first_name"][4] == "swapped with the last name"
    assert labels["first_name"][3] == "nickname"
    assert labels["first_name"][0] == "All other comparisons"
    assert labels["address"][4] == "same street and postcode"
    assert labels["address"][1] == "same street and town"


def test_a_duckdb_model_is_rewritten_for_spark_with_its_estimates() -> None:
    # given a model trained on DuckDB
    model = _trained_duckdb_model()

    # when it is rewritten for Spark
    spark = model_for_dialect(model, "spark")

    # then the SQL is Spark's and every estimate is the same
    assert spark["sql_dialect"] == "spark"
    assert "`first_name_l`" in spark["comparisons"][0]["comparison_levels"][1]["sql_condition"]
    assert spark["probability_two_random_records_match"] == 0.0007
    for ours, theirs in zip(spark["comparisons"], model["comparisons"], strict=True):
        for level, saved in zip(
            ours["comparison_levels"], theirs["comparison_levels"], strict=True
        ):
            assert level.get("m_probability") == saved.get("m_probability")
            assert level.get("u_probability") == saved.get("u_probability")
    # and a model already in the dialect is used as it is
    assert model_for_dialect(model, "duckdb") is model


def test_a_model_of_other_comparisons_is_refused() -> None:
    model = _trained_duckdb_model()
    model["comparisons"][0]["comparison_levels"].pop()

    with pytest.raises(ValueError, match="first_name"):
        model_for_dialect(model, "spark")
