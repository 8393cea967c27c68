"""What a channel knows about a person: their details as that channel recorded them.

Each record starts from the person's true details as they were when the record was made
(their name and address then), and picks up the source's typical mess on the way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from patron.world import mess

if TYPE_CHECKING:
    import random

    from patron.world.mess import MessRates, Nicknames
    from patron.world.people import Person

CUSTOMER_COLUMNS = (
    "id", "first_name", "last_name", "email", "phone", "loyalty_card", "birth_date", "street",
    "city", "postcode", "region", "country",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Details:
    """A person's details as one record gives them, and the mess they picked up."""

    first_name: str
    last_name: str
    email: str
    phone: str
    birth_date: str
    street: str
    city: str
    postcode: str
    region: str
    mess: tuple[str, ...]


class RecordMaker:
    """Turns a person into one source's record of them, mess included."""

    def __init__(self, rng: random.Random, nicknames: Nicknames) -> None:
        self._rng = rng
        self._nicknames = nicknames

    def details(
        self, person: Person, rates: MessRates, at: int, *, email: str | None = None
    ) -> Details:
        """The person's details in a record made at ``at``; ``email`` forces the address."""
        rng = self._rng
        tags: list[str] = []
        first = person.first_name
        if rng.random() < rates.nickname:
            short_forms = self._nicknames.of(first)
            if short_forms:
                first = rng.choice(short_forms)
                tags.append(mess.NICKNAME)
        last = person.last_name
        renamed_since = person.renamed_at is not None and at < person.renamed_at
        # (a record made before a change keeps the old value unless someone updated it)
        if renamed_since and rng.random() < rates.stale_address:
            last = person.last_name_at(at)
            tags.append(mess.FORMER_LAST_NAME)
        if rng.random() < rates.typo:
            if rng.random() < 0.5:
                first = mess.typo(rng, first)
                tags.append(mess.TYPO_FIRST_NAME)
            else:
                last = mess.typo(rng, last)
                tags.append(mess.TYPO_LAST_NAME)
        if rng.random() < rates.name_case:
            first, last = first.upper(), last.upper()
            tags.append(mess.NAME_CASE)

        if email is None:
            email = self._email(person, rates, tags)
        elif email != person.emails[0] and email != person.family_email:
            tags.append(mess.OTHER_EMAIL)
        if email and email == person.family_email:
            tags.append(mess.SHARED_EMAIL)
        if email and rng.random() < rates.email_case:
            email = mess.email_case(rng, email)
            tags.append(mess.EMAIL_CASE)

        if rng.random() < rates.missing_phone:
            phone = ""
            tags.append(mess.MISSING_PHONE)
        elif rng.random() < rates.phone_international:
            phone = mess.international_phone(rng, person.mobile)
            tags.append(mess.PHONE_INTERNATIONAL)
        else:
            phone = mess.national_phone(rng, person.mobile)

        birth = ""
        if rng.random() < rates.missing_birth_date:
            tags.append(mess.MISSING_BIRTH_DATE)
        else:
            born = person.birth_date
            if rng.random() < rates.transposed_birth_date:
                swapped = mess.transposed(born)
                if swapped is not None:
                    born = swapped
                    tags.append(mess.TRANSPOSED_BIRTH_DATE)
            birth = born.isoformat()

        if rng.random() < rates.missing_address:
            street = city = postcode = region = ""
            tags.append(mess.MISSING_ADDRESS)
        else:
            address = person.address
            moved_since = person.moved_at is not None and at < person.moved_at
            if moved_since and rng.random() < rates.stale_address:
                address = person.address_at(at)
                tags.append(mess.FORMER_ADDRESS)
            street, city, region, postcode = (
                address.street,
                address.city,
                address.region,
                address.postcode,
            )
            if rng.random() < rates.postcode_format:
                postcode = mess.postcode_format(rng, postcode)
                tags.append(mess.POSTCODE_FORMAT)
        return Details(
            first_name=first,
            last_name=last,
            email=email,
            phone=phone,
            birth_date=birth,
            street=street,
            city=city,
            postcode=postcode,
            region=region,
            mess=tuple(tags),
        )

    def _email(self, person: Person, rates: MessRates, tags: list[str]) -> str:
        rng = self._rng
        if rng.random() < rates.missing_email:
            tags.append(mess.MISSING_EMAIL)
            return ""
        if person.family_email is not None and rng.random() < rates.shared_email:
            return person.family_email
        if len(person.emails) > 1 and rng.random() < rates.other_email:
            tags.append(mess.OTHER_EMAIL)
            return person.emails[1]
        return person.emails[0]


def customer_row(
    record_id: str, details: Details, loyalty_card: str, country: str, extras: list[str]
) -> list[str]:
    """A customers-file row: the standard columns in order, then the source's extras."""
    return [
        record_id,
        details.first_name,
        details.last_name,
        details.email,
        details.phone,
        loyalty_card,
        details.birth_date,
        details.street,
        details.city,
        details.postcode,
        details.region,
        country if details.street else "",
        *extras,
    ]
