"""Next best products from purchase co-occurrence, with reasons and a popularity fallback."""

from __future__ import annotations

import math
import random
from datetime import date

import numpy as np
import pandas as pd
import pytest

from patron.predict import products
from patron.predict.inputs import Purchases
from patron.predict.products import (
    fit_next_products,
    popularity_baseline,
    purchase_history,
    recommend,
    recommendation_lists,
)

AS_OF = date(2026, 1, 1)
OLD = date(2025, 1, 1)
RECENT = date(2025, 12, 1)


def bought(rows: list[tuple[int, str, str, int, date]]) -> Purchases:
    frame = pd.DataFrame(rows, columns=["customer_id", "sku", "category", "days", "last_day"])
    frame["product_name"] = "Product " + frame["sku"]
    return Purchases.from_frame(frame)


def test_a_customer_is_offered_what_buyers_of_their_products_bought_with_a_reason() -> None:
    # given tea bought with a teapot by four customers, and mugs popular on their own
    rows = []
    for customer in range(1, 5):
        rows += [(customer, "TEA", "Food", 1, OLD), (customer, "POT", "Kitchen", 1, OLD)]
    rows += [(customer, "MUG", "Kitchen", 1, RECENT) for customer in range(10, 20)]
    rows += [(99, "TEA", "Food", 1, OLD)]
    history_frame = bought(rows)
    model = fit_next_products(history_frame, AS_OF)
    ids = np.array([99])

    recommendations = recommend(model, purchase_history(model, history_frame, ids, AS_OF), k=2)
    lists = recommendation_lists(model, recommendations)

    # then the teapot comes first, bought with tea by four customers; then the popular mug
    assert [item["sku"] for item in lists[0]] == ["POT", "MUG"]
    assert lists[0][0]["reason"] == "bought together with Product TEA by 4 customers"
    assert lists[0][1]["reason"].startswith("popular: bought by 10 customers")


def test_recent_purchases_are_not_offered_again_unless_bought_again_in_their_category() -> None:
    # given a customer who just bought a coat and coffee; coffee is bought again and again
    rows = [(customer, "COFFEE", "Food", 3, RECENT) for customer in range(1, 10)]
    rows += [(customer, "COAT", "Coats", 1, OLD) for customer in range(1, 10)]
    rows += [(50, "COAT", "Coats", 1, RECENT), (50, "COFFEE", "Food", 1, RECENT)]
    frame = bought(rows)
    model = fit_next_products(frame, AS_OF)
    history = purchase_history(model, frame, np.array([50]), AS_OF)

    offered = recommendation_lists(model, recommend(model, history, k=2))[0]
    baseline = popularity_baseline(model, history, k=2)

    # then coffee is offered again, the coat never
    assert [item["sku"] for item in offered] == ["COFFEE"]
    assert model.repeat_categories == frozenset({"Food"})
    assert [model.skus[i] for i in baseline[0] if i >= 0] == ["COFFEE"]


def test_a_customer_without_history_gets_the_most_popular_products() -> None:
    rows = [(customer, "MUG", "Kitchen", 1, RECENT) for customer in range(1, 6)]
    rows += [(customer, "POT", "Kitchen", 1, RECENT) for customer in range(1, 3)]
    frame = bought(rows)
    model = fit_next_products(frame, AS_OF)

    lists = recommendation_lists(
        model, recommend(model, purchase_history(model, frame, np.array([77]), AS_OF), k=3)
    )

    assert [item["sku"] for item in lists[0]] == ["MUG", "POT"]


def reference_similarity(
    rows: list[tuple[int, str, str, int, date]], neighbours: int
) -> dict[str, dict[str, float]]:
    """Straight from the definition: cosine similarity of the products' buyer sets, each
    product's ``neighbours`` most similar kept (ties: the lower SKU)."""
    buyers: dict[str, set[int]] = {}
    for who, sku, *_ in rows:
        buyers.setdefault(sku, set()).add(who)
    similar: dict[str, dict[str, float]] = {}
    for sku, its in buyers.items():
        others = {
            other: len(its & theirs) / math.sqrt(len(its) * len(theirs))
            for other, theirs in buyers.items()
            if other != sku and its & theirs
        }
        best = sorted(others, key=lambda other: (-others[other], other))[:neighbours]
        similar[sku] = {other: others[other] for other in best}
    return similar


def random_purchases(
    *, seed: int, customers: int, catalogue: int, most: int
) -> list[tuple[int, str, str, int, date]]:
    """Each customer buys 1 to ``most`` products of a catalogue of ``catalogue``, long ago."""
    generator = random.Random(seed)  # noqa: S311 - test data, not secrets
    rows = []
    for customer in range(customers):
        liked = generator.sample(range(catalogue), generator.randint(1, most))
        rows += [(customer, f"P{product:02d}", "Goods", 1, OLD) for product in liked]
    return rows


def test_recommendations_are_the_best_candidates_of_the_plain_definition() -> None:
    # given 300 customers buying from 80 products, long ago (nothing excluded)
    rows = random_purchases(seed=11, customers=300, catalogue=80, most=12)
    frame = bought(rows)
    model = fit_next_products(frame, AS_OF)
    ids = np.arange(300)
    history = purchase_history(model, frame, ids, AS_OF)

    lists = recommendation_lists(model, recommend(model, history))

    # then every list holds the customer's best candidates, best first: a candidate scores
    # the sum of its similarities to what the customer bought
    similar = reference_similarity(rows, products.NEIGHBOURS)
    for customer in ids.tolist():
        scores: dict[str, float] = {}
        for sku in {sku for who, sku, *_ in rows if who == customer}:
            for other, value in similar[sku].items():
                scores[other] = scores.get(other, 0.0) + value
        got = [scores[item["sku"]] for item in lists[customer]]
        best = sorted(scores.values(), reverse=True)[: len(got)]
        assert got == pytest.approx(best, rel=1e-9), customer
        assert len(got) == min(5, len(scores)), customer


def test_reasons_are_the_same_whether_pairs_are_looked_up_dense_or_by_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a catalogue looked up from a dense copy, and the same one by binary search
    rows = random_purchases(seed=5, customers=200, catalogue=40, most=8)
    frame = bought(rows)
    model = fit_next_products(frame, AS_OF)
    history = purchase_history(model, frame, np.arange(200), AS_OF)
    dense = recommend(model, history)
    monkeypatch.setattr(products, "DENSE_LOOKUP_CELLS", 0)

    searched = recommend(model, history)

    # then both name the same products, supports and counts
    assert (dense.products == searched.products).all()
    assert (dense.because_of == searched.because_of).all()
    assert (dense.together == searched.together).all()
    assert (dense.together[dense.because_of >= 0] > 0).all()
