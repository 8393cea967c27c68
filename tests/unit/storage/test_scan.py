"""How DuckDB is opened on the store: offline, silent, and only where it can attach it."""

import pytest

from patron.storage import StoreScanError, offline_duckdb, reads_need_own_process, store_scanner


def test_duckdb_is_opened_offline_and_silent() -> None:
    # when Patron opens DuckDB
    connection = offline_duckdb()
    try:
        settings = dict(
            connection.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN "
                "('autoinstall_known_extensions', 'autoload_known_extensions', "
                "'enable_progress_bar')"
            ).fetchall()
        )
    finally:
        connection.close()

    # then it installs and loads no extension by itself, and draws no progress bar on the
    # standard output that a command's JSON owns
    assert settings == {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "enable_progress_bar": "false",
    }


def test_a_sqlite_file_is_attached_by_path_and_read_from_another_process() -> None:
    scanner = store_scanner("sqlite:////srv/patron/patron.db")

    assert (scanner.attach_type, scanner.target) == ("sqlite", "/srv/patron/patron.db")
    assert reads_need_own_process("sqlite:////srv/patron/patron.db")
    assert not reads_need_own_process("postgresql://patron@db/patron")
    assert not reads_need_own_process("sqlite:///:memory:")


def test_a_postgres_store_is_attached_by_a_libpq_string_without_a_password_in_it() -> None:
    scanner = store_scanner("postgresql://patron@db.internal:5433/crm")

    assert scanner.attach_type == "postgres"
    assert scanner.target == "host=db.internal port=5433 user=patron dbname=crm"


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("sqlite://", "SQLite store in a file"),
        ("sqlite:///:memory:", "SQLite store in a file"),
        ("mysql://root@localhost/shop", "not 'mysql'"),
    ],
)
def test_stores_duckdb_cannot_attach_are_refused_with_the_reason(url: str, said: str) -> None:
    with pytest.raises(StoreScanError, match=said):
        store_scanner(url)
