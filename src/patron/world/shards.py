"""One shard of the world: the lives of a few thousand people, written to its own spools.

Shards have a fixed size, so a world's bytes never depend on how many processes made it.
Each shard has its own random generator and its own ranges of ids; what all shards share
(the calendar, the catalogue, the in-store tablets) is rebuilt from the seed in each process.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from patron.world.catalogue import Catalogue, build_catalogue, catalogue_size
from patron.world.events import Device, EventWriter, tablet
from patron.world.lives import Ids, Lives, Sinks
from patron.world.mess import Nicknames
from patron.world.records import RecordMaker
from patron.world.shopping import STORE_IDS
from patron.world.timeline import Day, build_calendar
from patron.world.writers import CsvOutput, Spool

if TYPE_CHECKING:
    from pathlib import Path

    from patron.world.people import Person

SHARD_SIZE = 5000
SPOOLS = (
    "pos_customers", "pos_orders", "eshop_customers", "eshop_orders", "app_orders",
    "crm_customers", "web_events", "app_events",
)  # fmt: skip
# Receipts from shoppers the retailer never identifies, per person in the world.
WALK_INS_PER_PERSON = 0.6
# Visits to the e-shop by people who never log in nor buy, per person in the world.
ANONYMOUS_VISITS_PER_PERSON = 0.3


@dataclass(frozen=True, slots=True)
class ShardTask:
    seed: int
    customers: int
    index: int
    shard_size: int
    root: Path
    people: tuple[Person, ...]


@dataclass(frozen=True, slots=True)
class ShardResult:
    index: int
    truth_rows: int
    people_rows: int


@dataclass(frozen=True, slots=True)
class Shared:
    calendar: tuple[Day, ...]
    demand_cum: tuple[float, ...]
    catalogue: Catalogue
    tablets: dict[str, Device]
    nicknames: Nicknames


@functools.cache
def shared(seed: int, customers: int) -> Shared:
    """What every shard of a world shares, the same in every process."""
    calendar = build_calendar()
    demand_cum: list[float] = []
    total = 0.0
    for day in calendar:
        total += day.demand
        demand_cum.append(total)
    # Every generator of the world is a seeded random.Random: a reproducible simulation, never
    # a secret.
    catalogue_rng = random.Random(f"{seed}:catalogue")  # noqa: S311
    catalogue = build_catalogue(catalogue_rng, catalogue_size(customers))
    tablet_rng = random.Random(f"{seed}:tablets")  # noqa: S311
    tablets = {store: tablet(tablet_rng, store) for store in STORE_IDS}
    return Shared(calendar, tuple(demand_cum), catalogue, tablets, Nicknames())


def shard_directory(root: Path, index: int) -> Path:
    return root / f"shard-{index:05d}"


def run_shard(task: ShardTask) -> ShardResult:
    """Live the shard's people, and its share of anonymous shoppers and visitors."""
    world = shared(task.seed, task.customers)
    rng = random.Random(f"{task.seed}:shard:{task.index}")  # noqa: S311 - a simulation
    directory = shard_directory(task.root, task.index)
    spools = {name: Spool(directory / name) for name in SPOOLS}
    truth = CsvOutput(directory / "truth.csv", None)
    people = CsvOutput(directory / "people.csv", None)
    sinks = Sinks(
        pos_customers=spools["pos_customers"],
        pos_orders=spools["pos_orders"],
        eshop_customers=spools["eshop_customers"],
        eshop_orders=spools["eshop_orders"],
        app_orders=spools["app_orders"],
        crm_customers=spools["crm_customers"],
        truth=truth,
        people=people,
    )
    web = EventWriter(rng, world.catalogue, spools["web_events"])
    app = EventWriter(rng, world.catalogue, spools["app_events"])
    lives = Lives(
        rng,
        calendar=world.calendar,
        catalogue=world.catalogue,
        maker=RecordMaker(rng, world.nicknames),
        sinks=sinks,
        web=web,
        app=app,
        tablets=world.tablets,
        ids=Ids.for_shard(task.seed, task.index, task.shard_size),
    )
    for person in task.people:
        lives.live(person)

    departments = world.catalogue.departments
    for _ in range(round(len(task.people) * WALK_INS_PER_PERSON)):
        day = rng.choices(world.calendar, cum_weights=world.demand_cum)[0]
        lives.walk_in(day, tuple(rng.sample(departments, 3)))
    for _ in range(round(len(task.people) * ANONYMOUS_VISITS_PER_PERSON)):
        day = rng.choices(world.calendar, cum_weights=world.demand_cum)[0]
        at = day.start_s + rng.randrange(7 * 3600, 23 * 3600)
        web.web_anonymous(at, day.date.month - 1)

    for spool in spools.values():
        spool.close()
    truth.close()
    people.close()
    return ShardResult(task.index, truth.rows, people.rows)
