"""How channels get a person's details wrong, each kind of mess with its own name.

Every function returns the changed value; the caller records the mess tag next to the record
in the ground truth, so that identity quality can later be reported per kind of mess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from nicknames import NickNamer

if TYPE_CHECKING:
    import random

# Tags written to the ground truth, one per kind of mess.
NICKNAME = "nickname"
TYPO_FIRST_NAME = "typo_first_name"
TYPO_LAST_NAME = "typo_last_name"
NAME_CASE = "name_case"
FORMER_LAST_NAME = "former_last_name"
FORMER_ADDRESS = "former_address"
OTHER_EMAIL = "other_email"
SHARED_EMAIL = "shared_email"
EMAIL_CASE = "email_case"
TRANSPOSED_BIRTH_DATE = "transposed_birth_date"
PHONE_INTERNATIONAL = "phone_international"
POSTCODE_FORMAT = "postcode_format"
CARD_FORMAT = "card_format"
MISSING_EMAIL = "missing_email"
MISSING_PHONE = "missing_phone"
MISSING_BIRTH_DATE = "missing_birth_date"
MISSING_ADDRESS = "missing_address"
DUPLICATE = "duplicate"
NOT_IN_CUSTOMER_FILE = "not_in_customer_file"

MESS_TAGS = (
    NICKNAME, TYPO_FIRST_NAME, TYPO_LAST_NAME, NAME_CASE, FORMER_LAST_NAME, FORMER_ADDRESS,
    OTHER_EMAIL, SHARED_EMAIL, EMAIL_CASE, TRANSPOSED_BIRTH_DATE, PHONE_INTERNATIONAL,
    POSTCODE_FORMAT, CARD_FORMAT, MISSING_EMAIL, MISSING_PHONE, MISSING_BIRTH_DATE,
    MISSING_ADDRESS, DUPLICATE, NOT_IN_CUSTOMER_FILE,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class MessRates:
    """How often a source gets each detail wrong or leaves it out (probabilities)."""

    missing_email: float
    missing_phone: float
    missing_birth_date: float
    missing_address: float
    nickname: float
    typo: float
    name_case: float
    email_case: float
    transposed_birth_date: float
    phone_international: float
    postcode_format: float
    other_email: float
    shared_email: float
    # A record made before the person moved still has the old address (it was never updated).
    stale_address: float
    card_format: float


# Typed by a shop assistant at the till: short forms, typos, capitals, gaps.
POS_RATES = MessRates(
    missing_email=0.3, missing_phone=0.15, missing_birth_date=0.35, missing_address=0.25,
    nickname=0.12, typo=0.07, name_case=0.1, email_case=0.08, transposed_birth_date=0.06,
    phone_international=0.1, postcode_format=0.12, other_email=0.15, shared_email=0.5,
    stale_address=0.8, card_format=0.0,
)  # fmt: skip
# Typed by customers themselves when they open an account: fewer typos, fewer gaps.
ESHOP_RATES = MessRates(
    missing_email=0.0, missing_phone=0.35, missing_birth_date=0.6, missing_address=0.04,
    nickname=0.08, typo=0.02, name_case=0.02, email_case=0.1, transposed_birth_date=0.04,
    phone_international=0.3, postcode_format=0.15, other_email=0.3, shared_email=0.4,
    stale_address=0.6, card_format=0.0,
)  # fmt: skip
# The app asks for little, and people type on a phone keyboard.
APP_RATES = MessRates(
    missing_email=0.02, missing_phone=0.5, missing_birth_date=0.75, missing_address=1.0,
    nickname=0.15, typo=0.04, name_case=0.01, email_case=0.12, transposed_birth_date=0.04,
    phone_international=0.35, postcode_format=0.0, other_email=0.35, shared_email=0.3,
    stale_address=0.0, card_format=0.0,
)  # fmt: skip
# The loyalty CRM is cleaned now and then, but keeps what members gave at enrolment.
CRM_RATES = MessRates(
    missing_email=0.1, missing_phone=0.1, missing_birth_date=0.15, missing_address=0.05,
    nickname=0.05, typo=0.03, name_case=0.0, email_case=0.03, transposed_birth_date=0.03,
    phone_international=0.2, postcode_format=0.02, other_email=0.2, shared_email=0.5,
    stale_address=0.5, card_format=0.35,
)  # fmt: skip

_KEYBOARD_NEIGHBOURS = {
    "a": "qsz", "b": "vgn", "c": "xdv", "d": "sfe", "e": "wrd", "f": "dgr", "g": "fht",
    "h": "gjy", "i": "uok", "j": "hku", "k": "jli", "l": "kop", "m": "nj", "n": "bmh",
    "o": "ipl", "p": "ol", "q": "wa", "r": "etf", "s": "adw", "t": "ryg", "u": "yij",
    "v": "cbf", "w": "qes", "x": "zsc", "y": "tuh", "z": "xa",
}  # fmt: skip


class Nicknames:
    """Short forms of first names, from the ``nicknames`` package, in a stable order."""

    def __init__(self) -> None:
        self._namer = NickNamer()
        self._cache: dict[str, tuple[str, ...]] = {}

    def of(self, first_name: str) -> tuple[str, ...]:
        known = self._cache.get(first_name)
        if known is None:
            # The package answers with sets: sort them so that the choice is reproducible.
            found = sorted(n for n in self._namer.nicknames_of(first_name) if len(n) >= 3)
            known = tuple(n.capitalize() for n in found)
            self._cache[first_name] = known
        return known


def typo(rng: random.Random, word: str) -> str:
    """One slip of the keyboard: a swapped, dropped, doubled or neighbouring letter."""
    if len(word) < 4:
        return word + word[-1]
    position = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    if kind == 1:
        return word[:position] + word[position + 1 :]
    if kind == 2:
        return word[:position] + word[position] + word[position:]
    letter = word[position]
    neighbours = _KEYBOARD_NEIGHBOURS.get(letter.lower())
    if not neighbours:
        return word[:position] + word[position + 1 :]
    return word[:position] + rng.choice(neighbours) + word[position + 1 :]


def email_case(rng: random.Random, email: str) -> str:
    """The same address with capitals or stray spaces, as people type it."""
    kind = rng.randrange(4)
    if kind == 0:
        return email.upper()
    if kind == 1:
        local, _, domain = email.partition("@")
        return ".".join(part.capitalize() for part in local.split(".")) + "@" + domain.capitalize()
    if kind == 2:
        return f" {email}"
    return f"{email} "


def national_phone(rng: random.Random, mobile: str) -> str:
    """``07700 900123`` and the other ways a UK mobile is written at home."""
    kind = rng.random()
    if kind < 0.55:
        return f"{mobile[:5]} {mobile[5:]}"
    if kind < 0.85:
        return mobile
    if kind < 0.95:
        return f"{mobile[:5]} {mobile[5:8]} {mobile[8:]}"
    return f"({mobile[:5]}) {mobile[5:]}"


def international_phone(rng: random.Random, mobile: str) -> str:
    """``+447700900123`` and its spaced variants."""
    national = mobile[1:]
    kind = rng.random()
    if kind < 0.5:
        return f"+44{national}"
    if kind < 0.8:
        return f"+44 {national[:4]} {national[4:]}"
    if kind < 0.92:
        return f"+44 (0){national[:4]} {national[4:]}"
    return f"0044 {national[:4]} {national[4:]}"


def transposed(birth: date) -> date | None:
    """The date with day and month swapped, when that is still a date and a different one."""
    if birth.day > 12 or birth.day == birth.month:
        return None
    return date(birth.year, birth.day, birth.month)


def postcode_format(rng: random.Random, postcode: str) -> str:
    return postcode.replace(" ", "") if rng.random() < 0.6 else postcode.lower()


def card_format(card: str) -> str:
    """``6337 0012 3456 7890``: the card number as embossed."""
    return " ".join(card[i : i + 4] for i in range(0, len(card), 4))
