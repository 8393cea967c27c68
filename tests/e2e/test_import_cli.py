"""``patron import`` as a user runs it: exit codes, summaries, --json."""

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from patron.cli import app
from tests.conftest import TEST_SECRET

CUSTOMERS = (
    "id,first_name,last_name,email,phone,loyalty_card,birth_date,street,city,postcode,region,"
    "country\n"
)


def environment(database_url: str) -> dict[str, str]:
    return {
        "PATRON_DATABASE_URL": database_url,
        "PATRON_ENVIRONMENT": "test",
        "PATRON_SECRET_KEY": TEST_SECRET,
    }


def patron(database_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=environment(database_url))
    return result.exit_code, result.stdout, result.stderr


def test_a_clean_file_imports_with_exit_code_0_and_a_json_summary(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMERS + "c1,Ann,,,,,,,,,,\nc2,Bob,,,,,,,,,,\n")

    code, out, _ = patron(
        database_url,
        "import",
        "customers",
        str(path),
        "--source",
        "pos",
        "--channel",
        "pos",
        "--json",
    )

    assert code == 0
    summary = json.loads(out)
    assert summary["kind"] == "customers"
    assert summary["source"] == "pos"
    assert (summary["rows_read"], summary["inserted"], summary["rejected"]) == (2, 2, 0)
    assert summary["ok"] is True
    assert summary["errors"] == []


def test_rejected_rows_give_exit_code_1_and_their_lines(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "id,ordered_at,currency,total\n"
        "o1,2024-01-01T10:00:00Z,EUR,1.00\n"
        "o2,2024-01-01T10:00:00Z,EUR,lots\n"
    )

    code, out, _ = patron(
        database_url, "import", "orders", str(path), "--source", "eshop", "--channel", "eshop"
    )
    json_code, json_out, _ = patron(
        database_url, "import", "orders", str(path), "--source", "eshop", "--json"
    )

    assert code == 1
    assert "1 inserted" in out
    assert "line 3: total 'lots' is not an amount" in out
    assert "1 rows were rejected" in out
    assert json_code == 1
    assert json.loads(json_out)["errors"] == [
        {"line": 3, "reason": "total 'lots' is not an amount (write it like 12.50)"}
    ]


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, ["--channel", "pos"], "cannot open"),
        ("name,email\nAnn,a@x\n", ["--channel", "pos"], "lacks the required column id"),
        (CUSTOMERS, [], "no source named 'pos'"),
        (CUSTOMERS, ["--channel", "pos", "--format", "jsonl", "--timezone", "Mars/Base"], "Mars"),
    ],
    ids=["missing-file", "missing-column", "unknown-source", "unknown-zone"],
)
def test_a_file_that_cannot_be_imported_gives_exit_code_2(
    database_url: str, tmp_path: Path, content: str | None, args: list[str], message: str
) -> None:
    path = tmp_path / "customers.csv"
    if content is not None:
        path.write_text(content)
    command = "orders" if "--timezone" in args else "customers"

    code, _, err = patron(database_url, "import", command, str(path), "--source", "pos", *args)

    assert code == 2
    assert message in err


def test_import_world_prints_one_summary_per_file_and_a_total(
    database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "c.csv").write_text(CUSTOMERS + "c1,Ann,,,,,,,,,,\n")
    (tmp_path / "e.jsonl").write_bytes(
        orjson.dumps({"type": "track", "event": "Opened", "userId": "c1"}) + b"\n{oops\n"
    )
    manifest = {
        "format": "patron-world/1",
        "sources": [{"name": "crm", "channel": "crm"}, {"name": "app", "channel": "app"}],
        "files": [
            {"path": "e.jsonl", "kind": "events", "source": "app"},
            {"path": "c.csv", "kind": "customers", "source": "crm"},
        ],
    }
    (tmp_path / "manifest.json").write_bytes(orjson.dumps(manifest))

    code, out, _ = patron(database_url, "import", "world", str(tmp_path))
    json_code, json_out, _ = patron(database_url, "import", "world", str(tmp_path), "--json")

    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"customers {tmp_path / 'c.csv'} (crm): 1 read, 1 inserted")
    assert lines[1].startswith(f"events {tmp_path / 'e.jsonl'} (app): 2 read, 1 inserted")
    assert lines[2].startswith("  line 2: bad JSON")
    assert lines[-1] == (
        "total: 2 files, 3 rows read, 2 inserted, 0 updated, 0 unchanged, 1 rejected"
    )
    assert json_code == 1
    body = json.loads(json_out)
    assert body["total"] == {
        "rows_read": 3,
        "inserted": 0,
        "updated": 0,
        "unchanged": 2,
        "rejected": 1,
        "files": 2,
        "files_not_read": 0,
    }
    assert [f["kind"] for f in body["files"]] == ["customers", "events"]


def test_the_installed_command_reports_its_exit_code(database_url: str, tmp_path: Path) -> None:
    # the real process, without a terminal: no progress bar on stderr, the summary on stdout
    path = tmp_path / "products.csv.gz"
    path.write_bytes(gzip.compress(b"sku,name,price,currency\nA,Apple,1.20,EUR\nB,Pear,x,EUR\n"))

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "patron",
            "import",
            "products",
            str(path),
            "--source",
            "shop",
            "--channel",
            "eshop",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **environment(database_url)},
        check=False,
        timeout=120,
    )

    assert result.returncode == 1
    assert "1 inserted" in result.stdout
    assert "line 3: price 'x' is not an amount" in result.stdout
    assert result.stderr == ""
