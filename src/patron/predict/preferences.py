"""Preferred channel and best send hour / weekday: counts shrunk toward the population.

Each customer's counts over a set of options (channels, hours, weekdays) are combined with a
Dirichlet prior centred on the population's shares: ``p = (n + s π) / (N + s)``. ``s``, how
many observations the population's view is worth, is estimated from the data (empirical
Bayes): it maximises the Dirichlet-multinomial likelihood of the customers' counts. A customer
with two purchases stays close to the population; one with forty speaks for themself.

Hours are circular and a habit is not tied to a clock hour (a customer who buys "around
eight" buys at 19:40 and 20:15): the best send hour is the middle of the three-hour window
with the most posterior probability, not the single likeliest hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

# The likelihood of s is estimated on at most this many customers (a seeded sample): it is a
# single number, and more customers do not move it.
STRENGTH_SAMPLE = 200_000
STRENGTH_BOUNDS = (1e-2, 1e4)
# The best hour is the centre of the likeliest window of this many hours.
HOUR_WINDOW = 3
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Preference:
    """Options, the population's shares, the prior strength, and each customer's posterior."""

    options: tuple[str, ...]
    population: np.ndarray
    strength: float
    customer_ids: np.ndarray
    observations: np.ndarray  # per customer: how many observations
    posterior: np.ndarray  # (customers, options)
    # Options on a circle (hours): the best is the centre of the likeliest ``window`` of them.
    window: int = 1

    def best(self) -> np.ndarray:
        """Each customer's best option (its index in ``options``)."""
        if self.window == 1:
            return np.asarray(self.posterior.argmax(axis=1))
        return np.asarray(_window_scores(self.posterior, self.window).argmax(axis=1))

    def population_best(self) -> int:
        """The best option for the population as a whole (the naive, fixed choice)."""
        population = self.population[np.newaxis, :]
        if self.window == 1:
            return int(population.argmax())
        return int(_window_scores(population, self.window).argmax())

    def parameters(self) -> dict[str, Any]:
        return {
            "options": list(self.options),
            "population": [round(float(share), 6) for share in self.population],
            "prior_strength": round(self.strength, 4),
        }


def count_matrix(
    frame: pd.DataFrame, column: str, options: tuple[str, ...] | tuple[int, ...], count: str
) -> tuple[np.ndarray, np.ndarray]:
    """Customers (sorted) and their counts over ``options`` from a long ``frame``."""
    customer_ids, rows = np.unique(frame["customer_id"].to_numpy(), return_inverse=True)
    index = {option: position for position, option in enumerate(options)}
    cols = frame[column].map(index).to_numpy()
    known = ~np.isnan(cols.astype(float))
    counts = np.zeros((len(customer_ids), len(options)))
    np.add.at(counts, (rows[known], cols[known].astype(np.int64)), frame[count].to_numpy()[known])
    return customer_ids, counts


def dirichlet_strength(counts: np.ndarray, population: np.ndarray) -> float:
    """The prior strength ``s`` that maximises the Dirichlet-multinomial likelihood.

    Only customers with two or more observations carry information about ``s``.
    """
    # scipy costs most of a second to import: only a prediction run pays for it.
    from scipy.optimize import minimize_scalar  # noqa: PLC0415
    from scipy.special import gammaln  # noqa: PLC0415

    informative = counts[counts.sum(axis=1) >= 2]
    if len(informative) == 0:
        return float(STRENGTH_BOUNDS[1])
    if len(informative) > STRENGTH_SAMPLE:
        chosen = np.random.default_rng(0).choice(len(informative), STRENGTH_SAMPLE, replace=False)
        informative = informative[chosen]
    totals = informative.sum(axis=1)
    prior = np.maximum(population, 1e-9)

    def negative_log_likelihood(log_s: float) -> float:
        s = np.exp(log_s)
        alpha = s * prior
        value = (
            len(informative) * gammaln(s)
            - gammaln(totals + s).sum()
            + (gammaln(informative + alpha) - gammaln(alpha)).sum()
        )
        return -float(value)

    result = minimize_scalar(
        negative_log_likelihood,
        bounds=(np.log(STRENGTH_BOUNDS[0]), np.log(STRENGTH_BOUNDS[1])),
        method="bounded",
    )
    return float(np.exp(result.x))


def fit_preference(
    customer_ids: np.ndarray,
    counts: np.ndarray,
    options: tuple[str, ...],
    *,
    window: int = 1,
) -> Preference:
    """Shrink each customer's ``counts`` toward the population (see the module's docstring)."""
    observations = counts.sum(axis=1)
    total = counts.sum(axis=0)
    if total.sum() == 0:
        population = np.full(len(options), 1 / len(options))
    else:
        population = total / total.sum()
    strength = dirichlet_strength(counts, population)
    posterior = (counts + strength * population) / (observations[:, np.newaxis] + strength)
    return Preference(options, population, strength, customer_ids, observations, posterior, window)


def _window_scores(values: np.ndarray, window: int) -> np.ndarray:
    # Windows that tie (a single busy hour lies in three of them) go to the one centred on
    # the busier hour.
    return circular_window_sum(values, window) + values * 1e-6


def circular_window_sum(values: np.ndarray, window: int) -> np.ndarray:
    """Per column, the sum of the ``window`` columns centred on it, wrapping around."""
    summed = np.zeros_like(values)
    for offset in range(-(window // 2), window // 2 + 1):
        summed += np.roll(values, offset, axis=1)
    return summed


HOURS = tuple(f"{hour:02d}" for hour in range(24))


def fit_send_hours(attention: pd.DataFrame) -> Preference:
    """Best local send hour per customer from ``inputs.attention_times``."""
    customer_ids, counts = count_matrix(attention, "hour", tuple(range(24)), "n")
    return fit_preference(customer_ids, counts, HOURS, window=HOUR_WINDOW)


def fit_send_weekdays(attention: pd.DataFrame) -> Preference:
    """Best local weekday per customer (0 = Monday) from ``inputs.attention_times``."""
    customer_ids, counts = count_matrix(attention, "weekday", tuple(range(7)), "n")
    return fit_preference(customer_ids, counts, WEEKDAYS)


def fit_channels(channel_counts: pd.DataFrame) -> Preference:
    """Probability per purchase channel from ``inputs.channel_counts``."""
    options = tuple(sorted(str(channel) for channel in channel_counts["channel"].unique()))
    customer_ids, counts = count_matrix(channel_counts, "channel", options, "orders")
    return fit_preference(customer_ids, counts, options)
