"""The people of the world: who they really are, before any channel gets their details wrong.

Names, streets, towns and postcodes come from Faker's ``en_GB`` locale, seeded. Drawing a
few thousand streets and towns from Faker once and combining them with the world's own
random generator keeps a hundred thousand people fast to make, while every name and address
still comes from Faker's data.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

from faker import Faker
from faker.providers.internet.en_GB import Provider as InternetProvider
from faker.providers.person.en_GB import Provider as PersonProvider

from patron.world.timeline import END_S, HISTORY_END, START_S

if TYPE_CHECKING:
    import random
    from collections.abc import Mapping, Sequence

FAKER_LOCALE = "en_GB"
# Mobile numbers: 07 then nine digits, in ranges that are valid UK mobile numbers throughout
# (libphonenumber's metadata; parts of 077, 076 and 079 are not allocated).
MOBILE_PREFIXES = ("074", "075", "078")
_MOBILE_SPACE = len(MOBILE_PREFIXES) * 10**8
# Multiplier of the bijection that spreads person numbers over the mobile number space:
# coprime with the space's size, so no two people share a number.
_MOBILE_STEP = 2_654_435_761
# Where UK email users have their mailboxes, roughly.
EMAIL_DOMAINS = (
    ("gmail.com", 34.0),
    ("hotmail.co.uk", 12.0),
    ("outlook.com", 10.0),
    ("yahoo.co.uk", 8.0),
    ("icloud.com", 8.0),
    ("btinternet.com", 6.0),
    ("hotmail.com", 5.0),
    ("yahoo.com", 4.0),
    ("live.co.uk", 4.0),
    ("sky.com", 4.0),
    ("aol.com", 2.5),
    ("virginmedia.com", 2.5),
)
HOUSEHOLD_RATE = 0.07
MOVED_RATE = 0.14
RENAMED_RATE = 0.03
SECOND_EMAIL_RATE = 0.35


@dataclass(frozen=True, slots=True)
class Address:
    street: str
    city: str
    region: str
    postcode: str


@dataclass(frozen=True, slots=True)
class Town:
    city: str
    region: str
    # The outward half of the postcodes in this town, e.g. ``M14``.
    outward: str


@dataclass(frozen=True, slots=True)
class Person:
    """A real person of the world: the ground truth every record is measured against."""

    index: int
    person_id: str
    gender: str
    first_name: str
    last_name: str
    birth_date: date
    address: Address
    mobile: str
    # Primary first; people keep a second address for shops they care less about.
    emails: tuple[str, ...]
    # The last name used before ``renamed_at`` (marriage), if it changed during the records.
    former_last_name: str | None
    renamed_at: int | None
    # The address before ``moved_at``, if the person moved house.
    former_address: Address | None
    moved_at: int | None
    household_id: str | None
    # An email address the household shares, used by both partners in some records.
    family_email: str | None

    def last_name_at(self, seconds: int) -> str:
        renamed = self.former_last_name is not None and self.renamed_at is not None
        if renamed and self.former_last_name and seconds < (self.renamed_at or 0):
            return self.former_last_name
        return self.last_name

    def address_at(self, seconds: int) -> Address:
        if self.former_address is not None and seconds < (self.moved_at or 0):
            return self.former_address
        return self.address


@dataclass(frozen=True, slots=True)
class _Weighted:
    values: tuple[str, ...]
    cum_weights: tuple[float, ...]

    def pick(self, rng: random.Random) -> str:
        return rng.choices(self.values, cum_weights=self.cum_weights)[0]


def _weighted(values: Sequence[str] | Mapping[str, float]) -> _Weighted:
    if isinstance(values, dict):
        names = tuple(values)
        weights = [float(values[name]) for name in names]
    else:
        names = tuple(values)
        weights = [1.0] * len(names)
    return _Weighted(names, tuple(itertools.accumulate(weights)))


class PeopleFactory:
    """Makes people one at a time: unique phones and emails, households of two."""

    def __init__(self, rng: random.Random, seed: int, customers: int) -> None:
        self._rng = rng
        faker = Faker(FAKER_LOCALE)
        faker.seed_instance(seed)
        self._female = _weighted(PersonProvider.first_names_female)
        self._male = _weighted(PersonProvider.first_names_male)
        self._last = _weighted(PersonProvider.last_names)
        pool = max(200, min(4000, customers // 10))
        self._streets = tuple(faker.street_name() for _ in range(pool))
        self._towns = tuple(
            Town(faker.city(), faker.county(), faker.postcode().split()[0])
            for _ in range(max(50, pool // 8))
        )
        self._work_domains = tuple(faker.domain_name() for _ in range(max(50, pool // 10)))
        self._domains = _Weighted(
            tuple(name for name, _ in EMAIL_DOMAINS),
            tuple(itertools.accumulate(weight for _, weight in EMAIL_DOMAINS)),
        )
        # Faker's own list of free mail providers for the locale, for second addresses.
        self._free_domains = tuple(InternetProvider.free_email_domains)
        self._used_emails: set[str] = set()
        self._mobile_offset = rng.randrange(_MOBILE_SPACE)
        self._width = max(6, len(str(customers)))

    def household(self, index: int, room: int) -> tuple[Person, ...]:
        """Person ``index`` and, sometimes (if ``room`` allows), a partner sharing the home."""
        rng = self._rng
        head = self._single(index)
        if room < 2 or rng.random() >= HOUSEHOLD_RATE:
            return (head,)
        household_id = f"H{index + 1:0{self._width}d}"
        family_email = None
        if rng.random() < 0.6:
            family_email = (
                head.emails[0] if rng.random() < 0.5 else self._family_email(head.last_name)
            )
        head = replace(head, household_id=household_id, family_email=family_email)
        return (head, self._partner(index + 1, head))

    # -- building blocks --------------------------------------------------------------------

    def _single(self, index: int) -> Person:
        rng = self._rng
        gender = "F" if rng.random() < 0.54 else "M"
        first = (self._female if gender == "F" else self._male).pick(rng)
        last = self._last.pick(rng)
        birth = _birth_date(rng)
        address = self.address()
        former_address, moved_at = self._move(address)
        former_last, renamed_at = None, None
        if gender == "F" and rng.random() < RENAMED_RATE / 0.54:
            candidate = self._last.pick(rng)
            if candidate != last:
                former_last, renamed_at = candidate, rng.randrange(START_S, END_S)
        return Person(
            index=index,
            person_id=self._person_id(index),
            gender=gender,
            first_name=first,
            last_name=last,
            birth_date=birth,
            address=address,
            mobile=self._mobile(index),
            emails=self._emails(first, former_last or last, birth),
            former_last_name=former_last,
            renamed_at=renamed_at,
            former_address=former_address,
            moved_at=moved_at,
            household_id=None,
            family_email=None,
        )

    def _partner(self, index: int, head: Person) -> Person:
        """The second member of ``head``'s household: same home, often the same last name."""
        rng = self._rng
        gender = ("M" if head.gender == "F" else "F") if rng.random() < 0.9 else head.gender
        first = (self._female if gender == "F" else self._male).pick(rng)
        last = head.last_name if rng.random() < 0.75 else self._last.pick(rng)
        years = max(18, min(90, _age(head) + round(rng.gauss(0, 3))))
        birth = _birth_date(rng, years)
        return Person(
            index=index,
            person_id=self._person_id(index),
            gender=gender,
            first_name=first,
            last_name=last,
            birth_date=birth,
            address=head.address,
            mobile=self._mobile(index),
            emails=self._emails(first, last, birth),
            former_last_name=None,
            renamed_at=None,
            former_address=head.former_address,
            moved_at=head.moved_at,
            household_id=head.household_id,
            family_email=head.family_email,
        )

    def _person_id(self, index: int) -> str:
        return f"P{index + 1:0{self._width}d}"

    def address(self) -> Address:
        rng = self._rng
        town = rng.choice(self._towns)
        number = 1 + int(rng.random() ** 2 * 240)
        street = f"{number} {rng.choice(self._streets)}"
        if rng.random() < 0.12:
            street = f"Flat {rng.randint(1, 24)}, {street}"
        inward = f"{rng.randint(1, 9)}{rng.choice(_INWARD)}{rng.choice(_INWARD)}"
        return Address(street, town.city, town.region, f"{town.outward} {inward}")

    def _move(self, address: Address) -> tuple[Address | None, int | None]:
        rng = self._rng
        if rng.random() >= MOVED_RATE:
            return None, None
        return self.address(), rng.randrange(START_S, END_S)

    def _mobile(self, index: int) -> str:
        number = (index * _MOBILE_STEP + self._mobile_offset) % _MOBILE_SPACE
        prefix, rest = divmod(number, 10**8)
        return f"{MOBILE_PREFIXES[prefix]}{rest:08d}"

    def _emails(self, first: str, last: str, birth: date) -> tuple[str, ...]:
        rng = self._rng
        primary = self._unique(_local_part(rng, first, last, birth), self._domains.pick(rng))
        if rng.random() >= SECOND_EMAIL_RATE:
            return (primary,)
        if rng.random() < 0.4:
            domain = rng.choice(self._work_domains)
            local = f"{_ascii(first)}.{_ascii(last)}"
        else:
            domain = rng.choice(self._free_domains)
            local = _local_part(rng, first, last, birth)
        return (primary, self._unique(local, domain))

    def _family_email(self, last: str) -> str:
        rng = self._rng
        local = rng.choice((f"the{_ascii(last)}s", f"{_ascii(last)}family", f"{_ascii(last)}home"))
        return self._unique(local, self._domains.pick(rng))

    def _unique(self, local: str, domain: str) -> str:
        email = f"{local}@{domain}"
        while email in self._used_emails:
            email = f"{local}{self._rng.randint(1, 999)}@{domain}"
        self._used_emails.add(email)
        return email


_INWARD = "ABDEFGHJLNPQRSTUWXYZ"
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def _ascii(name: str) -> str:
    return _NOT_ALNUM.sub("", name.lower())


def _local_part(rng: random.Random, first: str, last: str, birth: date) -> str:
    f, surname = _ascii(first), _ascii(last)
    pattern = rng.random()
    if pattern < 0.3:
        return f"{f}.{surname}"
    if pattern < 0.45:
        return f"{f}{surname}"
    if pattern < 0.6:
        return f"{f[0]}{surname}"
    if pattern < 0.7:
        return f"{f}.{surname}{birth.year % 100:02d}"
    if pattern < 0.8:
        return f"{f}_{surname}"
    if pattern < 0.9:
        return f"{f}{surname[0]}{rng.randint(1, 99)}"
    return f"{surname}.{f}"


def _birth_date(rng: random.Random, years: int | None = None) -> date:
    """Adults, most between 25 and 60."""
    if years is None:
        years = max(18, min(90, round(rng.triangular(18, 85, 40))))
    end = HISTORY_END.date()
    return end - timedelta(days=years * 365 + rng.randrange(365))


def _age(person: Person) -> int:
    return HISTORY_END.date().year - person.birth_date.year
