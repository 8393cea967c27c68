"""Fast draws from a seeded generator, for the hot paths of a world of a million rows.

``random.choices`` and ``random.randrange`` check their arguments on every call; these do
the same draws from ``rng.random()`` with a bisect or a multiplication, several times faster.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import random
    from collections.abc import Sequence

T = TypeVar("T")


def weighted(rng: random.Random, values: Sequence[T], cum_weights: Sequence[float]) -> T:
    """One of ``values``, drawn with the given cumulative weights."""
    last = len(cum_weights) - 1
    return values[bisect_right(cum_weights, rng.random() * cum_weights[last], 0, last)]


def below(rng: random.Random, limit: int) -> int:
    """An integer in ``[0, limit)``."""
    return int(rng.random() * limit)
