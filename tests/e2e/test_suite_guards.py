"""The test suite itself refuses to pass quietly without PostgreSQL."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_suite_part(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/storage"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
        timeout=120,
    )


def test_unreachable_postgres_fails_the_run_with_a_message() -> None:
    result = run_suite_part(
        PATRON_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:1/postgres",
        PATRON_SKIP_POSTGRES="",
    )

    assert result.returncode != 0
    assert "PostgreSQL cannot be reached at postgresql://postgres@127.0.0.1:1" in result.stdout
    assert "PATRON_SKIP_POSTGRES=1" in result.stdout


def test_skipping_postgres_is_said_loudly() -> None:
    result = run_suite_part(
        PATRON_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:1/postgres",
        PATRON_SKIP_POSTGRES="1",
    )

    assert result.returncode == 0, result.stdout
    assert "every PostgreSQL variant of the storage tests was SKIPPED" in result.stdout
