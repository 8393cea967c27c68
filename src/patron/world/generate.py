"""Generate a whole world into a directory: the channels' files, the truth, the manifest."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import threading
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from patron.world.lives import (
    APP_SOURCE,
    CRM_EXTRAS,
    CRM_SOURCE,
    ESHOP_EXTRAS,
    ESHOP_SOURCE,
    PEOPLE_COLUMNS,
    POS_EXTRAS,
    POS_SOURCE,
    TRUTH_COLUMNS,
    WEB_SOURCE,
    money,
)
from patron.world.people import PeopleFactory
from patron.world.records import CUSTOMER_COLUMNS
from patron.world.shards import (
    SHARD_SIZE,
    ShardResult,
    ShardTask,
    run_shard,
    shard_directory,
    shared,
)
from patron.world.timeline import CURRENCY, REGION
from patron.world.writers import (
    CsvOutput,
    JsonlOutput,
    merged,
    write_csv,
    write_jsonl,
    write_orders_csv,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from patron.world.people import Person

MANIFEST_FORMAT = "patron-world/1"
MANIFEST_NAME = "manifest.json"
ORDER_COLUMNS = (
    "id", "customer_id", "loyalty_card", "email", "phone", "ordered_at", "channel", "store_id",
    "currency", "total", "discount", "voucher_code",
)  # fmt: skip
ORDER_LINE_COLUMNS = ("order_id", "line_no", "sku", "quantity", "unit_price", "discount")
PRODUCT_COLUMNS = ("sku", "name", "category", "brand", "price", "currency")
_SPOOL_DIRECTORY = ".spool"


@dataclass(frozen=True, slots=True)
class WorldSource:
    name: str
    channel: str
    default_region: str


# The identity rules this retailer sets: its e-shop's web analytics sends the e-shop account
# id as userId (the app sends its own customer ids, which is the default).
IDENTITY_RULES: dict[str, object] = {"user_id_records": {WEB_SOURCE: ESHOP_SOURCE}}

SOURCES = (
    WorldSource(POS_SOURCE, "pos", REGION),
    WorldSource(ESHOP_SOURCE, "eshop", REGION),
    WorldSource(WEB_SOURCE, "web", REGION),
    WorldSource(APP_SOURCE, "app", REGION),
    WorldSource(CRM_SOURCE, "crm", REGION),
)
_CHANNEL = {source.name: source.channel for source in SOURCES}


@dataclass(frozen=True, slots=True)
class WorldFile:
    """One file of the world, as listed in its manifest, with how many rows it holds."""

    path: str
    kind: str
    source: str | None
    channel: str | None
    format: str
    rows: int


@dataclass(frozen=True, slots=True)
class WorldSummary:
    directory: Path
    seed: int
    customers: int
    files: tuple[WorldFile, ...]

    @property
    def rows(self) -> int:
        """Rows written, counting a file listed for several sources once."""
        return sum({file.path: file.rows for file in self.files}.values())


class WorldError(ValueError):
    """The world cannot be generated as asked (a bad argument, a directory not writable)."""


def generate_world(
    directory: Path,
    *,
    customers: int,
    seed: int,
    workers: int | None = None,
    shard_size: int = SHARD_SIZE,
) -> WorldSummary:
    """Write a world of ``customers`` people into ``directory``; same seed, same bytes.

    People are lived in shards of ``shard_size`` (each with its own random stream, so the
    shard size is part of what the seed means: keep the default); worlds of several shards
    are made by up to ``workers`` processes (default: one per core), and the bytes do not
    depend on how many. Raises WorldError if ``customers`` or ``shard_size`` is not positive
    or the directory cannot be written. Files already in the directory with the world's
    names are replaced; others are left alone.
    """
    if customers <= 0:
        msg = f"the number of customers must be positive, not {customers}"
        raise WorldError(msg)
    if shard_size <= 0:
        msg = f"the shard size must be positive, not {shard_size}"
        raise WorldError(msg)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        spool_root = directory / _SPOOL_DIRECTORY
        if spool_root.exists():
            shutil.rmtree(spool_root)
        spool_root.mkdir()
    except OSError as error:
        msg = f"cannot write the world into {directory}: {error.strerror or error}"
        raise WorldError(msg) from error
    shards = -(-customers // shard_size)
    processes = min(shards, workers or os.cpu_count() or 1)
    try:
        if processes <= 1 or not _can_fork():
            return _build(directory, spool_root, customers, seed, shard_size, pool=None)
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(processes, mp_context=context) as pool:
            return _build(
                directory, spool_root, customers, seed, shard_size, pool=(pool, processes)
            )
    except OSError as error:
        msg = f"cannot write the world into {directory}: {error.strerror or error}"
        raise WorldError(msg) from error
    finally:
        shutil.rmtree(spool_root, ignore_errors=True)


def _can_fork() -> bool:
    """Whether worker processes can be forked safely from this one.

    Forked workers need nothing from the caller's main module (spawned ones would import it
    again, which breaks scripts without a ``__main__`` guard), but forking a process that
    runs other threads can leave a lock held forever in the child: then the world is made in
    this process alone (the same bytes, only slower).
    """
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


@dataclass(frozen=True, slots=True)
class _Output:
    """A file (or an orders file and its lines file) merged from every shard's spool."""

    spool: str
    kinds: tuple[str, ...]
    source: str
    paths: tuple[str, ...]
    # CSV headers, one per path; none for JSON Lines.
    headers: tuple[tuple[str, ...], ...] = ()


# In the manifest's order: files of one kind are imported in this order.
_OUTPUTS = (
    _Output("pos_customers", ("customers",), POS_SOURCE, ("pos_customers.csv",),
            (CUSTOMER_COLUMNS + POS_EXTRAS,)),
    _Output("pos_orders", ("orders", "order_lines"), POS_SOURCE,
            ("pos_orders.csv", "pos_order_lines.csv"), (ORDER_COLUMNS, ORDER_LINE_COLUMNS)),
    _Output("eshop_customers", ("customers",), ESHOP_SOURCE, ("eshop_customers.csv",),
            (CUSTOMER_COLUMNS + ESHOP_EXTRAS,)),
    _Output("eshop_orders", ("orders",), ESHOP_SOURCE, ("eshop_orders.jsonl",)),
    _Output("web_events", ("events",), WEB_SOURCE, ("web_events.jsonl",)),
    _Output("app_orders", ("orders",), APP_SOURCE, ("app_orders.jsonl",)),
    _Output("app_events", ("events",), APP_SOURCE, ("app_events.jsonl",)),
    _Output("crm_customers", ("customers",), CRM_SOURCE, ("crm_customers.csv",),
            (CUSTOMER_COLUMNS + CRM_EXTRAS,)),
)  # fmt: skip
# The biggest merges start first, so that two processes finish at about the same time.
_MERGE_ORDER = ("web_events", "app_events", "pos_orders")


def _shard_tasks(
    spool_root: Path, customers: int, seed: int, shard_size: int
) -> Iterator[ShardTask]:
    """People in shards of ``shard_size`` (one more when a household straddles the edge).

    People are made here, in one process, so that no two of them share an email address
    unless the world means them to.
    """
    rng = random.Random(f"{seed}:people")  # noqa: S311 - a reproducible simulation
    factory = PeopleFactory(rng, seed, customers)
    batch: list[Person] = []
    index = shard = 0
    while index < customers:
        household = factory.household(index, room=customers - index)
        batch.extend(household)
        index += len(household)
        if len(batch) >= shard_size or index >= customers:
            yield ShardTask(seed, customers, shard, shard_size, spool_root, tuple(batch))
            batch = []
            shard += 1


def _build(
    directory: Path,
    spool_root: Path,
    customers: int,
    seed: int,
    shard_size: int,
    *,
    pool: tuple[ProcessPoolExecutor, int] | None,
) -> WorldSummary:
    """Live the shards, then merge their spools into the world's files (``pool``: the
    processes to do it in, and how many there are; None to do it all here)."""
    tasks = _shard_tasks(spool_root, customers, seed, shard_size)
    results: list[ShardResult] = []
    if pool is None:
        results = [run_shard(task) for task in tasks]
    else:
        executor, processes = pool
        pending: deque[Future[ShardResult]] = deque()
        for task in tasks:
            pending.append(executor.submit(run_shard, task))
            # Keep only a few shards' people in memory at a time.
            while len(pending) > processes:
                results.append(pending.popleft().result())
        results.extend(future.result() for future in pending)
    shards = tuple(shard_directory(spool_root, result.index) for result in results)

    jobs = sorted(
        _OUTPUTS,
        key=lambda o: _MERGE_ORDER.index(o.spool) if o.spool in _MERGE_ORDER else len(_MERGE_ORDER),
    )
    if pool is None:
        counts = {job.spool: _merge(directory, shards, job) for job in jobs}
    else:
        futures = {job.spool: pool[0].submit(_merge, directory, shards, job) for job in jobs}
        counts = {name: future.result() for name, future in futures.items()}

    products = CsvOutput(directory / "products.csv", PRODUCT_COLUMNS)
    for product in shared(seed, customers).catalogue.products:
        products.write(
            [product.sku, product.name, product.category, product.brand,
             money(product.price), CURRENCY]
        )  # fmt: skip
    products.close()
    # One catalogue, delivered by each selling channel's system.
    files = [
        WorldFile("products.csv", "products", source, _CHANNEL[source], "csv", products.rows)
        for source in (POS_SOURCE, ESHOP_SOURCE, APP_SOURCE)
    ]
    for output in _OUTPUTS:
        for path, kind, rows in zip(output.paths, output.kinds, counts[output.spool], strict=True):
            file_format = "csv" if output.headers else "jsonl"
            files.append(
                WorldFile(path, kind, output.source, _CHANNEL[output.source], file_format, rows)
            )
    truth_rows = sum(result.truth_rows for result in results)
    people_rows = sum(result.people_rows for result in results)
    files.append(_concatenate(directory / "truth.csv", TRUTH_COLUMNS, shards, truth_rows))
    files.append(_concatenate(directory / "people.csv", PEOPLE_COLUMNS, shards, people_rows))
    summary = WorldSummary(directory=directory, seed=seed, customers=customers, files=tuple(files))
    _write_manifest(directory, seed, customers, summary.files)
    return summary


def _merge(directory: Path, shards: tuple[Path, ...], output: _Output) -> tuple[int, ...]:
    """Write one output from every shard's spool, in time order; its row counts."""
    months = merged([shard / output.spool for shard in shards])
    if not output.headers:
        jsonl = JsonlOutput(directory / output.paths[0])
        write_jsonl(months, jsonl)
        jsonl.close()
        return (jsonl.rows,)
    csvs = [
        CsvOutput(directory / path, header)
        for path, header in zip(output.paths, output.headers, strict=True)
    ]
    if len(csvs) == 2:
        write_orders_csv(months, csvs[0], csvs[1])
    else:
        write_csv(months, csvs[0])
    for csv_output in csvs:
        csv_output.close()
    return tuple(csv_output.rows for csv_output in csvs)


def _concatenate(
    path: Path, header: tuple[str, ...], shards: tuple[Path, ...], rows: int
) -> WorldFile:
    """The shards' parts of a ground-truth file, in shard order (so in person order)."""
    CsvOutput(path, header).close()
    with path.open("ab") as output:
        for shard in shards:
            with (shard / path.name).open("rb") as part:
                shutil.copyfileobj(part, output)
    return WorldFile(path.name, "truth", None, None, "csv", rows)


def _write_manifest(
    directory: Path, seed: int, customers: int, files: tuple[WorldFile, ...]
) -> None:
    manifest = {
        "format": MANIFEST_FORMAT,
        "seed": seed,
        "customers": customers,
        "sources": [
            {"name": s.name, "channel": s.channel, "default_region": s.default_region}
            for s in SOURCES
        ],
        "files": [
            {
                "path": f.path,
                "kind": f.kind,
                "source": f.source,
                "channel": f.channel,
                "format": f.format,
                "rows": f.rows,
            }
            for f in files
        ],
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (directory / MANIFEST_NAME).write_text(text, encoding="utf-8")
