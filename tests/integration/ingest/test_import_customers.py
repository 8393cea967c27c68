"""Importing customer files: fields, attributes, idempotency, bad rows, refused files."""

import gzip
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from patron import ingest
from patron.ingest import Channel, ImportFileError, ImportKind, RowError, import_file
from patron.ingest.models import SourceRecord

HEADER = (
    "id,first_name,last_name,email,phone,loyalty_card,birth_date,street,city,postcode,region,"
    "country"
)


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def records(sessions: sessionmaker[Session]) -> dict[str, SourceRecord]:
    with sessions() as session:
        return {r.record_id: r for r in session.scalars(select(SourceRecord))}


def test_csv_customers_are_stored_with_their_fields_and_extra_columns(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # given a POS customer file with an extra column
    path = write(
        tmp_path / "customers.csv",
        f"{HEADER},tier",
        "c1, Ann ,Lee,ANN@example.com,+44 7700 900123,L-1,1990-01-02,1 High St,Leeds,LS1 1AA,,GB,"
        "gold",
        "c2,Bob,,,,,,,,,,,",
    )

    # when it is imported for a new source
    summary = import_file(sessions, "customers", path, source="store-pos", channel=Channel.POS)

    # then every row is inserted, values stripped, emails kept as given, extras as attributes
    assert (summary.rows_read, summary.inserted, summary.rejected) == (2, 2, 0)
    assert summary.ok
    stored = records(sessions)
    ann = stored["c1"]
    assert (ann.first_name, ann.last_name, ann.email) == ("Ann", "Lee", "ANN@example.com")
    assert ann.birth_date is not None
    assert ann.birth_date.isoformat() == "1990-01-02"
    assert (ann.phone, ann.loyalty_card, ann.country) == ("+44 7700 900123", "L-1", "GB")
    assert ann.attributes == {"tier": "gold"}
    assert ann.is_placeholder is False
    bob = stored["c2"]
    assert (bob.last_name, bob.email, bob.birth_date, bob.attributes) == (None, None, None, {})


def test_jsonl_customers_match_their_csv_twin(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = write(
        tmp_path / "crm.jsonl",
        '{"id": 17, "first_name": "Eva", "email": "eva@example.cz", "birth_date": "1985-12-31",'
        ' "segment": {"vip": true}}',
        "",
        '{"id": "18", "first_name": "Jan", "country": "CZ"}',
    )

    summary = import_file(sessions, ImportKind.CUSTOMERS, path, source="crm", channel=Channel.CRM)

    assert (summary.rows_read, summary.inserted, summary.format) == (2, 2, ingest.FileFormat.JSONL)
    stored = records(sessions)
    assert stored["17"].first_name == "Eva"
    assert stored["17"].attributes == {"segment": {"vip": True}}
    assert stored["18"].country == "CZ"


def test_importing_the_same_file_twice_changes_nothing(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = write(tmp_path / "c.csv", HEADER, "c1,Ann,,,,,,,,,,", "c2,Bob,,,,,,,,,,")
    import_file(sessions, "customers", path, source="pos", channel=Channel.POS)
    before = {k: (r.id, r.updated_at, r.content_hash) for k, r in records(sessions).items()}

    again = import_file(sessions, "customers", path, source="pos")

    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert {k: (r.id, r.updated_at, r.content_hash) for k, r in records(sessions).items()} == before


def test_changed_content_updates_only_that_record(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    import_file(
        sessions,
        "customers",
        write(tmp_path / "a.csv", HEADER, "c1,Ann,,,,,,,,,,", "c2,Bob,,,,,,,,,,"),
        source="pos",
        channel=Channel.POS,
    )
    before = records(sessions)

    summary = import_file(
        sessions,
        "customers",
        write(tmp_path / "b.csv", HEADER, "c1,Ann,,,,,,,,,,", "c2,Bob,Moved,,,,,,,,,"),
        source="pos",
    )

    after = records(sessions)
    assert (summary.updated, summary.unchanged) == (1, 1)
    assert after["c2"].last_name == "Moved"
    assert after["c2"].id == before["c2"].id
    assert after["c2"].created_at == before["c2"].created_at
    assert after["c2"].updated_at > before["c2"].updated_at
    assert after["c1"].updated_at == before["c1"].updated_at


def test_each_bad_row_is_reported_with_its_line_and_the_rest_is_kept(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # given a file with one bad row of each kind among good ones (chunks of 2 rows, so that
    # a duplicate is found across chunks too)
    path = tmp_path / "bad.csv"
    path.write_bytes(
        "\n".join(
            [
                HEADER,
                "c1,Ann,,,,,,,,,,",
                "c2,Bad,,,,,1990-02-30,,,,,",
                ",No id,,,,,,,,,,",
                "c3,Short,",
                "c4,Fine,,,,,,,,,,",
                "c1,Again,,,,,,,,,,",
            ]
        ).encode()
        + b"\nc5,\xff\xfe,,,,,,,,,,\nc6,Last,,,,,,,,,,\n"
    )

    summary = import_file(
        sessions, "customers", path, source="pos", channel=Channel.POS, chunk_size=2
    )

    assert (summary.rows_read, summary.inserted, summary.rejected) == (8, 3, 5)
    assert not summary.ok
    assert summary.errors == (
        RowError(3, "birth_date '1990-02-30' is not a date (YYYY-MM-DD)"),
        RowError(4, "id is missing"),
        RowError(5, "expected 12 columns, found 3"),
        RowError(7, "duplicate id (first on line 2)"),
        RowError(8, "line 8 is not valid UTF-8 text"),
    )
    assert sorted(records(sessions)) == ["c1", "c4", "c6"]
    assert records(sessions)["c1"].first_name == "Ann"


def test_bad_json_lines_are_rejected_and_the_others_kept(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = write(
        tmp_path / "c.jsonl",
        '{"id": "c1"}',
        '{"id": "c2", "first_name": ',
        '["c3"]',
        '{"id": "c4", "first_name": {"nested": 1}}',
        '{"id": "c5", "email": "' + "x" * 400 + '"}',
        '{"id": "c6"}',
    )

    summary = import_file(sessions, "customers", path, source="crm", channel=Channel.CRM)

    assert [e.line for e in summary.errors] == [2, 3, 4, 5]
    assert summary.errors[0].reason.startswith("bad JSON")
    assert summary.errors[1].reason == "expected a JSON object, found an array"
    assert summary.errors[2].reason == "first_name must be text, not {'nested': 1}"
    assert summary.errors[3].reason == "email is longer than 320 characters"
    assert sorted(records(sessions)) == ["c1", "c6"]


def test_a_file_without_a_required_column_is_refused_up_front(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = write(tmp_path / "c.csv", "customer,first_name", "c1,Ann")

    with pytest.raises(ImportFileError, match="lacks the required column id"):
        import_file(sessions, "customers", path, source="pos", channel=Channel.POS)

    assert records(sessions) == {}


def test_missing_and_empty_files_are_refused(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with pytest.raises(ImportFileError, match="cannot open"):
        import_file(sessions, "customers", tmp_path / "nope.csv", source="p", channel=Channel.POS)
    with pytest.raises(ImportFileError, match="empty"):
        import_file(sessions, "customers", write(tmp_path / "e.csv", ""), source="p")
    with pytest.raises(ImportFileError, match="format"):
        import_file(sessions, "customers", write(tmp_path / "c.txt", HEADER), source="p")


def test_an_unknown_source_needs_a_channel(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", HEADER, "c1,Ann,,,,,,,,,,")

    with pytest.raises(ImportFileError, match="no source named 'crm'"):
        import_file(sessions, "customers", path, source="crm")

    with sessions() as session:
        assert ingest.list_sources(session) == []


def test_gzip_semicolons_and_a_byte_order_mark_are_read(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # given a spreadsheet export: BOM, semicolons, CRLF line ends, gzip-compressed
    text = "\ufeff" + HEADER.replace(",", ";") + "\r\nc1;Zoë;Nováková;;;;;;Brno;;;CZ\r\n"
    path = tmp_path / "export.csv.gz"
    path.write_bytes(gzip.compress(text.encode("utf-8")))

    summary = import_file(sessions, "customers", path, source="crm", channel=Channel.CRM)

    assert (summary.inserted, summary.format) == (1, ingest.FileFormat.CSV)
    record = records(sessions)["c1"]
    assert (record.first_name, record.last_name, record.city) == ("Zoë", "Nováková", "Brno")


def test_a_truncated_gzip_file_keeps_the_rows_before_the_damage(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    rows = "".join(f"c{i},Name{i},,,,,,,,,,\n" for i in range(2000))
    whole = gzip.compress((HEADER + "\n" + rows).encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])

    summary = import_file(sessions, "customers", path, source="pos", channel=Channel.POS)

    assert summary.inserted > 0
    assert summary.rejected == 1
    assert "damaged or cut short" in summary.errors[0].reason
    assert len(records(sessions)) == summary.inserted
