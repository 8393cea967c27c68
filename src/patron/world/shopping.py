"""How each person shops: their customer type, channels, purchase rate, churn, baskets.

Purchase timing follows the model that customer-lifetime predictions assume (BG/NBD): while
a customer is alive they buy at their own Poisson rate (drawn from a Gamma distribution per
customer type), shaped by the season; after every purchase they may drop out for good.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from patron.world.draw import below, weighted
from patron.world.timeline import DAY, HISTORY_DAYS, START_S

if TYPE_CHECKING:
    import random

    from patron.world.catalogue import Catalogue, Product
    from patron.world.people import Person
    from patron.world.timeline import Day

POS = "pos"
ESHOP = "eshop"
APP = "app"
CHANNELS = (POS, ESHOP, APP)

STORES = (
    ("S01", "London Oxford Street", 3.0),
    ("S02", "Manchester Arndale", 1.6),
    ("S03", "Birmingham Bullring", 1.5),
    ("S04", "Leeds Trinity", 1.0),
    ("S05", "Glasgow Buchanan Street", 1.1),
    ("S06", "Bristol Cabot Circus", 1.0),
    ("S07", "Liverpool One", 1.0),
    ("S08", "Edinburgh Princes Street", 0.9),
    ("S09", "Cardiff St David's", 0.8),
    ("S10", "Newcastle Eldon Square", 0.8),
    ("S11", "Nottingham Victoria", 0.7),
    ("S12", "Brighton Churchill Square", 0.7),
)
STORE_IDS = tuple(store_id for store_id, _, _ in STORES)
_STORE_CUM = tuple(itertools.accumulate(weight for _, _, weight in STORES))


class CustomerType(StrEnum):
    LOYAL = "loyal"
    OMNICHANNEL = "omnichannel"
    OCCASIONAL = "occasional"
    LAPSING = "lapsing"
    ONE_OFF = "one_off"
    # Opened an account or installed the app, browses, has not bought yet.
    PROSPECT = "prospect"


@dataclass(frozen=True, slots=True)
class Behaviour:
    share: float
    # Mean purchases per year while alive, and the shape of its Gamma spread across people.
    rate: float
    rate_shape: float
    # Chance of dropping out for good after each purchase.
    dropout: float
    lines_mean: float
    # Share of these customers who were already customers when the history starts.
    existing: float
    # Share who join the loyalty scheme at the till, if they shop in stores.
    member: float


BEHAVIOURS: dict[CustomerType, Behaviour] = {
    CustomerType.LOYAL: Behaviour(0.12, 7.0, 3.0, 0.02, 2.0, 0.5, 0.85),
    CustomerType.OMNICHANNEL: Behaviour(0.16, 5.5, 3.0, 0.03, 2.1, 0.5, 0.8),
    CustomerType.OCCASIONAL: Behaviour(0.30, 1.8, 2.0, 0.1, 1.6, 0.3, 0.5),
    CustomerType.LAPSING: Behaviour(0.15, 3.5, 2.0, 0.3, 1.6, 0.3, 0.5),
    CustomerType.ONE_OFF: Behaviour(0.22, 0.0, 1.0, 1.0, 1.4, 0.0, 0.3),
    CustomerType.PROSPECT: Behaviour(0.05, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0),
}
_TYPES = tuple(BEHAVIOURS)
_TYPE_CUM = tuple(itertools.accumulate(BEHAVIOURS[t].share for t in _TYPES))

# How a person's purchases split over the channels they use, before their own tilt.
_CHANNEL_BASE = {POS: 0.5, ESHOP: 0.35, APP: 0.15}
_SINGLE_CHANNEL_CUM = (0.55, 0.9, 1.0)

# Department tastes by gender; each person favours three departments.
DEPARTMENT_TASTES = {
    "F": {
        "Womenswear": 3.0, "Beauty": 2.0, "Home": 1.5, "Kids": 1.0, "Shoes": 1.2,
        "Kitchen": 1.0, "Garden": 0.7, "Toys & Games": 0.6, "Sport": 0.6, "Food & Gifts": 0.8,
        "Menswear": 0.4,
    },
    "M": {
        "Menswear": 3.0, "Sport": 1.5, "Shoes": 1.2, "Garden": 1.0, "Kitchen": 1.0,
        "Home": 0.8, "Toys & Games": 0.7, "Food & Gifts": 1.0, "Kids": 0.6, "Beauty": 0.4,
        "Womenswear": 0.4,
    },
}  # fmt: skip
_FAVOURITE_CUM = (0.5, 0.8, 1.0)
_FAVOURITE_SHARE = 0.6

SALE_MARKDOWNS = (20, 30, 40, 50)
CAMPAIGN_PERCENT = {"BLACKFRIDAY20": 20, "SPRING10": 10, "SUMMER15": 15}
XMAS_VOUCHER = ("XMAS10", 1000, 5000)
LOYALTY_VOUCHER = ("LOYAL5", 500, 2500)


@dataclass(frozen=True, slots=True)
class Habits:
    """A person's shopping behaviour: the hidden truth that predictions try to learn."""

    kind: CustomerType
    channels: tuple[str, ...]
    channel_cum: tuple[float, ...]
    # A customer before the history starts (acquired_s is then earlier than its start).
    existing: bool
    acquired_s: int
    first_day: int
    rate_per_year: float
    dropout: float
    departments: tuple[str, ...]
    lines_mean: float
    store_hour: float
    online_hour: float
    home_store: str
    other_store: str
    # Joins the loyalty scheme at the till, if they shop in stores.
    member: bool
    # Joins the loyalty scheme online (e-shop or app) and scans the card in stores.
    online_loyalty: bool
    # Opens an e-shop account (the rest always check out as guests).
    eshop_account: bool


@dataclass(frozen=True, slots=True)
class Line:
    product: Product
    quantity: int
    unit_price: int
    discount: int

    @property
    def total(self) -> int:
        return self.quantity * self.unit_price - self.discount


@dataclass(frozen=True, slots=True)
class Purchase:
    at: int
    day: Day
    channel: str
    store_id: str | None
    lines: tuple[Line, ...]
    voucher: str | None
    discount: int

    @property
    def subtotal(self) -> int:
        return sum(line.total for line in self.lines)

    @property
    def total(self) -> int:
        """What the customer paid: the lines less their discounts, less the order discount."""
        return self.subtotal - self.discount


def draw_habits(rng: random.Random, person: Person) -> Habits:
    kind = rng.choices(_TYPES, cum_weights=_TYPE_CUM)[0]
    behaviour = BEHAVIOURS[kind]
    channels = _channels(rng, kind)
    tilted = [_CHANNEL_BASE[c] * rng.uniform(0.5, 1.5) for c in channels]
    existing = rng.random() < behaviour.existing
    if existing:
        acquired_s = START_S - rng.randrange(30 * DAY, 5 * 365 * DAY)
        first_day = 0
    else:
        # More customers arrive later in the history: the retailer is growing.
        first_day = min(HISTORY_DAYS - 1, int(HISTORY_DAYS * rng.random() ** (1 / 1.3)))
        acquired_s = START_S + first_day * DAY
    rate = 0.0
    if behaviour.rate > 0:
        rate = rng.gammavariate(behaviour.rate_shape, behaviour.rate / behaviour.rate_shape)
    tastes = DEPARTMENT_TASTES[person.gender]
    departments: list[str] = []
    names, weights = list(tastes), list(tastes.values())
    while len(departments) < len(_FAVOURITE_CUM):
        chosen = rng.choices(names, weights=weights)[0]
        position = names.index(chosen)
        del names[position], weights[position]
        departments.append(chosen)
    home = rng.choices(STORE_IDS, cum_weights=_STORE_CUM)[0]
    other = rng.choices(STORE_IDS, cum_weights=_STORE_CUM)[0]
    member = POS in channels and rng.random() < behaviour.member
    online_loyalty = not member and (ESHOP in channels or APP in channels) and rng.random() < 0.3
    return Habits(
        kind=kind,
        channels=channels,
        channel_cum=tuple(itertools.accumulate(tilted)),
        existing=existing,
        acquired_s=acquired_s,
        first_day=first_day,
        rate_per_year=rate,
        dropout=behaviour.dropout,
        departments=tuple(departments),
        lines_mean=behaviour.lines_mean,
        store_hour=rng.choice((11.0, 12.5, 14.0, 16.0, 17.5)) + rng.uniform(-0.5, 0.5),
        online_hour=rng.choice((8.0, 12.5, 15.0, 20.5, 21.0, 21.5)) + rng.uniform(-0.7, 0.7),
        home_store=home,
        other_store=other,
        member=member,
        online_loyalty=online_loyalty,
        eshop_account=kind is CustomerType.PROSPECT or rng.random() < 0.88,
    )


def _channels(rng: random.Random, kind: CustomerType) -> tuple[str, ...]:
    if kind is CustomerType.PROSPECT:
        return (ESHOP,) if rng.random() < 0.7 else (APP,)
    if kind is CustomerType.OMNICHANNEL:
        if rng.random() < 0.35:
            return CHANNELS
        pair = rng.random()
        if pair < 0.6:
            return (POS, ESHOP)
        return (POS, APP) if pair < 0.85 else (ESHOP, APP)
    single = rng.choices(CHANNELS, cum_weights=_SINGLE_CHANNEL_CUM)[0]
    several = {CustomerType.LOYAL: 0.3, CustomerType.OCCASIONAL: 0.1, CustomerType.LAPSING: 0.1}
    if rng.random() < several.get(kind, 0.0):
        other = rng.choice(tuple(c for c in CHANNELS if c != single))
        return tuple(c for c in CHANNELS if c in (single, other))
    return (single,)


def purchase_days(
    rng: random.Random, habits: Habits, calendar: tuple[Day, ...], max_demand: float
) -> tuple[list[int], int | None]:
    """The days on which the person buys, and the day they dropped out (None if alive).

    Poisson arrivals at the person's rate, thinned by each day's seasonal demand; after each
    purchase the person drops out with their dropout probability.
    """
    if habits.kind is CustomerType.PROSPECT:
        return [], None
    days: list[int] = []
    position = 0.0
    if not habits.existing:
        days.append(habits.first_day)
        if habits.kind is CustomerType.ONE_OFF or rng.random() < habits.dropout:
            return days, habits.first_day
        position = habits.first_day + 1.0
    rate = habits.rate_per_year / 365.0 * max_demand
    if rate <= 0:
        return days, None
    while True:
        position += rng.expovariate(rate)
        if position >= HISTORY_DAYS:
            return days, None
        index = int(position)
        if rng.random() * max_demand < calendar[index].demand:
            days.append(index)
            if rng.random() < habits.dropout:
                return days, index


def pick_channel(rng: random.Random, habits: Habits) -> str:
    return weighted(rng, habits.channels, habits.channel_cum)


def time_of_purchase(rng: random.Random, day: Day, channel: str, preferred_hour: float) -> int:
    """The instant of a purchase on ``day``: store hours for tills, any hour online."""
    if channel == POS:
        sunday = day.date.weekday() == 6
        opens, closes = (10, 16) if sunday else (9, 20)
        hour = int(min(closes - 0.01, max(opens, rng.gauss(preferred_hour, 1.5))))
    else:
        hour = int(rng.gauss(preferred_hour, 2.0)) % 24
        if 1 <= hour < 7 and rng.random() < 0.8:
            hour = (hour + 12) % 24
    local = hour * 3600 + below(rng, 3600)
    return day.start_s + local - day.utc_offset_s


def pick_store(rng: random.Random, habits: Habits) -> str:
    return habits.home_store if rng.random() < 0.8 else habits.other_store


def basket(
    rng: random.Random,
    catalogue: Catalogue,
    day: Day,
    departments: tuple[str, ...],
    lines_mean: float,
) -> list[Line]:
    """What goes in the basket: mostly from the shopper's three favourite departments."""
    more = 1.0 - 1.0 / lines_mean
    count = 1
    while count < 8 and rng.random() < more:
        count += 1
    month = day.date.month - 1
    chosen: list[Product] = []
    for _ in range(count * 3):
        if len(chosen) == count:
            break
        if rng.random() < _FAVOURITE_SHARE:
            department = weighted(rng, departments, _FAVOURITE_CUM)
            product = catalogue.pick(rng, month, department)
        else:
            product = catalogue.pick(rng, month)
        if product not in chosen:
            chosen.append(product)
    lines = []
    for product in chosen:
        draw = rng.random()
        quantity = 1 if draw < 0.82 else 2 if draw < 0.95 else 3
        discount = 0
        if day.sale and rng.random() < 0.45:
            discount = quantity * product.price * rng.choice(SALE_MARKDOWNS) // 100
        lines.append(Line(product, quantity, product.price, discount))
    return lines


def voucher(
    rng: random.Random,
    lines: list[Line],
    day: Day,
    channel: str,
    *,
    first_in_channel: bool,
    member: bool,
) -> tuple[str | None, int]:
    """The voucher code used on the order, if any, and the order discount it gives."""
    subtotal = sum(line.total for line in lines)
    code: str | None = None
    amount = 0
    online = channel != POS
    if channel == ESHOP and first_in_channel and rng.random() < 0.5:
        code, amount = "WELCOME10", subtotal * 10 // 100
    elif channel == APP and first_in_channel and rng.random() < 0.6:
        code, amount = "APP15", subtotal * 15 // 100
    elif day.campaign is not None and rng.random() < (0.3 if online else 0.15):
        if day.campaign == XMAS_VOUCHER[0]:
            if subtotal >= XMAS_VOUCHER[2]:
                code, amount = day.campaign, XMAS_VOUCHER[1]
        else:
            code, amount = day.campaign, subtotal * CAMPAIGN_PERCENT[day.campaign] // 100
    elif member and subtotal >= LOYALTY_VOUCHER[2] and rng.random() < 0.04:
        code, amount = LOYALTY_VOUCHER[0], LOYALTY_VOUCHER[1]
    return code, min(amount, subtotal)
