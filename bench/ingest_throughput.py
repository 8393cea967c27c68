"""Ingest-ack throughput of the tracking API, beside a bare database loop.

Starts a real ``uvicorn`` server process on a throw-away database (an SQLite file, or a new
PostgreSQL database), then several client processes that post realistic e-commerce events
to ``/v1/batch`` in batches of 100 over keep-alive connections, each waiting for its ``200``
(sent only after the commit) before posting the next. The baseline inserts the same rows into
the same table with the driver alone (``sqlite3`` / ``psycopg`` ``executemany``, one commit
per batch). Prints events/s, the ratio to the baseline and p50/p99 batch latency, as medians
over the repeats, and a Markdown table for ``docs/benchmarks.md``.

    .venv/bin/python bench/ingest_throughput.py --engine both
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
from sqlalchemy.engine import make_url

from benchdb import create_throwaway
from patron import ingest
from patron.storage import make_engine, make_session_factory

DEFAULT_POSTGRES = os.environ.get(
    "PATRON_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PRODUCTS = [
    (f"SKU-{n:05d}", name, category, price)
    for n, (name, category, price) in enumerate(
        [
            ("Merino crew jumper", "Knitwear", 89.0),
            ("Linen shirt", "Shirts", 59.5),
            ("Leather belt", "Accessories", 35.0),
            ("Rain jacket", "Outerwear", 149.0),
            ("Canvas sneakers", "Shoes", 69.9),
            ("Wool socks, 3 pack", "Accessories", 19.9),
            ("Slim chinos", "Trousers", 79.0),
            ("Silk scarf", "Accessories", 45.0),
        ]
    )
]


def _product(rng: random.Random, position: int | None = None) -> dict[str, Any]:
    sku, name, category, price = rng.choice(PRODUCTS)
    product = {
        "product_id": sku.lower(),
        "sku": sku,
        "name": name,
        "category": category,
        "brand": "Patron Apparel",
        "variant": rng.choice(["S", "M", "L", "XL"]),
        "price": price,
        "quantity": rng.randint(1, 3),
        "currency": "EUR",
        "url": f"https://shop.example/p/{sku.lower()}",
        "image_url": f"https://cdn.shop.example/img/{sku.lower()}.jpg",
    }
    if position is not None:
        product["position"] = position
    return product


def make_event(rng: random.Random, now: datetime) -> dict[str, Any]:
    """One event as analytics.js or a mobile SDK would send it (about 1 KB of JSON)."""
    user = rng.randint(1, 50_000)
    kind = rng.choices(
        ["Product Viewed", "Product Added", "Cart Viewed", "Checkout Started", "Order Completed"],
        weights=[50, 20, 12, 10, 8],
    )[0]
    properties: dict[str, Any]
    if kind in {"Product Viewed", "Product Added"}:
        properties = {**_product(rng), "cart_id": f"cart-{user}"}
    else:
        products = [_product(rng, i + 1) for i in range(rng.randint(1, 4))]
        total = round(sum(p["price"] * p["quantity"] for p in products), 2)
        properties = {"cart_id": f"cart-{user}", "products": products, "currency": "EUR"}
        if kind != "Cart Viewed":
            properties |= {
                "order_id": f"o-{uuid.uuid4().hex[:12]}",
                "value": total,
                "revenue": total,
                "shipping": 4.9,
                "tax": round(total * 0.2, 2),
                "coupon": rng.choice([None, "SPRING10"]),
            }
    when = now - timedelta(milliseconds=rng.randint(0, 5_000))
    return {
        "type": "track",
        "event": kind,
        "messageId": str(uuid.uuid4()),
        "anonymousId": str(uuid.UUID(int=rng.getrandbits(128))),
        "userId": f"user-{user}" if rng.random() < 0.6 else None,
        "timestamp": when.isoformat().replace("+00:00", "Z"),
        "properties": properties,
        "context": {
            "ip": f"81.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "locale": "en-GB",
            "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Safari/605.1.15",
            "page": {
                "path": "/checkout",
                "referrer": "https://www.google.com/",
                "title": "Patron Apparel",
                "url": "https://shop.example/checkout",
            },
            "library": {"name": "analytics.js", "version": "next-1.70.0"},
        },
        "integrations": {},
    }


def make_bodies(count: int, batch_size: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    bodies = []
    for _ in range(count):
        batch = [make_event(rng, now) for _ in range(batch_size)]
        sent_at = now.isoformat().replace("+00:00", "Z")
        bodies.append(orjson.dumps({"batch": batch, "sentAt": sent_at}))
    return bodies


# --------------------------------------------------------------------------- clients


def client_process(
    port: int,
    write_key: str,
    bodies: list[bytes],
    barrier: Any,
    results: Any,
) -> None:
    """Post every body in turn on one keep-alive connection; report latencies and the span."""
    auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": auth}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies: list[float] = []
    failures = 0
    barrier.wait()
    started = time.perf_counter()
    for body in bodies:
        before = time.perf_counter()
        connection.request("POST", "/v1/batch", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - before)
        if response.status != 200:
            failures += 1
    finished = time.perf_counter()
    connection.close()
    results.put((started, finished, latencies, failures))


@dataclass
class Run:
    events_per_second: float
    p50_ms: float
    p99_ms: float
    failures: int
    stored: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(database_url: str, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = {
        **os.environ,
        "PATRON_DATABASE_URL": database_url,
        "PATRON_ENVIRONMENT": "development",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "patron.web.asgi:app_from_environment",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    server = subprocess.Popen(command, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return server, port
        except OSError:
            time.sleep(0.1)
    server.kill()
    msg = "the server did not start"
    raise RuntimeError(msg)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGINT)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def run_api(port: int, write_key: str, client_bodies: list[list[bytes]], count_events: Any) -> Run:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(client_bodies))
    results = context.Queue()
    before = count_events()
    clients = [
        context.Process(target=client_process, args=(port, write_key, bodies, barrier, results))
        for bodies in client_bodies
    ]
    for client in clients:
        client.start()
    outcomes = [results.get(timeout=600) for _ in clients]
    for client in clients:
        client.join()
    start = min(o[0] for o in outcomes)
    end = max(o[1] for o in outcomes)
    latencies = sorted(latency for o in outcomes for latency in o[2])
    failures = sum(o[3] for o in outcomes)
    events = sum(len(bodies) for bodies in client_bodies) * _batch_size(client_bodies)
    return Run(
        events_per_second=events / (end - start),
        p50_ms=1000 * latencies[len(latencies) // 2],
        p99_ms=1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        failures=failures,
        stored=count_events() - before,
    )


def _batch_size(client_bodies: list[list[bytes]]) -> int:
    return len(orjson.loads(client_bodies[0][0])["batch"])


# --------------------------------------------------------------------------- baseline


def baseline_rows(bodies: list[bytes], source_id: int) -> list[list[tuple[Any, ...]]]:
    """The same rows the API stores, as plain tuples (validated the same way)."""
    received = datetime.now(UTC)
    batches = []
    for body in bodies:
        document = orjson.loads(body)
        rows = []
        for message in document["batch"]:
            row = ingest.normalise_message(
                message, source_id=source_id, received_at=received, sent_at=document["sentAt"]
            )
            rows.append(
                (
                    row.source_id,
                    row.message_id,
                    row.type,
                    row.name,
                    row.user_id,
                    row.anonymous_id,
                    row.previous_id,
                    row.group_id,
                    row.timestamp,
                    row.sent_at,
                    row.received_at,
                    row.payload_json.decode(),
                )
            )
        batches.append(rows)
    return batches


_COLUMNS = (
    "source_id, message_id, type, name, user_id, anonymous_id, previous_id, group_id, "
    "timestamp, sent_at, received_at, payload"
)


def _naive(moment: datetime | None) -> str | None:
    return None if moment is None else moment.replace(tzinfo=None).isoformat(" ")


def baseline_sqlite(path: Path, batches: list[list[tuple[Any, ...]]]) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    sql = f"INSERT INTO events ({_COLUMNS}) VALUES ({', '.join('?' * 12)})"
    prepared = [
        [(*r[:8], _naive(r[8]), _naive(r[9]), _naive(r[10]), r[11]) for r in rows]
        for rows in batches
    ]
    started = time.perf_counter()
    for rows in prepared:
        connection.execute("BEGIN")
        connection.executemany(sql, rows)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return sum(len(rows) for rows in batches) / elapsed


def baseline_postgres(url: str, batches: list[list[tuple[Any, ...]]]) -> float:
    parsed = make_url(url)
    connection = psycopg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname=parsed.database
    )
    sql = f"INSERT INTO events ({_COLUMNS}) VALUES ({', '.join(['%s'] * 11)}, %s::jsonb)"
    started = time.perf_counter()
    for rows in batches:
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
        connection.commit()
    elapsed = time.perf_counter() - started
    connection.close()
    return sum(len(rows) for rows in batches) / elapsed


# --------------------------------------------------------------------------- databases


@dataclass
class Database:
    url: str
    write_key: str
    source_id: int
    drop: Any


def create_database(engine_name: str, postgres_url: str, workdir: Path) -> Database:
    url, drop = create_throwaway(engine_name, postgres_url, workdir)
    engine = make_engine(url, pool_size=1)
    with make_session_factory(engine).begin() as session:
        created = ingest.create_source(session, "bench", ingest.Channel.WEB)
    engine.dispose()
    return Database(url, created.write_key, created.source.id, drop)


def count_events(url: str) -> int:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with sqlite3.connect(parsed.database or "") as connection:
            return int(connection.execute("SELECT count(*) FROM events").fetchone()[0])
    with psycopg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname=parsed.database
    ) as connection:
        row = connection.execute("SELECT count(*) FROM events").fetchone()
        return int(row[0]) if row else 0


# --------------------------------------------------------------------------- main


def empty_events(url: str) -> None:
    """Every measurement starts from an empty event log (index upkeep grows with its size)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(parsed.database or "", isolation_level=None)
        connection.execute("DELETE FROM events")
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        return
    with psycopg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname=parsed.database
    ) as connection:
        connection.execute("TRUNCATE events, failed_events CASCADE")


def server_cpu_seconds(pid: int) -> float:
    """User and system CPU of the server and its worker processes (Linux /proc)."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    total = 0
    for process in pids:
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def bench_engine(engine_name: str, args: argparse.Namespace) -> dict[str, Any]:
    workers = args.workers if engine_name == "postgresql" else 1
    runs: list[Run] = []
    baselines: list[float] = []
    cpu_per_event: list[float] = []
    with tempfile.TemporaryDirectory(prefix="patron-bench-") as tmp:
        database = create_database(engine_name, args.postgres_url, Path(tmp))
        try:
            server, port = start_server(database.url, workers)
            try:
                warm = make_bodies(2, args.batch_size, seed=999)
                run_api(port, database.write_key, [warm], lambda: 0)
                for repeat in range(args.repeats):
                    # The API and the bare loop take turns, so both see the same machine.
                    client_bodies = [
                        make_bodies(args.batches, args.batch_size, seed=1000 * repeat + client)
                        for client in range(args.clients)
                    ]
                    empty_events(database.url)
                    cpu_before = server_cpu_seconds(server.pid)
                    run = run_api(
                        port, database.write_key, client_bodies, lambda: count_events(database.url)
                    )
                    events = args.clients * args.batches * args.batch_size
                    cpu_per_event.append((server_cpu_seconds(server.pid) - cpu_before) / events)
                    runs.append(run)
                    print(
                        f"  {engine_name} api   repeat {repeat + 1}: "
                        f"{run.events_per_second:>8,.0f} events/s  p50 {run.p50_ms:6.1f} ms  "
                        f"p99 {run.p99_ms:6.1f} ms  failures {run.failures}  "
                        f"stored {run.stored:,}  "
                        f"server CPU {cpu_per_event[-1] * 1e6:.0f} us/event  "
                        f"load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
                    bodies = make_bodies(events // args.batch_size, args.batch_size, seed=77_000)
                    batches = baseline_rows(bodies, database.source_id)
                    empty_events(database.url)
                    if engine_name == "sqlite":
                        path = Path(make_url(database.url).database or "")
                        rate = baseline_sqlite(path, batches)
                    else:
                        rate = baseline_postgres(database.url, batches)
                    baselines.append(rate)
                    print(
                        f"  {engine_name} bare  repeat {repeat + 1}: {rate:>8,.0f} events/s",
                        flush=True,
                    )
            finally:
                stop_server(server)
        finally:
            database.drop()
    api = statistics.median(r.events_per_second for r in runs)
    baseline = statistics.median(baselines)
    return {
        "engine": engine_name,
        "workers": workers,
        "api_events_per_second": api,
        "baseline_events_per_second": baseline,
        "ratio": api / baseline,
        "p50_ms": statistics.median(r.p50_ms for r in runs),
        "p99_ms": statistics.median(r.p99_ms for r in runs),
        "server_cpu_us_per_event": 1e6 * statistics.median(cpu_per_event),
        "failures": sum(r.failures for r in runs),
        "all_acknowledged_stored": all(
            r.stored == args.clients * args.batches * args.batch_size for r in runs
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client processes")
    parser.add_argument("--batches", type=int, default=100, help="batches per client per repeat")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers on PostgreSQL")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    print(
        f"{args.clients} clients x {args.batches} batches x {args.batch_size} events, "
        f"{args.repeats} repeats, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    results = [bench_engine(engine, args) for engine in engines]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print()
    print(
        "| engine | uvicorn workers | API events/s | bare loop events/s | ratio "
        "| p50 batch | p99 batch | server CPU per event |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['engine']} | {r['workers']} | {r['api_events_per_second']:,.0f} "
            f"| {r['baseline_events_per_second']:,.0f} | {r['ratio']:.2f} "
            f"| {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms "
            f"| {r['server_cpu_us_per_event']:.0f} µs |"
        )
    for r in results:
        if r["failures"] or not r["all_acknowledged_stored"]:
            print(f"WARNING: {r['engine']}: {r['failures']} failed requests or missing rows")


if __name__ == "__main__":
    main()
