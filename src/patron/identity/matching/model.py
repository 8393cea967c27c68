"""The probabilistic match model: Splink settings, training, and its stored versions.

The model is a Fellegi-Sunter model as Splink builds it. Each compared field has levels from
"the same" down to "different" (and "missing", which says nothing); for each level, ``m`` is
how often two records of the same person fall in it and ``u`` how often two records of
different people do. ``u`` is estimated from random pairs (almost all of them different
people), ``m`` by expectation maximisation on pairs that share a blocking key, leaving out of
each session the fields that define its block. Nothing is learned from labels: the same
training works on any retailer's data.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on

from patron.identity.matching.versions import TrainingStats

if TYPE_CHECKING:
    import pyarrow as pa
    from splink.internals.blocking_rule_creator import BlockingRuleCreator

# Ask for this many random pairs when estimating u; more makes rare levels (an exact birth
# date shared by strangers) better estimated at the price of a longer training (the cost does
# not grow with the records: 5 million pairs took 25 s on 2 cores, 2 million about 10 s).
U_SAMPLE_PAIRS = 2_000_000
# The share of true matches that the deterministic keys (email, phone, loyalty card) catch,
# used only to start the estimate of how likely two random records are the same person.
DETERMINISTIC_RECALL = 0.6


# First and last name written in each other's fields (a form filled in the wrong order, a
# system that stores "surname, given name"): both names agree, crossed.
_NAMES_SWAPPED = "first_name_l = last_name_r AND last_name_l = first_name_r"


def _first_name() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="first_name",
        comparison_levels=[
            cll.NullLevel("first_name"),
            cll.ExactMatchLevel("first_name").configure(
                tf_adjustment_column="first_name", tf_adjustment_weight=1.0
            ),
            cll.CustomLevel(_NAMES_SWAPPED, label_for_charts="swapped with the last name"),
            # A nickname and its full name (Bill, William), or two short forms of one name.
            cll.ArrayIntersectLevel("first_name_forms", min_intersection=1).configure(
                label_for_charts="nickname"
            ),
            cll.JaroWinklerLevel("first_name", 0.92),
            cll.JaroWinklerLevel("first_name", 0.8),
            cll.ElseLevel(),
        ],
    )


def _last_name() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="last_name",
        comparison_levels=[
            cll.NullLevel("last_name"),
            cll.ExactMatchLevel("last_name").configure(
                tf_adjustment_column="last_name", tf_adjustment_weight=1.0
            ),
            cll.CustomLevel(_NAMES_SWAPPED, label_for_charts="swapped with the first name"),
            cll.JaroWinklerLevel("last_name", 0.92),
            cll.JaroWinklerLevel("last_name", 0.88),
            cll.JaroWinklerLevel("last_name", 0.7),
            cll.ElseLevel(),
        ],
    )


def _birth_date() -> cl.CustomComparison:
    swapped = (
        "substr(birth_date_l, 1, 4) = substr(birth_date_r, 1, 4) "
        "AND substr(birth_date_l, 6, 2) = substr(birth_date_r, 9, 2) "
        "AND substr(birth_date_l, 9, 2) = substr(birth_date_r, 6, 2)"
    )
    return cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date"),
            # Day and month written the other way round (US and UK forms).
            cll.CustomLevel(swapped, label_for_charts="day and month swapped"),
            cll.DamerauLevenshteinLevel("birth_date", 1),
            cll.ElseLevel(),
        ],
    )


def _address() -> cl.CustomComparison:
    # Street and postcode describe one thing, the home: compared as one field so that sharing
    # a home counts once (two fields would count it twice and make every household look like
    # one person).
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.And(cll.NullLevel("street"), cll.NullLevel("postcode")),
            cll.And(cll.ExactMatchLevel("street"), cll.ExactMatchLevel("postcode")).configure(
                label_for_charts="same street and postcode"
            ),
            cll.ExactMatchLevel("postcode").configure(label_for_charts="same postcode"),
            cll.And(
                cll.JaroWinklerLevel("street", 0.9),
                cll.CustomLevel(
                    "substr(postcode_l, 1, length(postcode_l) - 2) "
                    "= substr(postcode_r, 1, length(postcode_r) - 2)"
                ),
            ).configure(label_for_charts="similar street, same postcode sector"),
            # A postcode mistyped or missing on one side: the same street in the same town.
            cll.And(cll.ExactMatchLevel("street"), cll.ExactMatchLevel("city")).configure(
                label_for_charts="same street and town"
            ),
            cll.ElseLevel(),
        ],
    )


def match_settings() -> SettingsCreator:
    """The model before training: comparisons and blocking rules.

    Prediction only scores pairs that share at least one blocking key; the keys are chosen so
    that a person's records share one even with a typo, a nickname, a new address, a married
    name or a missing field, while strangers rarely do.
    """
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            _first_name(),
            _last_name(),
            _birth_date(),
            # Only the whole address: a similar one (jeffrey.jones@ at two providers) is mostly
            # the name again, already counted, and would make namesakes look like one person.
            cl.ExactMatch("email").configure(term_frequency_adjustments=True),
            cl.ExactMatch("phone"),
            cl.ExactMatch("loyalty_card"),
            _address(),
        ],
        blocking_rules_to_generate_predictions=prediction_blocking_rules(),
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=["source_id"],
        max_iterations=20,
        em_convergence=0.001,
    )


def prediction_blocking_rules() -> list[BlockingRuleCreator | dict[str, Any]]:
    """Pairs worth scoring: they share at least one of these keys."""
    return [
        block_on("email"),
        block_on("phone"),
        block_on("loyalty_card"),
        block_on("first_name", "last_name"),
        block_on("last_name", "birth_date"),
        block_on("first_name", "birth_date"),
        block_on("last_name", "postcode"),
        block_on("first_name", "postcode"),
        # Both names mistyped, swapped or missing: the person's birth date and home.
        block_on("birth_date", "postcode"),
        block_on("birth_date", "city"),
        block_on("street", "postcode"),
    ]


# An EM session on fewer pairs than this learns noise; its block is skipped.
MIN_EM_PAIRS = 100
_LAMBDA_KEYS: tuple[tuple[str, ...], ...] = (
    ("email",),
    ("phone",),
    ("loyalty_card",),
    ("first_name", "last_name", "birth_date"),
)
_EM_KEYS: tuple[tuple[str, ...], ...] = (
    ("first_name", "last_name"),
    ("birth_date",),
    # Not the address: a household shares it, and EM would learn the household as a match.
    ("phone",),
    ("email",),
)


def block_pairs(features: pa.Table, columns: tuple[str, ...]) -> int:
    """How many pairs of records agree on every one of ``columns`` (none of them missing)."""
    keyed = features.select(list(columns)).drop_null()
    if keyed.num_rows < 2:
        return 0
    counts = keyed.group_by(list(columns)).aggregate([([], "count_all")])
    sizes = counts.column("count_all").to_pylist()
    return sum(size * (size - 1) // 2 for size in sizes)


def train(
    linker: Linker, features: pa.Table, *, backend: str
) -> tuple[dict[str, Any], TrainingStats]:
    """Estimate the model's parameters on the linker's records (``features``); return the
    model and what training saw.

    Blocks that hold too few pairs to learn from (a field every record lacks) are skipped:
    the levels they would have trained keep Splink's starting values, and the share of
    matching pairs its default when no reliable key links any records.
    """
    started = time.perf_counter()
    training = linker.training
    lambda_keys = [keys for keys in _LAMBDA_KEYS if block_pairs(features, keys) > 0]
    if lambda_keys:
        training.estimate_probability_two_random_records_match(
            [block_on(*keys) for keys in lambda_keys], recall=DETERMINISTIC_RECALL
        )
    training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=1)
    sessions: dict[str, int] = {}
    iterations = 0
    for keys in _EM_KEYS:
        pairs = block_pairs(features, keys)
        if pairs < MIN_EM_PAIRS:
            continue
        session = training.estimate_parameters_using_expectation_maximisation(
            block_on(*keys), estimate_without_term_frequencies=True
        )
        sessions[" & ".join(keys)] = pairs
        iterations += len(getattr(session, "_core_model_settings_history", ()))
    model = linker.misc.save_model_to_json()
    stats = TrainingStats(
        records=features.num_rows,
        u_sample_pairs=U_SAMPLE_PAIRS,
        em_sessions=sessions,
        em_iterations=iterations,
        lambda_estimated=bool(lambda_keys),
        backend=backend,
        seconds=time.perf_counter() - started,
    )
    return model, stats


def level_labels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """For each comparison of a saved model: its gamma values and their labels.

    Splink numbers the levels of a comparison from the top: the null level is -1, the last
    (else) level 0 and the first non-null level the highest.
    """
    labels: dict[str, dict[int, str]] = {}
    for comparison in model.get("comparisons", []):
        name = comparison["output_column_name"]
        levels = comparison["comparison_levels"]
        non_null = [level for level in levels if not level.get("is_null_level")]
        by_gamma: dict[int, str] = {-1: "missing"}
        for position, level in enumerate(non_null):
            label = level.get("label_for_charts") or level.get("sql_condition", "")
            by_gamma[len(non_null) - 1 - position] = str(label)
        labels[name] = by_gamma
    return labels


# What training estimated, per comparison level: copied into the same model written for
# another SQL dialect.
_ESTIMATED_KEYS = ("m_probability", "u_probability")


def model_for_dialect(model: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The saved ``model`` with its SQL written for ``dialect`` (``duckdb`` or ``spark``).

    Splink saves a model in the SQL of the engine that trained it (DuckDB's
    ``jaro_winkler_similarity("a_l", "a_r")`` is Spark's ``jaro_winkler(`a_l`, `a_r`)``). The
    comparisons and blocking rules are written anew for the other engine from
    ``match_settings`` and the trained parameters copied level by level, so one model version
    scores the same on both. Raises ``ValueError`` when the saved model's comparisons are not
    those of ``match_settings`` (a model of another Patron version).
    """
    if model.get("sql_dialect") == dialect:
        return model
    rewritten: dict[str, Any] = match_settings().get_settings(dialect).as_dict()  # type: ignore[no-untyped-call]
    saved = {c["output_column_name"]: c for c in model.get("comparisons", [])}
    for comparison in rewritten["comparisons"]:
        name = comparison["output_column_name"]
        levels = comparison["comparison_levels"]
        saved_levels = saved.get(name, {}).get("comparison_levels", [])
        if len(saved_levels) != len(levels):
            raise ValueError(f"the saved model's comparison {name!r} differs from this version's")
        for level, saved_level in zip(levels, saved_levels, strict=True):
            for key in _ESTIMATED_KEYS:
                if key in saved_level:
                    level[key] = saved_level[key]
    rewritten["probability_two_random_records_match"] = model[
        "probability_two_random_records_match"
    ]
    return rewritten
