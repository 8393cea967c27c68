"""Reading CSV and JSONL files row by row: formats, delimiters, line numbers, headers."""

import gzip
from pathlib import Path

import pytest

from patron.ingest import FileFormat, ImportFileError
from patron.ingest.importers.readers import Record, RecordReader, detect_format

COLUMNS = {"id": "id", "name": "name", "userid": "userId"}


def read(path: Path, file_format: FileFormat = FileFormat.CSV) -> list[Record]:
    with RecordReader(path, file_format, columns=COLUMNS, required=("id",)) as reader:
        return list(reader.records())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.csv", FileFormat.CSV),
        ("a.CSV.gz", FileFormat.CSV),
        ("a.jsonl", FileFormat.JSONL),
        ("a.v2.jsonl.gz", FileFormat.JSONL),
        ("a.ndjson", FileFormat.JSONL),
    ],
)
def test_the_format_comes_from_the_file_name(name: str, expected: FileFormat) -> None:
    assert detect_format(Path(name)) is expected


def test_a_given_format_wins_and_an_unknown_name_is_refused() -> None:
    assert detect_format(Path("export.txt"), FileFormat.CSV) is FileFormat.CSV
    with pytest.raises(ImportFileError, match="cannot tell the format"):
        detect_format(Path("export.txt"))


def test_records_start_at_their_first_line_even_with_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('id,name\n1,"two\nlines"\n\n2,plain\n')

    records = read(path)

    assert [(r.line, dict(r.values)) for r in records] == [
        (2, {"id": "1", "name": "two\nlines"}),
        (5, {"id": "2", "name": "plain"}),
    ]


def test_header_names_match_whatever_their_case_and_blank_columns_are_dropped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.csv"
    path.write_text(" ID \tUserId\t\tExtra\n7\tu1\tjunk\tx\n8\tu2\t\t\t\t\n")

    records = read(path)

    assert [dict(r.values) for r in records] == [
        {"id": "7", "userId": "u1", "Extra": "x"},
        {"id": "8", "userId": "u2", "Extra": ""},
    ]


def test_a_header_naming_a_column_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,name,Name\n1,a,b\n")

    with pytest.raises(ImportFileError, match="column 'name' appears twice"):
        read(path)


def test_gzip_is_recognised_by_its_content(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(gzip.compress(b'{"id": 1}\n{"id": 2}\n'))

    with RecordReader(path, FileFormat.JSONL, columns=COLUMNS, required=()) as reader:
        records = list(reader.records())
        assert reader.bytes_done == reader.total_bytes

    assert [r.values for r in records] == [{"id": 1}, {"id": 2}]


def test_jsonl_lines_that_are_not_objects_are_errors_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": 1}\n\n42\n"x"\nnull\ntrue\n{"id": \n')

    records = read(path, FileFormat.JSONL)

    assert [(r.line, r.error) for r in records[1:5]] == [
        (3, "expected a JSON object, found a number"),
        (4, "expected a JSON object, found a string"),
        (5, "expected a JSON object, found null"),
        (6, "expected a JSON object, found a boolean"),
    ]
    assert records[0] == Record(1, {"id": 1})
    assert records[5].line == 7
    assert records[5].error is not None
    assert records[5].error.startswith("bad JSON")


def test_an_overlong_field_is_a_row_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('id,name\n1,"' + "x" * 200_000 + '"\n2,ok\n')

    records = read(path)

    assert records[0].error is not None
    assert "field larger than field limit" in records[0].error
    assert records[-1] == Record(3, {"id": "2", "name": "ok"})
