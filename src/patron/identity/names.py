"""Whether two first names can belong to one person: the test behind the shared-email guard.

Two people of a household often share an email address; their first names tell them apart.
Two first names *agree* when they are equal once case, accents and punctuation are set aside,
when one is a nickname of the other or both are short forms of one name (Bill, Will, William,
from the ``nicknames`` package), when one is the other's initial, or when they are one typing
slip apart (a letter added, dropped, changed, or two neighbours swapped: Jon, John; Sarah,
Sarha). Only names that agree in none of these ways *disagree*.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

from nicknames import NickNamer

if TYPE_CHECKING:
    from collections.abc import Iterable

_NOT_LETTERS = re.compile(r"[^a-z]+")
_NICKNAMES = NickNamer()
# Typing slips are only told from other names in names long enough to have a shape:
# Al and Ed are one letter apart, and are different people.
_SHORTEST_FOR_SLIPS = 4


@lru_cache(maxsize=65_536)
def clean_first_name(value: str | None) -> str | None:
    """A first name in lower-case ASCII letters (``'Zoë-Ann '`` → ``'zoeann'``); None if empty."""
    if not value:
        return None
    decomposed = unicodedata.normalize("NFKD", value)
    ascii_lower = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    cleaned = _NOT_LETTERS.sub("", ascii_lower)
    return cleaned or None


@lru_cache(maxsize=65_536)
def _forms(name: str) -> frozenset[str]:
    return frozenset({name, *_NICKNAMES.canonicals_of(name)})


def _one_slip_apart(a: str, b: str) -> bool:
    """One letter added, dropped or changed, or two neighbours swapped."""
    if min(len(a), len(b)) < _SHORTEST_FOR_SLIPS or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        differ = [i for i in range(len(a)) if a[i] != b[i]]
        if len(differ) == 1:
            return True
        return (
            len(differ) == 2
            and differ[1] == differ[0] + 1
            and a[differ[0]] == b[differ[1]]
            and a[differ[1]] == b[differ[0]]
        )
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


@lru_cache(maxsize=65_536)
def first_names_agree(a: str, b: str) -> bool:
    """Whether two cleaned first names can be one person's (see the module's docstring)."""
    if a == b:
        return True
    if (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b)):
        return True
    # One is a short form of the other, or both are short forms of one name.
    if _forms(a) & _forms(b):
        return True
    return _one_slip_apart(a, b)


def first_names_disagree(side_a: Iterable[str], side_b: Iterable[str]) -> bool:
    """Whether two customers' first names clearly disagree: both have at least one, and no name
    of one side agrees with any name of the other. Names must be cleaned (``clean_first_name``).
    """
    names_a, names_b = set(side_a), set(side_b)
    if not names_a or not names_b:
        return False
    return not any(first_names_agree(a, b) for a in names_a for b in names_b)
