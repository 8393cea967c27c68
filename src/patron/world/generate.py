"""Generate a whole world into a directory: the channels' files, the truth, the manifest."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
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
    are lived by up to ``workers`` processes (default: one per core), and the bytes do not
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
    try:
        results = _run_shards(spool_root, customers, seed, workers, shard_size)
        return _write_files(directory, spool_root, customers, seed, results)
    except OSError as error:
        msg = f"cannot write the world into {directory}: {error.strerror or error}"
        raise WorldError(msg) from error
    finally:
        shutil.rmtree(spool_root, ignore_errors=True)


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


def _run_shards(
    spool_root: Path, customers: int, seed: int, workers: int | None, shard_size: int
) -> list[ShardResult]:
    shards = -(-customers // shard_size)
    processes = min(shards, workers or os.cpu_count() or 1)
    tasks = _shard_tasks(spool_root, customers, seed, shard_size)
    # Forked workers need nothing from the caller's main module (spawned ones would import it
    # again, which breaks scripts without a ``__main__`` guard); without fork, one process.
    if processes <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [run_shard(task) for task in tasks]
    results: list[ShardResult] = []
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        pending: deque[Future[ShardResult]] = deque()
        for task in tasks:
            pending.append(pool.submit(run_shard, task))
            # Keep only a few shards' people in memory at a time.
            while len(pending) > processes:
                results.append(pending.popleft().result())
        results.extend(future.result() for future in pending)
    return results


def _write_files(
    directory: Path, spool_root: Path, customers: int, seed: int, results: list[ShardResult]
) -> WorldSummary:
    shard_directories = [shard_directory(spool_root, result.index) for result in results]

    def payloads(name: str) -> Iterator[bytes]:
        return merged([shard / name for shard in shard_directories])

    catalogue = shared(seed, customers).catalogue
    products = CsvOutput(directory / "products.csv", PRODUCT_COLUMNS)
    for product in catalogue.products:
        products.write(
            [product.sku, product.name, product.category, product.brand,
             money(product.price), CURRENCY]
        )  # fmt: skip
    products.close()
    # One catalogue, delivered by each selling channel's system.
    outputs = [
        _file(products, "products", source) for source in (POS_SOURCE, ESHOP_SOURCE, APP_SOURCE)
    ]

    outputs.append(_customers(directory / "pos_customers.csv", payloads("pos_customers"),
                              POS_EXTRAS, POS_SOURCE))  # fmt: skip
    pos_orders = CsvOutput(directory / "pos_orders.csv", ORDER_COLUMNS)
    pos_lines = CsvOutput(directory / "pos_order_lines.csv", ORDER_LINE_COLUMNS)
    write_orders_csv(payloads("pos_orders"), pos_orders, pos_lines)
    pos_orders.close()
    pos_lines.close()
    outputs.append(_file(pos_orders, "orders", POS_SOURCE))
    outputs.append(_file(pos_lines, "order_lines", POS_SOURCE))
    outputs.append(_customers(directory / "eshop_customers.csv", payloads("eshop_customers"),
                              ESHOP_EXTRAS, ESHOP_SOURCE))  # fmt: skip
    outputs.append(_jsonl(directory / "eshop_orders.jsonl", payloads("eshop_orders"),
                          "orders", ESHOP_SOURCE))  # fmt: skip
    outputs.append(_jsonl(directory / "web_events.jsonl", payloads("web_events"), "events",
                          WEB_SOURCE))  # fmt: skip
    outputs.append(_jsonl(directory / "app_orders.jsonl", payloads("app_orders"), "orders",
                          APP_SOURCE))  # fmt: skip
    outputs.append(_jsonl(directory / "app_events.jsonl", payloads("app_events"), "events",
                          APP_SOURCE))  # fmt: skip
    outputs.append(_customers(directory / "crm_customers.csv", payloads("crm_customers"),
                              CRM_EXTRAS, CRM_SOURCE))  # fmt: skip
    outputs.append(
        _concatenate(directory / "truth.csv", TRUTH_COLUMNS, shard_directories,
                     sum(r.truth_rows for r in results))
    )  # fmt: skip
    outputs.append(
        _concatenate(directory / "people.csv", PEOPLE_COLUMNS, shard_directories,
                     sum(r.people_rows for r in results))
    )  # fmt: skip
    files = tuple(outputs)
    _write_manifest(directory, seed, customers, files)
    return WorldSummary(directory=directory, seed=seed, customers=customers, files=files)


def _file(output: CsvOutput | JsonlOutput, kind: str, source: str | None) -> WorldFile:
    return WorldFile(
        path=output.path.name,
        kind=kind,
        source=source,
        channel=_CHANNEL[source] if source is not None else None,
        format="csv" if isinstance(output, CsvOutput) else "jsonl",
        rows=output.rows,
    )


def _customers(
    path: Path, payloads: Iterator[bytes], extras: tuple[str, ...], source: str
) -> WorldFile:
    output = CsvOutput(path, CUSTOMER_COLUMNS + extras)
    write_csv(payloads, output)
    output.close()
    return _file(output, "customers", source)


def _jsonl(path: Path, payloads: Iterator[bytes], kind: str, source: str) -> WorldFile:
    output = JsonlOutput(path)
    write_jsonl(payloads, output)
    output.close()
    return _file(output, kind, source)


def _concatenate(
    path: Path, header: tuple[str, ...], shard_directories: list[Path], rows: int
) -> WorldFile:
    """The shards' parts of a ground-truth file, in shard order (so in person order)."""
    CsvOutput(path, header).close()
    with path.open("ab") as output:
        for shard in shard_directories:
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
