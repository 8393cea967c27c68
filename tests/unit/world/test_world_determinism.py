"""Same seed, same bytes; another seed, another world; processes change nothing."""

import subprocess
import sys
from pathlib import Path

import pytest

from patron.world import WorldError, generate_world


def _contents(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def test_same_seed_writes_the_same_bytes_in_every_file(tmp_path: Path) -> None:
    generate_world(tmp_path / "a", customers=300, seed=11)
    generate_world(tmp_path / "b", customers=300, seed=11)

    first, second = _contents(tmp_path / "a"), _contents(tmp_path / "b")

    assert sorted(first) == sorted(second)
    assert len(first) == 13
    for name, data in first.items():
        assert data == second[name], f"{name} differs between two runs of the same seed"


def test_another_seed_makes_another_world(tmp_path: Path) -> None:
    generate_world(tmp_path / "a", customers=300, seed=11)
    generate_world(tmp_path / "b", customers=300, seed=12)

    first, second = _contents(tmp_path / "a"), _contents(tmp_path / "b")

    for name in ("pos_customers.csv", "eshop_orders.jsonl", "web_events.jsonl", "truth.csv"):
        assert first[name] != second[name], f"{name} is the same for two seeds"


def test_the_number_of_worker_processes_does_not_change_a_byte(tmp_path: Path) -> None:
    # Small shards, so that a small world has several and two processes share them; the
    # two-process run happens in a fresh single-threaded interpreter, where forking is safe.
    generate_world(tmp_path / "one", customers=240, seed=5, shard_size=80, workers=1)
    script = (
        "import sys; from pathlib import Path; "
        "from patron.world import generate_world; from patron.world.generate import _can_fork; "
        "assert _can_fork(); "
        "generate_world(Path(sys.argv[1]), customers=240, seed=5, shard_size=80, workers=2)"
    )

    subprocess.run([sys.executable, "-c", script, str(tmp_path / "two")], check=True, timeout=60)

    assert _contents(tmp_path / "one") == _contents(tmp_path / "two")


def test_ids_stay_unique_across_shards(tmp_path: Path) -> None:
    summary = generate_world(tmp_path, customers=240, seed=5, shard_size=60, workers=1)

    truth = (tmp_path / "truth.csv").read_text().splitlines()[1:]
    keys = [tuple(line.split(",")[:2]) for line in truth]

    assert summary.customers == 240
    assert len(keys) == len(set(keys))


def test_leftovers_of_a_previous_run_are_replaced(tmp_path: Path) -> None:
    generate_world(tmp_path, customers=200, seed=1)
    (tmp_path / ".spool").mkdir()
    (tmp_path / ".spool" / "stale").write_text("left by a crash")

    generate_world(tmp_path, customers=200, seed=1)

    assert not (tmp_path / ".spool").exists()


@pytest.mark.parametrize(("customers", "message"), [(0, "positive"), (-5, "positive")])
def test_a_world_needs_people(tmp_path: Path, customers: int, message: str) -> None:
    with pytest.raises(WorldError, match=message):
        generate_world(tmp_path, customers=customers, seed=1)


def test_an_unwritable_directory_is_refused_with_its_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")

    with pytest.raises(WorldError, match="a-file"):
        generate_world(blocker / "world", customers=10, seed=1)
