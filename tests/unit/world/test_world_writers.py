"""Spools keep rows under time keys; merged, they come back in time order, month by month."""

from pathlib import Path

from patron.world.writers import Spool, merged


def test_spools_of_several_shards_merge_in_key_order(tmp_path: Path) -> None:
    first, second = Spool(tmp_path / "a"), Spool(tmp_path / "b")
    first.add("2025-03-02T10:00:00Z", b'{"n":3}')
    first.add("2024-12-31T23:59:59Z", b'{"n":1}')
    second.add("2025-03-01T08:00:00Z", b'{"n":2}')
    second.add("2025-03-02T10:00:00Z", b'{"n":4}')
    first.close()
    second.close()

    months = [list(month) for month in merged([tmp_path / "a", tmp_path / "b", tmp_path / "x"])]

    assert months == [[b'{"n":1}'], [b'{"n":2}', b'{"n":3}', b'{"n":4}']]


def test_a_spool_flushes_to_disk_as_it_grows(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s")
    for number in range(5000, 0, -1):
        spool.add(f"2025-01-01T00:00:{number:05d}", str(number).encode())
    spool.close()

    (month,) = merged([tmp_path / "s"])

    assert [int(payload) for payload in month] == list(range(1, 5001))
    assert [path.name for path in (tmp_path / "s").iterdir()] == ["2025-01"]
