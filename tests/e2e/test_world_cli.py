"""``patron world generate`` as a user runs it: a subprocess, its summary, its exit code."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_SECRET


def world_cli(*args: str, hash_seed: str = "0") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "patron", "world", "generate", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        check=False,
        timeout=120,
    )


def test_generate_writes_the_world_and_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "world"

    result = world_cli("--customers", "200", "--seed", "3", "--out", str(out))

    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["customers"] == 200
    assert manifest["seed"] == 3
    for entry in manifest["files"]:
        assert (out / entry["path"]).is_file()
        assert entry["path"] in result.stdout
    assert "world of 200 people (seed 3)" in result.stdout
    assert " rows in " in result.stdout
    assert f"patron import world {out}" in result.stdout


def test_generating_twice_gives_the_same_bytes_whatever_the_hash_seed(tmp_path: Path) -> None:
    for name, hash_seed in (("a", "1"), ("b", "4242")):
        result = world_cli("-n", "150", "-s", "9", "-o", str(tmp_path / name), hash_seed=hash_seed)
        assert result.returncode == 0, result.stderr

    for path in sorted((tmp_path / "a").iterdir()):
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name


def test_no_customers_is_refused_with_a_message(tmp_path: Path) -> None:
    result = world_cli("--customers", "0", "--seed", "1", "--out", str(tmp_path))

    assert result.returncode == 2
    assert "must be positive" in result.stderr
    assert not (tmp_path / "manifest.json").exists()


def test_an_unwritable_directory_is_refused_with_a_message(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")

    result = world_cli("--customers", "10", "--seed", "1", "--out", str(blocker / "world"))

    assert result.returncode == 2
    assert "cannot write the world" in result.stderr
    assert "a-file" in result.stderr


def test_a_missing_argument_is_refused(tmp_path: Path) -> None:
    result = world_cli("--customers", "10", "--out", str(tmp_path))

    assert result.returncode == 2
    assert "--seed" in result.stderr


def test_a_generated_world_imports_without_a_rejected_row(
    tmp_path: Path, database_url: str
) -> None:
    out = tmp_path / "world"
    assert world_cli("-n", "150", "-s", "4", "-o", str(out)).returncode == 0
    env = {
        **os.environ,
        "PATRON_DATABASE_URL": database_url,
        "PATRON_ENVIRONMENT": "test",
        "PATRON_SECRET_KEY": TEST_SECRET,
    }

    imported = subprocess.run(
        [sys.executable, "-m", "patron", "import", "world", str(out), "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )

    assert imported.returncode == 0, imported.stdout + imported.stderr
    summaries = json.loads(imported.stdout)["files"]
    manifest = json.loads((out / "manifest.json").read_text())
    listed = [f for f in manifest["files"] if f["kind"] != "truth"]
    assert [(s["kind"], s["source"]) for s in summaries] == sorted(
        ((f["kind"], f["source"]) for f in listed),
        key=lambda pair: ["products", "customers", "orders", "order_lines", "events"].index(
            pair[0]
        ),
    )
    rows = {(f["path"], f["source"]): f["rows"] for f in listed}
    for summary in summaries:
        assert summary["rejected"] == 0, summary["errors"]
        assert summary["inserted"] == summary["rows_read"]
        assert summary["rows_read"] == rows[(Path(summary["path"]).name, summary["source"])]
