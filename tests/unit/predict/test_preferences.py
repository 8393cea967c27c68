"""Preferred channel and send time: counts shrunk toward the population (empirical Bayes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patron.predict.preferences import (
    dirichlet_strength,
    fit_channels,
    fit_preference,
    fit_send_hours,
)


def test_the_prior_strength_is_recovered_from_simulated_customers() -> None:
    # given customers whose channel shares are drawn from a Dirichlet of strength 4
    rng = np.random.default_rng(1)
    population = np.array([0.5, 0.3, 0.2])
    shares = rng.dirichlet(4 * population, size=5000)
    counts = np.array([rng.multinomial(8, share) for share in shares], dtype=float)

    # when the strength is estimated from the counts alone
    strength = dirichlet_strength(counts, population)

    # then it is close to the truth
    assert strength == pytest.approx(4, rel=0.15)


def test_little_history_stays_near_the_population_and_much_history_speaks_for_itself() -> None:
    # given one customer with a single app order, one with forty, and a population of
    # mostly store shoppers whose habits differ from one to the next
    rng = np.random.default_rng(2)
    shares = rng.dirichlet(3 * np.array([0.1, 0.2, 0.7]), size=2000)
    crowd = [rng.multinomial(5, share) for share in shares]
    counts = np.array([[1, 0, 0], [40, 0, 0], *crowd], dtype=float)
    ids = np.arange(len(counts))

    preference = fit_preference(ids, counts, ("app", "eshop", "pos"))

    # then the first is still most likely a store shopper, the second an app shopper
    assert preference.best()[0] == 2
    assert preference.posterior[0, 0] < 0.5
    assert preference.best()[1] == 0
    assert preference.posterior[1, 0] > 0.9
    assert preference.posterior.sum(axis=1) == pytest.approx(np.ones(len(counts)))


def test_channels_are_learned_from_order_counts() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3, 3, 3],
            "channel": ["pos", "eshop", "app", "pos", "pos", "eshop"],
            "orders": [1, 9, 2, 5, 1, 1],
        }
    )

    channels = fit_channels(frame)

    assert channels.options == ("app", "eshop", "pos")
    assert list(channels.customer_ids) == [1, 2, 3]
    assert [channels.options[i] for i in channels.best()] == ["eshop", "app", "pos"]


def test_the_send_hour_is_the_middle_of_the_busiest_three_hours_and_wraps_midnight() -> None:
    # given a night owl active at 23:00, 00:00 and 01:00, and many day customers at 10:00
    rows = [(1, 23, 0, 3), (1, 0, 1, 3), (1, 1, 1, 3)]
    rows += [(customer, 10, 2, 2) for customer in range(2, 200)]
    attention = pd.DataFrame(rows, columns=["customer_id", "hour", "weekday", "n"])

    hours = fit_send_hours(attention)

    assert hours.best()[0] == 0
    assert hours.population_best() == 10
