"""``patron serve`` answering reports while its embedded worker writes the store.

On SQLite, DuckDB's own copy of SQLite opening the store beside the worker's in one process
truncated the worker's shared-memory index and killed the server with SIGBUS (see
``patron.analytics.isolation``). The server is a real process here, so such a crash fails the
test instead of the test run.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
from tests.conftest import TEST_SECRET
from tests.e2e.test_cli_basics import patron

REPORTS = ("overview", "omnichannel", "cohorts", "abandoned-carts")
REQUESTS = 24
TRACKED_PER_BATCH = 40


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(server: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "patron serve stopped while starting"
        try:
            httpx.get(f"{url}/api/reports", timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
        else:
            return
    msg = "patron serve did not answer within 60 s"
    raise AssertionError(msg)


def track_until(stop: threading.Event, url: str, write_key: str, accepted: list[int]) -> None:
    """Send batches of tracking calls, as a busy e-shop does, until ``stop`` is set."""
    with httpx.Client(auth=(write_key, ""), timeout=30) as client:
        while not stop.is_set():
            calls = [
                {
                    "type": "track",
                    "event": "Product Viewed",
                    "messageId": str(uuid.uuid4()),
                    "userId": f"shopper-{number % 300}",
                    "properties": {"sku": f"SKU-{number % 50}"},
                }
                for number in range(TRACKED_PER_BATCH)
            ]
            try:
                sent = client.post(f"{url}/v1/batch", json={"batch": calls})
            except httpx.TransportError:
                return  # the server is gone: the test says why
            if sent.status_code == 200:
                accepted.append(len(calls))


def test_reports_are_answered_while_the_embedded_worker_resolves_an_import(
    database_url: str, tmp_path: Path
) -> None:
    # given a world imported but not yet resolved, and Patron serving it with its worker
    world = tmp_path / "world"
    generated = patron(
        database_url, "world", "generate", "--customers", "800", "--seed", "11", "--out", str(world)
    )
    assert generated.returncode == 0, generated.stderr
    imported = patron(database_url, "import", "world", str(world))
    assert imported.returncode == 0, imported.stderr
    before = json.loads(patron(database_url, "stats", "--json").stdout)
    created = patron(database_url, "sources", "create", "shop-web", "--channel", "eshop", "--json")
    write_key = json.loads(created.stdout)["write_key"]
    port = free_port()
    env = {
        **os.environ,
        "PATRON_DATABASE_URL": database_url,
        "PATRON_ENVIRONMENT": "test",
        "PATRON_SECRET_KEY": TEST_SECRET,
        "PATRON_PORT": str(port),
        "PYTHONFAULTHANDLER": "1",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "patron", "serve"],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(server, url)

        # when reports are asked for, one after the other, while an e-shop sends events and
        # the worker resolves them and the import
        stop = threading.Event()
        accepted: list[int] = []
        tracking = threading.Thread(target=track_until, args=(stop, url, write_key, accepted))
        tracking.start()
        answers = []
        try:
            for number in range(REQUESTS):
                name = REPORTS[number % len(REPORTS)]
                try:
                    answer = httpx.get(
                        f"{url}/api/reports/{name}", params={"period": "all"}, timeout=60
                    )
                except httpx.TransportError:
                    answers.append((name, 0))
                    break
                answers.append((name, answer.status_code))
        finally:
            stop.set()
            tracking.join(timeout=60)
        alive = server.poll() is None
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    after = json.loads(patron(database_url, "stats", "--json").stdout)

    # then the server stayed up and answered every one, and kept what was sent meanwhile
    assert alive, log.read_text(errors="replace")[-4000:]
    assert answers == [(REPORTS[n % len(REPORTS)], 200) for n in range(REQUESTS)]
    assert sum(accepted) > 0
    assert after["events"] == before["events"] + sum(accepted)
    assert before["customers"] == 0
    assert after["customers"] > 0
