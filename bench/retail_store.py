"""A large, migrated Patron store built directly: the fixture of the analytics and prediction
benchmarks (1,000,000 customers and 10,000,000 orders on 2 cores).

The normal path (``patron world generate``, ``patron import world``, identity resolution)
would take hours at that size, so this loader skips it: it draws each customer's behaviour
with numpy and writes the rows those customers would leave behind straight into the tables
Patron's importers and identity resolution fill (``sources``, ``products``, ``profiles``,
``merges``, ``orders``, ``order_lines``, ``order_profiles``, ``events``, ``event_profiles``,
``carts``). It keeps no customer records or identifiers: the store is for reading orders,
events and carts through the identity graph, not for resolving identities again.

The behaviour follows the synthetic world's customer types (docs/world.md): a purchase
rate drawn from a Gamma and a drop-out probability from a Beta per customer, as BG/NBD
assumes; one to three channels, omnichannel customers buying more and in bigger baskets; a
home store; three favourite departments; preferred hours in stores and online; the world's
calendar (seasons, Black Friday, Christmas, sales) and catalogue. The mean number of orders
per customer is calibrated to ``--orders-per-customer``. The same seed and size always give
the same rows.

    .venv/bin/python bench/retail_store.py --customers 1000000 --orders-per-customer 10 \\
        --seed 1 --out /work/var-bench/store-1m.db

SQLite is written with ``journal_mode=OFF`` and ``synchronous=OFF`` while it is built, and
secondary indexes are dropped and made again at the end: a crash mid-build leaves a file to
throw away (this is a benchmark fixture, never live data). The file is handed over in WAL
mode, as Patron runs it, after ``PRAGMA foreign_key_check`` and ``integrity_check``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import random
import resource
import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import psycopg
from sqlalchemy.engine import make_url

from patron import migrations
from patron.storage import normalise_url

# The world's catalogue, calendar and department tastes, so that this store sells the same
# products in the same seasons to the same kinds of people as the generated world.
from patron.world import (
    CURRENCY,
    DEPARTMENT_TASTES,
    DEPARTMENTS,
    HISTORY_END,
    HISTORY_START,
    MONTH_DEMAND,
    PRODUCT_TYPES,
    SEASONS,
    SOURCES,
    STORES,
    WEEKDAY_DEMAND,
    build_catalogue,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from numpy.typing import NDArray

    Ints = NDArray[np.int64]
    Floats = NDArray[np.float64]
    # A table's name, its columns and the rows to insert.
    Table = tuple[str, Sequence[str], Iterable[Sequence[object]]]

DAY = 86_400
START_S = int(HISTORY_START.timestamp())
END_S = int(HISTORY_END.timestamp())
DAYS = (END_S - START_S) // DAY + 1
LONDON = ZoneInfo("Europe/London")
# Events and carts cover the last twelve months only: enough history for send-hour models and
# the abandoned-cart report, without making the event log the bulk of the store.
RECENT_FROM_S = int(datetime(2025, 7, 1, tzinfo=UTC).timestamp())
# Receipts of walk-in shoppers the retailer never identifies, as a share of all orders.
ANONYMOUS_SHARE = 0.12
# Customers whose history is split over two profile nodes linked by a merge.
SECOND_NODE_SHARE = 0.10
CATALOGUE_SIZE = 2000

SOURCE_ID = {source.name: number for number, source in enumerate(SOURCES, start=1)}
POS, ESHOP, APP = 0, 1, 2
# The source each channel's orders come from, and the one its tracking events come from.
ORDER_SOURCE = np.array([SOURCE_ID["store-pos"], SOURCE_ID["eshop"], SOURCE_ID["mobile-app"]])
EVENT_SOURCE = np.array([0, SOURCE_ID["eshop-web"], SOURCE_ID["mobile-app"]])
CHANNEL_NAME = ("pos", "eshop", "app")
ORDER_PREFIX = ("R", "EO", "AO")
# How purchases split over the channels a customer uses, and the single channel's odds.
CHANNEL_BASE = np.array([0.5, 0.35, 0.15])
SINGLE_CHANNEL_CUM = np.array([0.55, 0.9])

STORE_IDS = [store_id for store_id, _, _ in STORES]
STORE_CUM = np.cumsum([weight for _, _, weight in STORES]) / sum(w for _, _, w in STORES)


@dataclass(frozen=True)
class Kind:
    name: str
    share: float
    # Purchases per year while alive, and the shape of its Gamma spread across customers.
    rate: float
    rate_shape: float
    # Mean chance of dropping out after each purchase (Beta spread across customers).
    dropout: float
    lines_mean: float
    # Share who were customers before the history starts, and share using several channels.
    existing: float
    multichannel: float


# The world's customer types (docs/world.md). One-off customers buy exactly once; prospects
# never buy.
KINDS = (
    Kind("loyal", 0.12, 7.0, 3.0, 0.02, 2.0, 0.5, 0.3),
    Kind("omnichannel", 0.16, 5.5, 3.0, 0.03, 2.1, 0.5, 1.0),
    Kind("occasional", 0.30, 1.8, 2.0, 0.10, 1.6, 0.3, 0.1),
    Kind("lapsing", 0.15, 3.5, 2.0, 0.30, 1.6, 0.3, 0.1),
    Kind("one_off", 0.22, 0.0, 1.0, 1.0, 1.4, 0.0, 0.0),
    Kind("prospect", 0.05, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0),
)
ONE_OFF = 4
PROSPECT = 5
KIND_CUM = np.cumsum([k.share for k in KINDS])[:-1]
KIND_RATE = np.array([k.rate for k in KINDS])
KIND_SHAPE = np.array([k.rate_shape for k in KINDS])
KIND_DROPOUT = np.array([k.dropout for k in KINDS])
KIND_LINES = np.array([k.lines_mean for k in KINDS])
KIND_EXISTING = np.array([k.existing for k in KINDS])
KIND_MULTI = np.array([k.multichannel for k in KINDS])
# Omnichannel customers buy more often and more per order than single-channel ones.
MULTICHANNEL_RATE = 1.1
MULTICHANNEL_EXTRA_LINES = 0.3
# Concentration of the Beta the drop-out probability is drawn from (mean = the kind's).
DROPOUT_CONCENTRATION = 12.0

DEPARTMENT_NAMES = list(DEPARTMENTS)
# A line comes from one of the three favourite departments (most favoured first) 60 % of the
# time, otherwise from anywhere in the store.
FAVOURITE_SHARE = 0.6
FAVOURITE_CUM = np.array([0.5, 0.8])
QUANTITY_CUM = np.array([0.82, 0.96])
MARKDOWNS = np.array([20, 30, 40, 50])
MARKDOWN_SHARE = 0.35
# Campaign vouchers by month (percent off the order), used on some orders of that month.
VOUCHERS = {3: ("SPRING10", 10), 4: ("SPRING10", 10), 5: ("SPRING10", 10),
            6: ("SUMMER15", 15), 7: ("SUMMER15", 15), 8: ("SUMMER15", 15),
            11: ("BLACKFRIDAY20", 20)}  # fmt: skip
VOUCHER_SHARE = 0.08


class StoreBuildError(RuntimeError):
    """The store cannot be built (bad arguments, a store that holds data, a failed check)."""


# --- the calendar -------------------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    """Per day of the history: demand, month, sale flag and the UK offset from UTC."""

    demand: Floats
    month: Ints
    sale: NDArray[np.bool_]
    utc_offset_s: Ints

    @classmethod
    def build(cls) -> Calendar:
        demand, month, sale, offset = [], [], [], []
        for index in range(DAYS):
            day = HISTORY_START + timedelta(days=index)
            weight = MONTH_DEMAND[day.month - 1] * WEEKDAY_DEMAND[day.weekday()]
            black_friday = _black_friday(day.year)
            if abs((day.date() - black_friday).days) <= 3:
                weight *= 1.9 / MONTH_DEMAND[10]
            if (day.month, day.day) == (12, 25):
                weight *= 0.05
            demand.append(weight)
            month.append(day.month - 1)
            sale.append(day.month == 1 or ((day.month, day.day) >= (6, 20) and day.month <= 7))
            local = day.replace(hour=12).astimezone(LONDON)
            offset.append(int(local.utcoffset().total_seconds()))  # type: ignore[union-attr]
        return cls(
            np.array(demand), np.array(month), np.array(sale), np.array(offset, dtype=np.int64)
        )


def _black_friday(year: int) -> date:
    first = datetime(year, 11, 1, tzinfo=UTC).date()
    first_friday = first + timedelta(days=(4 - first.weekday()) % 7)
    return first_friday + timedelta(weeks=3)


# --- the catalogue ------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    """The world's products, ordered by department, with per-month cumulative weights."""

    skus: list[str]
    names: list[str]
    categories: list[str]
    brands: list[str]
    prices: Ints
    department: Ints
    cumulative: Floats  # (12, products)
    segment_low: Floats  # (12, departments)
    segment_high: Floats

    @classmethod
    def build(cls, seed: int) -> Catalogue:
        products = build_catalogue(random.Random(seed), CATALOGUE_SIZE).products
        products = tuple(sorted(products, key=lambda p: DEPARTMENT_NAMES.index(p.department)))
        type_weight = {(t.department, t.name): t.weight for t in PRODUCT_TYPES}
        weights = np.array(
            [
                [
                    type_weight[(p.department, p.category.split(" > ")[1])]
                    * SEASONS[p.season][month]
                    * p.popularity
                    for p in products
                ]
                for month in range(12)
            ]
        )
        cumulative = np.cumsum(weights, axis=1)
        department = np.array([DEPARTMENT_NAMES.index(p.department) for p in products])
        starts = np.searchsorted(department, np.arange(len(DEPARTMENT_NAMES)), side="left")
        ends = np.searchsorted(department, np.arange(len(DEPARTMENT_NAMES)), side="right")
        padded = np.concatenate([np.zeros((12, 1)), cumulative], axis=1)
        return cls(
            skus=[p.sku for p in products],
            names=[p.name for p in products],
            categories=[p.category for p in products],
            brands=[p.brand for p in products],
            prices=np.array([p.price for p in products], dtype=np.int64),
            department=department,
            cumulative=cumulative,
            segment_low=padded[:, starts],
            segment_high=padded[:, ends],
        )

    def pick(self, rng: np.random.Generator, month: Ints, department: Ints) -> Ints:
        """A product per line, as bought in ``month``, from ``department`` (-1: anywhere)."""
        anywhere = department < 0
        safe = np.where(anywhere, 0, department)
        low = np.where(anywhere, 0.0, self.segment_low[month, safe])
        high = np.where(anywhere, self.cumulative[month, -1], self.segment_high[month, safe])
        target = low + rng.random(len(month)) * (high - low)
        picked = np.empty(len(month), dtype=np.int64)
        for m in range(12):
            rows = month == m
            picked[rows] = np.searchsorted(self.cumulative[m], target[rows], side="right")
        return np.minimum(picked, len(self.skus) - 1)


# --- customers and what they do -----------------------------------------------------------


@dataclass(frozen=True)
class Customers:
    """One chunk of customers: ids, hidden behaviour and profile nodes."""

    ids: Ints
    kind: Ints
    existing: NDArray[np.bool_]
    acquired_day: Floats
    rate_per_day: Floats
    dropout: Floats
    channels: NDArray[np.bool_]  # (n, 3): pos, eshop, app
    multichannel: NDArray[np.bool_]
    lines_mean: Floats
    favourites: Ints  # (n, 3)
    home_store: Ints
    second_store: Ints
    store_hour: Floats
    online_hour: Floats
    second_node: Ints  # the id of the customer's second profile node, 0 if none


def draw_customers(
    rng: np.random.Generator, first_id: int, count: int, rate_scale: float, first_node: int
) -> Customers:
    ids = np.arange(first_id, first_id + count, dtype=np.int64)
    kind = np.searchsorted(KIND_CUM, rng.random(count), side="right")
    existing = rng.random(count) < KIND_EXISTING[kind]
    acquired_day = np.where(existing, 0.0, rng.random(count) * DAYS)

    primary = np.searchsorted(SINGLE_CHANNEL_CUM, rng.random(count), side="right")
    channels = np.zeros((count, 3), dtype=bool)
    channels[np.arange(count), primary] = True
    multichannel = rng.random(count) < KIND_MULTI[kind]
    # A second channel, and all three for 40 % of the omnichannel.
    other = (primary + 1 + (rng.random(count) < 0.5)) % 3
    channels[np.flatnonzero(multichannel), other[multichannel]] = True
    every = multichannel & (kind == 1) & (rng.random(count) < 0.4)
    channels[every] = True
    # Prospects browse the e-shop or the app; they never buy.
    prospect = kind == PROSPECT
    channels[prospect] = False
    channels[prospect, np.where(rng.random(count) < 0.5, ESHOP, APP)[prospect]] = True

    shape = KIND_SHAPE[kind]
    rate = rng.gamma(shape, KIND_RATE[kind] / shape) * rate_scale
    rate = np.where(multichannel, rate * MULTICHANNEL_RATE, rate)
    mean_dropout = KIND_DROPOUT[kind]
    dropout = np.where(
        mean_dropout >= 1.0,
        1.0,
        rng.beta(
            np.maximum(mean_dropout, 1e-3) * DROPOUT_CONCENTRATION,
            (1 - np.minimum(mean_dropout, 0.999)) * DROPOUT_CONCENTRATION,
        ),
    )
    lines_mean = KIND_LINES[kind] + np.where(multichannel, MULTICHANNEL_EXTRA_LINES, 0.0)

    # Three favourite departments by gender, drawn without replacement (Gumbel top-k).
    female = rng.random(count) < 0.5
    taste_f = np.log([DEPARTMENT_TASTES["F"][d] for d in DEPARTMENT_NAMES])
    taste_m = np.log([DEPARTMENT_TASTES["M"][d] for d in DEPARTMENT_NAMES])
    keys = np.where(female[:, None], taste_f, taste_m) + rng.gumbel(
        size=(count, len(DEPARTMENT_NAMES))
    )
    favourites = np.argsort(-keys, axis=1)[:, :3]

    home_store = np.searchsorted(STORE_CUM, rng.random(count), side="right")
    second_store = (home_store + rng.integers(1, len(STORE_IDS), count)) % len(STORE_IDS)
    store_hour = np.clip(rng.normal(13.5, 2.2, count), 9.5, 19.5)
    # Online: evenings for most, lunchtime or early morning for the rest.
    slot = rng.random(count)
    online_hour = (
        np.where(
            slot < 0.6,
            rng.normal(20.5, 1.2, count),
            np.where(slot < 0.8, rng.normal(12.5, 0.8, count), rng.normal(7.5, 0.8, count)),
        )
        % 24
    )

    has_second = (rng.random(count) < SECOND_NODE_SHARE) & ~prospect
    second_node = np.zeros(count, dtype=np.int64)
    second_node[has_second] = first_node + np.arange(int(has_second.sum()))
    return Customers(
        ids=ids,
        kind=kind,
        existing=existing,
        acquired_day=acquired_day,
        rate_per_day=rate / 365.25,
        dropout=dropout,
        channels=channels,
        multichannel=multichannel,
        lines_mean=lines_mean,
        favourites=favourites,
        home_store=home_store,
        second_store=second_store,
        store_hour=store_hour,
        online_hour=online_hour,
        second_node=second_node,
    )


def draw_purchases(
    rng: np.random.Generator, customers: Customers, calendar: Calendar
) -> tuple[Ints, Floats]:
    """The BG/NBD process: while alive a customer buys at their own (seasonal) Poisson rate
    and drops out for good after each purchase with their drop-out probability. New
    customers' first purchase is their acquisition. Returns (customer index, day as float),
    sorted by customer then time."""
    count = len(customers.ids)
    start = customers.acquired_day
    window = DAYS - start
    peak = float(calendar.demand.max())
    candidates = rng.poisson(customers.rate_per_day * window * peak)
    owner = np.repeat(np.arange(count), candidates)
    day = start[owner] + rng.random(len(owner)) * window[owner]
    # Thinning a Poisson process at the peak rate gives one that follows the calendar.
    kept = rng.random(len(owner)) < calendar.demand[day.astype(np.int64)] / peak
    owner, day = owner[kept], day[kept]
    order = np.lexsort((day, owner))
    owner, day = owner[order], day[order]
    first_of_owner = np.searchsorted(owner, owner, side="left")
    rank = np.arange(len(owner)) - first_of_owner
    # Purchases made before dropping out, the last one included (at least one).
    alive_for = rng.geometric(customers.dropout)
    new = ~customers.existing & (customers.kind != PROSPECT)
    limit = np.where(new, alive_for - 1, alive_for)
    kept = rank < limit[owner]
    owner, day = owner[kept], day[kept]
    first_owner = np.flatnonzero(new)
    owner = np.concatenate([first_owner, owner])
    day = np.concatenate([start[first_owner], day])
    order = np.lexsort((day, owner))
    return owner[order], day[order]


@functools.cache
def calibrate_rate_scale(seed: int, target: float) -> float:
    """The factor on the world's purchase rates that gives ``target`` identified orders per
    customer on average (a few passes over a seeded sample)."""
    calendar = Calendar.build()
    scale = 1.0
    for attempt in range(6):
        rng = np.random.default_rng([seed, 99, attempt])
        sample = draw_customers(rng, 1, 40_000, scale, 1)
        owner, _ = draw_purchases(rng, sample, calendar)
        mean = len(owner) / 40_000
        if abs(mean - target) / target < 0.005:
            break
        # Only the repeat purchases scale with the rate.
        first = float((~sample.existing & (sample.kind != PROSPECT)).mean())
        scale *= max(target - first, 0.1) / max(mean - first, 0.1)
    return scale


# --- rows ---------------------------------------------------------------------------------


def sql_times(seconds: Ints) -> list[str]:
    """UTC epoch seconds as SQLAlchemy stores DateTime on SQLite ('YYYY-MM-DD HH:MM:SS.ffffff')."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").astype("<U19")
    codes = np.zeros((len(seconds), 26), dtype=np.uint32)
    codes[:, :19] = text.view(np.uint32).reshape(-1, 19)
    codes[:, 10] = ord(" ")
    codes[:, 19:] = np.frombuffer(".000000".encode("utf-32-le"), dtype=np.uint32)
    return codes.view("<U26").ravel().tolist()


def content_hashes(keys: Iterable[str]) -> list[str]:
    return [hashlib.sha256(key.encode()).hexdigest() for key in keys]


@dataclass
class Counters:
    """Next ids; every table's ids run on across chunks."""

    order: int = 1
    line: int = 1
    event: int = 1
    cart: int = 1
    merge: int = 1


def chunk_tables(
    rng: np.random.Generator,
    customers: Customers,
    *,
    anonymous: int,
    calendar: Calendar,
    catalogue: Catalogue,
    counters: Counters,
) -> list[Table]:
    """Every row one chunk of customers leaves in the store."""
    tables: list[Table] = []
    count = len(customers.ids)

    # Profile nodes: one canonical root per customer, and for some a second node merged
    # into it (the loser of a deterministic merge).
    existing_since = START_S - (rng.random(count) * 3 * 365 * DAY).astype(np.int64)
    acquired_s = np.where(
        customers.existing,
        existing_since,
        START_S + (customers.acquired_day * DAY).astype(np.int64),
    )
    has_second = customers.second_node > 0
    losers = customers.second_node[has_second]
    winners = customers.ids[has_second]
    merged_s = np.minimum(
        acquired_s[has_second] + (rng.random(len(losers)) * 200 * DAY).astype(np.int64), END_S
    )
    created = sql_times(acquired_s)
    merged = sql_times(merged_s)
    updated = list(created)
    for position, when in zip(np.flatnonzero(has_second).tolist(), merged, strict=True):
        updated[position] = when
    profile_rows: list[Sequence[object]] = list(
        zip(
            customers.ids.tolist(),
            customers.ids.tolist(),
            [None] * count,
            created,
            updated,
            strict=True,
        )
    )
    profile_rows += zip(
        losers.tolist(), winners.tolist(), winners.tolist(), merged, merged, strict=True
    )
    tables.append(
        (
            "profiles",
            ("id", "canonical_id", "merged_into_id", "created_at", "updated_at"),
            profile_rows,
        )
    )
    merge_ids = range(counters.merge, counters.merge + len(losers))
    counters.merge += len(losers)
    reasons = [
        orjson.dumps(
            {
                "rule": "identifiers seen together",
                "identifier": {"type": "email", "value": f"customer{winner}@example.com"},
            }
        ).decode()
        for winner in winners.tolist()
    ]
    tables.append(
        (
            "merges",
            ("id", "winner_id", "loser_id", "method", "reason", "created_at"),
            zip(
                merge_ids,
                winners.tolist(),
                losers.tolist(),
                ["deterministic"] * len(losers),
                reasons,
                merged,
                strict=True,
            ),
        )
    )

    # Orders of identified customers.
    owner, day_float = draw_purchases(rng, customers, calendar)
    day = np.minimum(day_float.astype(np.int64), DAYS - 1)
    weights = CHANNEL_BASE * customers.channels[owner]
    cumulative = np.cumsum(weights, axis=1)
    pick = rng.random(len(owner)) * cumulative[:, -1]
    channel = (pick[:, None] >= cumulative).sum(axis=1)
    in_store = channel == POS
    local_hour = np.where(
        in_store,
        np.clip(rng.normal(customers.store_hour[owner], 1.0), 9.0, 20.95),
        (customers.online_hour[owner] + rng.normal(0.0, 1.3, len(owner))) % 24,
    )
    # Store: the home store mostly; click & collect for some e-shop and app orders.
    store = np.where(
        rng.random(len(owner)) < 0.8, customers.home_store[owner], customers.second_store[owner]
    )
    collect = rng.random(len(owner)) < np.select(
        [channel == ESHOP, channel == APP], [0.12, 0.05], 1.0
    )
    store = np.where(in_store | collect, store, -1)
    identified = np.ones(len(owner), dtype=bool)

    # Walk-in receipts of shoppers never identified.
    anonymous_day = np.searchsorted(
        np.cumsum(calendar.demand) / calendar.demand.sum(), rng.random(anonymous), side="right"
    )
    anonymous_day = np.minimum(anonymous_day, DAYS - 1)
    all_day = np.concatenate([day, anonymous_day])
    all_hour = np.concatenate([local_hour, np.clip(rng.normal(13.5, 2.5, anonymous), 9.0, 20.95)])
    all_channel = np.concatenate([channel, np.full(anonymous, POS)])
    all_store = np.concatenate(
        [store, np.searchsorted(STORE_CUM, rng.random(anonymous), side="right")]
    )
    all_owner = np.concatenate([owner, np.full(anonymous, -1)])
    all_identified = np.concatenate([identified, np.zeros(anonymous, dtype=bool)])
    seconds = (
        START_S
        + all_day * DAY
        + (all_hour * 3600).astype(np.int64)
        - calendar.utc_offset_s[all_day]
    )
    seconds = np.clip(seconds, START_S, END_S)
    # Ids follow time within the chunk, as a till's or a shop's numbering would.
    order = np.argsort(seconds, kind="stable")
    all_day, all_channel, all_store, all_owner, all_identified, seconds = (
        all_day[order], all_channel[order], all_store[order], all_owner[order],
        all_identified[order], seconds[order],
    )  # fmt: skip
    orders = len(seconds)
    order_pk = np.arange(counters.order, counters.order + orders, dtype=np.int64)
    counters.order += orders

    # Lines: 1 to 4 per order, from favourite departments or anywhere, seasonal.
    lines_mean = np.where(all_identified, customers.lines_mean[np.maximum(all_owner, 0)], 1.3)
    line_count = np.clip(1 + rng.poisson(lines_mean - 1), 1, 4)
    line_order = np.repeat(np.arange(orders), line_count)
    line_no = np.arange(len(line_order)) - np.searchsorted(line_order, line_order) + 1
    line_owner = all_owner[line_order]
    favourite_line = (line_owner >= 0) & (rng.random(len(line_order)) < FAVOURITE_SHARE)
    favourite_rank = np.searchsorted(FAVOURITE_CUM, rng.random(len(line_order)), side="right")
    department = np.where(
        favourite_line, customers.favourites[np.maximum(line_owner, 0), favourite_rank], -1
    )
    product = catalogue.pick(rng, calendar.month[all_day[line_order]], department)
    quantity = np.searchsorted(QUANTITY_CUM, rng.random(len(line_order)), side="right") + 1
    unit_price = catalogue.prices[product]
    marked_down = calendar.sale[all_day[line_order]] & (
        rng.random(len(line_order)) < MARKDOWN_SHARE
    )
    percent = MARKDOWNS[rng.integers(0, len(MARKDOWNS), len(line_order))]
    line_discount = np.where(marked_down, quantity * unit_price * percent // 100, 0)
    line_total = quantity * unit_price - line_discount
    subtotal = np.bincount(line_order, weights=line_total, minlength=orders).astype(np.int64)

    # Campaign vouchers take a percentage off the order.
    month = calendar.month[all_day] + 1
    voucher_percent = np.zeros(orders, dtype=np.int64)
    voucher_code: list[str | None] = [None] * orders
    uses_voucher = rng.random(orders) < VOUCHER_SHARE
    for number, (code, percent_off) in VOUCHERS.items():
        rows = np.flatnonzero(uses_voucher & (month == number))
        voucher_percent[rows] = percent_off
        for row in rows.tolist():
            voucher_code[row] = code
    order_discount = subtotal * voucher_percent // 100
    total = subtotal - order_discount

    order_ids = [
        f"{ORDER_PREFIX[c]}{pk:010d}"
        for c, pk in zip(all_channel.tolist(), order_pk.tolist(), strict=True)
    ]
    source_ids = ORDER_SOURCE[all_channel].tolist()
    ordered_at = sql_times(seconds)
    store_names = [STORE_IDS[s] if s >= 0 else None for s in all_store.tolist()]
    hashes = content_hashes(
        f"{s}|{o}|{t}" for s, o, t in zip(source_ids, order_ids, total.tolist(), strict=True)
    )
    tables.append(
        (
            "orders",
            (
                "id", "source_id", "order_id", "ordered_at", "channel", "store_id",
                "currency", "total_minor", "discount_minor", "voucher_code", "attributes",
                "content_hash", "created_at", "updated_at",
            ),
            zip(
                order_pk.tolist(), source_ids, order_ids, ordered_at,
                [CHANNEL_NAME[c] for c in all_channel.tolist()], store_names,
                [CURRENCY] * orders, total.tolist(), order_discount.tolist(), voucher_code,
                ["{}"] * orders, hashes, ordered_at, ordered_at,
                strict=True,
            ),
        )
    )  # fmt: skip
    line_count_total = len(line_order)
    line_pk = range(counters.line, counters.line + line_count_total)
    counters.line += line_count_total
    tables.append(
        (
            "order_lines",
            (
                "id", "order_pk", "line_no", "sku", "quantity", "unit_price_minor",
                "discount_minor", "total_minor",
            ),
            zip(
                line_pk, order_pk[line_order].tolist(), line_no.tolist(),
                [catalogue.skus[p] for p in product.tolist()], quantity.tolist(),
                unit_price.tolist(), line_discount.tolist(), line_total.tolist(),
                strict=True,
            ),
        )
    )  # fmt: skip

    # Identified orders belong to the customer's root, or to its merged second node.
    known = np.flatnonzero(all_identified)
    known_owner = all_owner[known]
    second = customers.second_node[known_owner]
    on_second = (second > 0) & (rng.random(len(known)) < 0.4)
    profile = np.where(on_second, second, customers.ids[known_owner])
    tables.append(
        (
            "order_profiles",
            ("order_pk", "profile_id"),
            zip(order_pk[known].tolist(), profile.tolist(), strict=True),
        )
    )

    tables += _recent_activity(
        rng, customers, calendar, catalogue, counters,
        orders=_RecentOrders(
            owner=all_owner, channel=all_channel, seconds=seconds, order_ids=order_ids,
            subtotal=subtotal, total=total, line_order=line_order, product=product,
            quantity=quantity, unit_price=unit_price,
        ),
    )  # fmt: skip
    return tables


@dataclass(frozen=True)
class _RecentOrders:
    owner: Ints
    channel: Ints
    seconds: Ints
    order_ids: list[str]
    subtotal: Ints
    total: Ints
    line_order: Ints
    product: Ints
    quantity: Ints
    unit_price: Ints


def _user_id(channel: int, customer: int) -> str:
    # The e-shop's web analytics sends the e-shop account id; the app its own user id.
    return f"{100_000_000 + customer}" if channel == ESHOP else f"app-{customer:09d}"


def _recent_activity(
    rng: np.random.Generator,
    customers: Customers,
    calendar: Calendar,
    catalogue: Catalogue,
    counters: Counters,
    *,
    orders: _RecentOrders,
) -> list[Table]:
    """Tracking events and carts of the last twelve months: ``Order Completed`` for every
    online order, ``Application Opened`` around each app user's preferred hour, a checked-out
    cart per online order and abandoned (or still open) carts beside them."""
    online = np.flatnonzero(
        (orders.owner >= 0) & (orders.channel != POS) & (orders.seconds >= RECENT_FROM_S)
    )
    # Application Opened: app users open the app around their online hour, more often the
    # more they buy.
    app_users = np.flatnonzero(customers.channels[:, APP])
    since = np.maximum(
        RECENT_FROM_S, START_S + (customers.acquired_day[app_users] * DAY).astype(np.int64)
    )
    opens = rng.poisson(0.5 + customers.rate_per_day[app_users] * 365 * 0.6)
    open_owner = np.repeat(app_users, opens)
    open_since = np.repeat(since, opens)
    open_day = ((open_since + rng.random(len(open_owner)) * (END_S - open_since)) - START_S).astype(
        np.int64
    ) // DAY
    open_hour = (customers.online_hour[open_owner] + rng.normal(0, 1.5, len(open_owner))) % 24
    open_seconds = np.clip(
        START_S
        + open_day * DAY
        + (open_hour * 3600).astype(np.int64)
        - calendar.utc_offset_s[open_day],
        RECENT_FROM_S,
        END_S,
    )

    owner = np.concatenate([orders.owner[online], open_owner])
    channel = np.concatenate([orders.channel[online], np.full(len(open_owner), APP)])
    seconds = np.concatenate([orders.seconds[online], open_seconds])
    source_order = np.concatenate([online, np.full(len(open_owner), -1)])
    by_time = np.argsort(seconds, kind="stable")
    owner, channel, seconds, source_order = (
        owner[by_time],
        channel[by_time],
        seconds[by_time],
        source_order[by_time],
    )
    count = len(owner)
    event_pk = np.arange(counters.event, counters.event + count, dtype=np.int64)
    counters.event += count
    customer = customers.ids[owner].tolist()
    users = [_user_id(c, k) for c, k in zip(channel.tolist(), customer, strict=True)]
    names = ["Order Completed" if o >= 0 else "Application Opened" for o in source_order.tolist()]
    message_ids = [f"ajs-next-{pk:032x}" for pk in event_pk.tolist()]
    stamps = sql_times(seconds)
    received = sql_times(seconds + 1)
    iso = [s[:19].replace(" ", "T") + ".000Z" for s in stamps]
    payloads = []
    for name, user, message, when, index in zip(
        names, users, message_ids, iso, source_order.tolist(), strict=True
    ):
        body: dict[str, object] = {
            "type": "track", "event": name, "userId": user, "messageId": message,
            "timestamp": when,
        }  # fmt: skip
        if index >= 0:
            body["properties"] = {
                "order_id": orders.order_ids[index],
                "total": int(orders.total[index]) / 100,
                "currency": CURRENCY,
            }
        payloads.append(orjson.dumps(body).decode())
    tables: list[Table] = [
        (
            "events",
            (
                "id",
                "source_id",
                "message_id",
                "type",
                "name",
                "user_id",
                "timestamp",
                "sent_at",
                "received_at",
                "payload",
            ),
            zip(
                event_pk.tolist(),
                EVENT_SOURCE[channel].tolist(),
                message_ids,
                ["track"] * count,
                names,
                users,
                stamps,
                stamps,
                received,
                payloads,
                strict=True,
            ),
        ),
        (
            "event_profiles",
            ("event_id", "profile_id"),
            zip(event_pk.tolist(), customer, strict=True),
        ),
    ]

    # Carts: one checked out per online order, and abandoned ones beside them (more on the
    # web than in the app); those still fresh at the end of the history are open.
    firsts = np.searchsorted(orders.line_order, online, side="left").tolist()
    lasts = np.searchsorted(orders.line_order, online, side="right").tolist()
    products, quantities, prices = (
        orders.product.tolist(),
        orders.quantity.tolist(),
        orders.unit_price.tolist(),
    )
    checked_items = [
        [_cart_item(catalogue, products[k], quantities[k], prices[k]) for k in range(first, last)]
        for first, last in zip(firsts, lasts, strict=True)
    ]
    checked_owner = orders.owner[online]
    checked_channel = orders.channel[online]
    checked_updated = orders.seconds[online]
    checked_created = checked_updated - rng.integers(300, 2400, len(online))
    abandons = rng.random(len(online)) < np.where(checked_channel == ESHOP, 0.55, 0.3)
    abandoned_owner = checked_owner[abandons]
    abandoned_channel = checked_channel[abandons]
    abandoned_created = orders.seconds[online][abandons] - rng.integers(
        DAY, 20 * DAY, int(abandons.sum())
    )
    abandoned_created = np.where(
        abandoned_created < RECENT_FROM_S,
        # Pushed after the order instead, so the cart stays inside the recent window.
        np.minimum(
            orders.seconds[online][abandons] + rng.integers(DAY, 20 * DAY, int(abandons.sum())),
            END_S - 60,
        ),
        abandoned_created,
    )
    abandoned_updated = np.minimum(
        abandoned_created + rng.integers(120, 3600, len(abandoned_created)), END_S
    )
    abandoned_department = customers.favourites[abandoned_owner, 0]
    abandoned_product = catalogue.pick(
        rng, calendar.month[(abandoned_created - START_S) // DAY], abandoned_department
    )
    abandoned_quantity = (
        np.searchsorted(QUANTITY_CUM, rng.random(len(abandoned_product)), side="right") + 1
    )
    abandoned_items = [
        [_cart_item(catalogue, p, q, int(catalogue.prices[p]))]
        for p, q in zip(abandoned_product.tolist(), abandoned_quantity.tolist(), strict=True)
    ]
    cart_owner = np.concatenate([checked_owner, abandoned_owner])
    cart_channel = np.concatenate([checked_channel, abandoned_channel])
    created_s = np.concatenate([checked_created, abandoned_created])
    updated_s = np.concatenate([checked_updated, abandoned_updated])
    values = np.concatenate(
        [orders.subtotal[online], catalogue.prices[abandoned_product] * abandoned_quantity]
    )
    status = ["checked_out"] * len(online) + [
        "open" if u > END_S - 2 * DAY else "abandoned" for u in abandoned_updated.tolist()
    ]
    order_refs: list[str | None] = [orders.order_ids[i] for i in online.tolist()]
    order_refs += [None] * len(abandoned_owner)
    items = checked_items + abandoned_items
    by_time = np.argsort(created_s, kind="stable")
    count = len(by_time)
    cart_pk = range(counters.cart, counters.cart + count)
    counters.cart += count
    order_list = by_time.tolist()
    channel_list = cart_channel[by_time].tolist()
    customer_list = customers.ids[cart_owner[by_time]].tolist()
    tables.append(
        (
            "carts",
            (
                "id", "source_id", "cart_id", "user_id", "status", "currency", "value_minor",
                "items", "order_id", "created_at", "updated_at",
            ),
            zip(
                cart_pk, EVENT_SOURCE[cart_channel[by_time]].tolist(),
                [f"cart-{pk:012d}" for pk in cart_pk],
                [_user_id(c, k) for c, k in zip(channel_list, customer_list, strict=True)],
                [status[i] for i in order_list], [CURRENCY] * count,
                values[by_time].tolist(),
                [orjson.dumps(items[i]).decode() for i in order_list],
                [order_refs[i] for i in order_list],
                sql_times(created_s[by_time]), sql_times(updated_s[by_time]),
                strict=True,
            ),
        )
    )  # fmt: skip
    return tables


def _cart_item(
    catalogue: Catalogue, product: int, quantity: int, price_minor: int
) -> dict[str, object]:
    sku = catalogue.skus[product]
    return {
        "product_id": sku,
        "sku": sku,
        "name": catalogue.names[product],
        "price": price_minor / 100,
        "quantity": quantity,
    }


def reference_tables(seed: int, catalogue: Catalogue) -> list[Table]:
    """The world's five sources and its catalogue, listed once per selling system."""
    created = sql_times(np.array([START_S - 400 * DAY]))[0]
    source_rows = []
    for number, source in enumerate(SOURCES, start=1):
        write_key = f"bench-{seed}-{source.name}"
        source_rows.append(
            (
                number, source.name, source.channel,
                hashlib.sha256(write_key.encode()).hexdigest(), write_key[:12],
                source.default_region, created,
            )
        )  # fmt: skip
    product_rows = []
    product_id = 1
    for name in ("store-pos", "eshop", "mobile-app"):
        for index, sku in enumerate(catalogue.skus):
            row = (
                SOURCE_ID[name], sku, catalogue.names[index], catalogue.categories[index],
                catalogue.brands[index], CURRENCY, int(catalogue.prices[index]),
            )  # fmt: skip
            content_hash = hashlib.sha256(repr(row).encode()).hexdigest()
            product_rows.append((product_id, *row, "{}", content_hash, created, created))
            product_id += 1
    return [
        (
            "sources",
            (
                "id",
                "name",
                "channel",
                "write_key_hash",
                "write_key_hint",
                "default_region",
                "created_at",
            ),
            source_rows,
        ),
        (
            "products",
            (
                "id",
                "source_id",
                "sku",
                "name",
                "category",
                "brand",
                "currency",
                "price_minor",
                "attributes",
                "content_hash",
                "created_at",
                "updated_at",
            ),
            product_rows,
        ),
    ]


# --- writing ------------------------------------------------------------------------------


class SqliteWriter:
    """Bulk inserts into a migrated SQLite store: no journal, no fsync, secondary indexes
    made once at the end (as the migrations define them)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.connection = sqlite3.connect(path, isolation_level=None)
        if self.connection.execute("SELECT count(*) FROM sources").fetchone()[0]:
            self.connection.close()
            msg = f"{path} already holds data: the benchmark store is built into an empty one"
            raise StoreBuildError(msg)
        for pragma in (
            "journal_mode=OFF", "synchronous=OFF", "locking_mode=EXCLUSIVE",
            "foreign_keys=OFF", "temp_store=MEMORY", "cache_size=-524288",
        ):  # fmt: skip
            self.connection.execute(f"PRAGMA {pragma}")
        self.indexes: list[tuple[str, str]] = self.connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in self.indexes:
            self.connection.execute(f'DROP INDEX "{name}"')

    def write(self, tables: list[Table]) -> dict[str, int]:
        written: dict[str, int] = {}
        self.connection.execute("BEGIN")
        for table, columns, rows in tables:
            before = self.connection.total_changes
            placeholders = ", ".join("?" * len(columns))
            self.connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows
            )
            written[table] = self.connection.total_changes - before
        self.connection.execute("COMMIT")
        return written

    def finish(self) -> None:
        for _, sql in self.indexes:
            self.connection.execute(sql)
        self.connection.execute("PRAGMA locking_mode=NORMAL")
        # Patron runs SQLite in WAL mode; the switch also releases the exclusive lock.
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.close()

    def check(self) -> None:
        """Refuse the store unless every foreign key holds and the file is intact."""
        connection = sqlite3.connect(self.path)
        try:
            broken = connection.execute("PRAGMA foreign_key_check").fetchmany(5)
            if broken:
                msg = f"foreign keys broken in {self.path}: {broken}"
                raise StoreBuildError(msg)
            integrity = connection.execute("PRAGMA integrity_check").fetchall()
            if integrity != [("ok",)]:
                msg = f"integrity_check failed on {self.path}: {integrity[:5]}"
                raise StoreBuildError(msg)
        finally:
            connection.close()

    def size_on_disk(self) -> int:
        files = (Path(self.path + suffix) for suffix in ("", "-wal", "-shm"))
        return sum(file.stat().st_size for file in files if file.is_file())


# Secondary indexes of the public schema: those that back no constraint.
_POSTGRES_INDEXES = """
    SELECT i.relname, pg_get_indexdef(i.oid)
    FROM pg_index AS x
    JOIN pg_class AS i ON i.oid = x.indexrelid
    JOIN pg_class AS t ON t.oid = x.indrelid
    JOIN pg_namespace AS n ON n.oid = t.relnamespace
    WHERE n.nspname = current_schema()
      AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = x.indexrelid)
"""


class PostgresWriter:
    """COPY into a migrated PostgreSQL database; secondary indexes made once at the end.
    Constraints stay in force, so PostgreSQL checks every key as the rows arrive."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.connection = psycopg.connect(
            host=parsed.host,
            port=parsed.port,
            user=parsed.username,
            password=parsed.password,
            dbname=parsed.database,
            autocommit=True,
        )
        self.connection.execute("SET TimeZone = 'UTC'")
        held = self.connection.execute("SELECT count(*) FROM sources").fetchone()
        if held and held[0]:
            self.connection.close()
            msg = (
                f"{parsed.database} already holds data: the benchmark store is built into an "
                "empty one"
            )
            raise StoreBuildError(msg)
        self.indexes = self.connection.execute(_POSTGRES_INDEXES).fetchall()
        for name, _ in self.indexes:
            self.connection.execute(f'DROP INDEX "{name}"')

    def write(self, tables: list[Table]) -> dict[str, int]:
        written: dict[str, int] = {}
        with self.connection.transaction(), self.connection.cursor() as cursor:
            for table, columns, rows in tables:
                count = 0
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        count += 1
                written[table] = count
        return written

    def finish(self) -> None:
        for _, sql in self.indexes:
            self.connection.execute(sql)
        # The ids were given explicitly: move each table's sequence past them.
        for table in (
            "sources", "products", "profiles", "merges", "orders", "order_lines", "events",
            "carts",
        ):  # fmt: skip
            self.connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        self.connection.execute("ANALYZE")

    def check(self) -> None:
        """Every key was checked by PostgreSQL on the way in; nothing more to do."""

    def size_on_disk(self) -> int:
        row = self.connection.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self.connection.close()


@dataclass(frozen=True)
class BuildSummary:
    database_url: str
    customers: int
    rows: dict[str, int]
    seconds: float
    check_seconds: float
    bytes_on_disk: int
    peak_rss_mb: float
    rate_scale: float


def build_store(
    database_url: str,
    *,
    customers: int,
    orders_per_customer: float,
    seed: int,
    chunk: int = 50_000,
    check: bool = True,
    progress: bool = False,
) -> BuildSummary:
    """Migrate the store at ``database_url`` (SQLite file or PostgreSQL) and fill it.

    Raises ``StoreBuildError`` for a bad size, a store that already holds data, or a SQLite
    file that fails ``foreign_key_check`` / ``integrity_check``.
    """
    if customers <= 0 or orders_per_customer <= 0 or chunk <= 0:
        msg = "customers, orders per customer and chunk size must be positive"
        raise StoreBuildError(msg)
    url = normalise_url(database_url)
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and (not parsed.database or parsed.database == ":memory:"):
        msg = "the benchmark store needs a SQLite file"
        raise StoreBuildError(msg)
    if backend not in {"sqlite", "postgresql"}:
        msg = f"the benchmark store is SQLite or PostgreSQL, not {backend!r}"
        raise StoreBuildError(msg)
    started = time.perf_counter()
    if backend == "sqlite":
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
    migrations.upgrade(url)
    writer: SqliteWriter | PostgresWriter = (
        SqliteWriter(str(parsed.database)) if backend == "sqlite" else PostgresWriter(url)
    )
    calendar = Calendar.build()
    catalogue = Catalogue.build(seed)
    rate_scale = calibrate_rate_scale(seed, orders_per_customer * (1 - ANONYMOUS_SHARE))
    rows: dict[str, int] = {}

    def write(tables: list[Table]) -> None:
        for table, count in writer.write(tables).items():
            rows[table] = rows.get(table, 0) + count

    write(reference_tables(seed, catalogue))
    counters = Counters()
    next_node = customers + 1
    for index, first in enumerate(range(1, customers + 1, chunk)):
        size = min(chunk, customers - first + 1)
        rng = np.random.default_rng([seed, index])
        group = draw_customers(rng, first, size, rate_scale, next_node)
        next_node += int((group.second_node > 0).sum())
        write(
            chunk_tables(
                rng,
                group,
                anonymous=round(size * orders_per_customer * ANONYMOUS_SHARE),
                calendar=calendar,
                catalogue=catalogue,
                counters=counters,
            )
        )
        if progress:
            print(
                f"  {first + size - 1:>10,} customers, {rows.get('orders', 0):>12,} orders, "
                f"{time.perf_counter() - started:7.1f} s",
                file=sys.stderr,
            )
    writer.finish()
    built = time.perf_counter()
    if check:
        writer.check()
    finished = time.perf_counter()
    size_on_disk = writer.size_on_disk()
    if isinstance(writer, PostgresWriter):
        writer.close()
    return BuildSummary(
        database_url=parsed.render_as_string(hide_password=True),
        customers=customers,
        rows=rows,
        seconds=built - started,
        check_seconds=finished - built,
        bytes_on_disk=size_on_disk,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        rate_scale=rate_scale,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--orders-per-customer", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, help="the SQLite file to build (new or empty)")
    target.add_argument("--database-url", help="an empty PostgreSQL (or SQLite) database")
    parser.add_argument("--chunk", type=int, default=50_000, help="customers per batch")
    parser.add_argument("--no-check", action="store_true", help="skip SQLite's integrity_check")
    args = parser.parse_args(argv)
    url = args.database_url or f"sqlite:///{args.out}"
    try:
        summary = build_store(
            url,
            customers=args.customers,
            orders_per_customer=args.orders_per_customer,
            seed=args.seed,
            chunk=args.chunk,
            check=not args.no_check,
            progress=True,
        )
    except StoreBuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        json.dumps(
            {
                "database_url": summary.database_url,
                "customers": summary.customers,
                "rows": summary.rows,
                "build_s": round(summary.seconds, 1),
                "check_s": round(summary.check_seconds, 1),
                "mb_on_disk": round(summary.bytes_on_disk / 1e6),
                "peak_rss_mb": round(summary.peak_rss_mb),
                "rate_scale": round(summary.rate_scale, 3),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
