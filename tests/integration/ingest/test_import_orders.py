"""Importing orders, receipts and order lines: money, times, placeholders, lines, bad rows."""

from datetime import UTC, datetime
from pathlib import Path

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from patron.ingest import Channel, RowError, import_file
from patron.ingest.models import Order, OrderLine, SourceRecord

ORDERS = (
    "id,customer_id,loyalty_card,email,phone,ordered_at,channel,store_id,currency,total,"
    "discount,voucher_code"
)


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def jsonl(path: Path, *objects: object) -> Path:
    path.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in objects))
    return path


def orders(sessions: sessionmaker[Session]) -> dict[str, Order]:
    with sessions() as session:
        return {o.order_id: o for o in session.scalars(select(Order))}


def lines_of(
    sessions: sessionmaker[Session], order_id: str
) -> list[tuple[int, str, int, int, int, int]]:
    with sessions() as session:
        found = session.execute(
            select(
                OrderLine.line_no,
                OrderLine.sku,
                OrderLine.quantity,
                OrderLine.unit_price_minor,
                OrderLine.discount_minor,
                OrderLine.total_minor,
            )
            .join(Order, Order.id == OrderLine.order_pk)
            .where(Order.order_id == order_id)
            .order_by(OrderLine.line_no)
        )
        return [tuple(row) for row in found]  # type: ignore[misc]


def customer_records(sessions: sessionmaker[Session]) -> dict[str, SourceRecord]:
    with sessions() as session:
        return {r.record_id: r for r in session.scalars(select(SourceRecord))}


def test_csv_orders_convert_money_by_currency_and_read_times_as_utc(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # given receipts in euros, yen and dinars, one with an offset, one anonymous
    path = write(
        tmp_path / "receipts.csv",
        f"{ORDERS},cashier",
        "r1,,,,,2024-03-01T09:30:00,,S-01,EUR,12.50,1.5,SPRING,Jana",
        "r2,,,,,2024-03-01T09:30:00+01:00,eshop,,jpy,1200,,,",
        "r3,,L-9,,,2024-03-01 10:00,,S-02,KWD,1.250,0,,",
    )

    # when imported for a POS source
    summary = import_file(sessions, "orders", path, source="store-pos", channel=Channel.POS)

    # then amounts are in minor units of each currency and times are UTC
    assert (summary.inserted, summary.rejected) == (3, 0)
    stored = orders(sessions)
    r1, r2, r3 = stored["r1"], stored["r2"], stored["r3"]
    assert (r1.total_minor, r1.discount_minor, r1.currency) == (1250, 150, "EUR")
    assert (r2.total_minor, r2.currency) == (1200, "JPY")
    assert (r3.total_minor, r3.loyalty_card) == (1250, "L-9")
    assert r1.ordered_at == datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    assert r2.ordered_at == datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
    # the channel defaults to the source's; a receipt without a customer is anonymous
    assert (r1.channel, r2.channel) == ("pos", "eshop")
    assert (r1.store_id, r1.voucher_code, r1.attributes) == ("S-01", "SPRING", {"cashier": "Jana"})
    assert r1.source_record_id is None
    assert customer_records(sessions) == {}


def test_times_without_an_offset_are_read_in_the_given_time_zone(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = write(
        tmp_path / "o.csv",
        ORDERS,
        "w,,,,,2024-01-15T12:00:00,,,CZK,10,,",
        "s,,,,,2024-07-15T12:00:00,,,CZK,10,,",
        "z,,,,,2024-07-15T12:00:00Z,,,CZK,10,,",
    )

    import_file(
        sessions, "orders", path, source="pos", channel=Channel.POS, timezone="Europe/Prague"
    )

    stored = orders(sessions)
    assert stored["w"].ordered_at == datetime(2024, 1, 15, 11, tzinfo=UTC)
    assert stored["s"].ordered_at == datetime(2024, 7, 15, 10, tzinfo=UTC)
    assert stored["z"].ordered_at == datetime(2024, 7, 15, 12, tzinfo=UTC)


def test_an_order_before_its_customer_creates_a_placeholder_filled_later(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # given an order naming customer c7, who has not been delivered yet
    orders_file = write(tmp_path / "o.csv", ORDERS, "o1,c7,,,,2024-01-01T10:00:00Z,,,EUR,5,,")

    first = import_file(sessions, "orders", orders_file, source="eshop", channel=Channel.ESHOP)

    placeholder = customer_records(sessions)["c7"]
    assert first.placeholders_created == 1
    assert placeholder.is_placeholder is True
    assert placeholder.first_name is None
    assert orders(sessions)["o1"].source_record_id == placeholder.id

    # when the customer file arrives
    customers = write(
        tmp_path / "c.csv",
        "id,first_name,last_name,email,phone,loyalty_card,birth_date,street,city,postcode,region,country",
        "c7,Ann,Lee,ann@example.com,,,,,,,,",
    )
    filled = import_file(sessions, "customers", customers, source="eshop")

    # then the same record is filled in, and the order still points at it
    record = customer_records(sessions)["c7"]
    assert (filled.inserted, filled.updated) == (1, 0)
    assert record.id == placeholder.id
    assert (record.is_placeholder, record.first_name) == (False, "Ann")
    assert orders(sessions)["o1"].source_record_id == record.id
    # and a second order for the same customer makes no new placeholder
    again = import_file(
        sessions,
        "orders",
        write(tmp_path / "o2.csv", ORDERS, "o2,c7,,,,2024-01-02T10:00:00Z,,,EUR,5,,"),
        source="eshop",
    )
    assert again.placeholders_created == 0
    assert orders(sessions)["o2"].source_record_id == record.id


def test_jsonl_orders_carry_their_lines_which_are_replaced_when_the_order_changes(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    order = {
        "id": "w-1",
        "customer_id": "u1",
        "ordered_at": "2024-05-05T18:00:00Z",
        "currency": "EUR",
        "total": 23.0,
        "lines": [
            {"sku": "TEA", "quantity": 2, "unit_price": "6.50"},
            {"sku": "CUP", "quantity": 1, "unit_price": 12, "discount": "2.00"},
        ],
    }
    path = jsonl(tmp_path / "o.jsonl", order)

    first = import_file(sessions, "orders", path, source="eshop", channel=Channel.ESHOP)
    again = import_file(sessions, "orders", path, source="eshop")

    assert (first.inserted, first.lines_written) == (1, 2)
    assert (again.unchanged, again.lines_written) == (1, 0)
    assert lines_of(sessions, "w-1") == [
        (1, "TEA", 2, 650, 0, 1300),
        (2, "CUP", 1, 1200, 200, 1000),
    ]

    # when the order comes again with other lines
    changed = {
        **order,
        "total": "6.50",
        "lines": [{"sku": "TEA", "quantity": 1, "unit_price": 6.5}],
    }
    summary = import_file(sessions, "orders", jsonl(tmp_path / "o2.jsonl", changed), source="eshop")

    assert (summary.updated, summary.lines_written) == (1, 1)
    assert lines_of(sessions, "w-1") == [(1, "TEA", 1, 650, 0, 650)]
    assert orders(sessions)["w-1"].total_minor == 650


def test_a_lines_file_numbers_lines_within_each_order_in_file_order(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    import_file(
        sessions,
        "orders",
        write(
            tmp_path / "o.csv",
            ORDERS,
            "r1,,,,,2024-01-01T10:00:00Z,,,EUR,10,,",
            "r2,,,,,2024-01-01T11:00:00Z,,,JPY,300,,",
        ),
        source="pos",
        channel=Channel.POS,
    )
    # lines without line numbers, an order's lines split across chunks and interleaved
    lines = write(
        tmp_path / "lines.csv",
        "order_id,sku,quantity,unit_price,discount",
        "r1,A,1,2.50,",
        "r2,X,3,100,",
        "r1,B,2,3.75,0.50",
        "r9,C,1,1,",
        "r1,C,1,0.5,",
    )

    summary = import_file(sessions, "order_lines", lines, source="pos", chunk_size=2)
    again = import_file(sessions, "order_lines", lines, source="pos", chunk_size=3)

    assert (summary.inserted, summary.rejected, summary.lines_written) == (4, 1, 4)
    assert summary.errors == (
        RowError(5, "order 'r9' is not known for source 'pos' (import orders before their lines)"),
    )
    assert (again.inserted, again.unchanged, again.updated) == (0, 4, 0)
    assert lines_of(sessions, "r1") == [
        (1, "A", 1, 250, 0, 250),
        (2, "B", 2, 375, 50, 700),
        (3, "C", 1, 50, 0, 50),
    ]
    assert lines_of(sessions, "r2") == [(1, "X", 3, 100, 0, 300)]


def test_explicit_line_numbers_are_kept_and_a_changed_line_is_updated(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    import_file(
        sessions,
        "orders",
        write(tmp_path / "o.csv", ORDERS, "r1,,,,,2024-01-01T10:00:00Z,,,EUR,10,,"),
        source="pos",
        channel=Channel.POS,
    )
    header = "order_id,line_no,sku,quantity,unit_price"
    import_file(
        sessions,
        "order_lines",
        write(tmp_path / "a.csv", header, "r1,5,A,1,1.00", "r1,7,B,1,2.00"),
        source="pos",
    )

    summary = import_file(
        sessions,
        "order_lines",
        write(tmp_path / "b.csv", header, "r1,5,A,1,1.00", "r1,7,B,2,2.00", "r1,7,B,9,9.00"),
        source="pos",
    )

    assert (summary.unchanged, summary.updated, summary.rejected) == (1, 1, 1)
    assert summary.errors == (RowError(4, "duplicate line of its order (first on line 3)"),)
    assert lines_of(sessions, "r1") == [(5, "A", 1, 100, 0, 100), (7, "B", 2, 200, 0, 400)]


def test_bad_order_rows_are_reported_and_the_rest_imported(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = write(
        tmp_path / "o.csv",
        ORDERS,
        "ok,,,,,2024-01-01T10:00:00Z,,,EUR,10,,",
        "t1,,,,,2024-01-01T10:00:00Z,,,EUR,ten,,",
        "t2,,,,,2024-01-01T10:00:00Z,,,XYZ,10,,",
        "t3,,,,,yesterday,,,EUR,10,,",
        "t4,,,,,2024-01-01T10:00:00Z,,,EUR,10.005,,",
        "t5,,,,,2024-01-01T10:00:00Z,,,JPY,10.5,,",
        "t6,,,,,2024-01-01T10:00:00Z,fax,,EUR,10,,",
        "t7,,,,,2024-01-01T10:00:00Z,,,EUR,10,-1,",
        "t8,,,,,,,,EUR,10,,",
        "ok,,,,,2024-01-01T10:00:00Z,,,EUR,11,,",
        "t9,,,,,2024-01-01T10:00:00Z,,,EUR,12,50,,X",
    )

    summary = import_file(sessions, "orders", path, source="pos", channel=Channel.POS)

    assert summary.errors == (
        RowError(3, "total 'ten' is not an amount (write it like 12.50)"),
        RowError(4, "currency 'XYZ' is not a known ISO 4217 currency"),
        RowError(5, "ordered_at 'yesterday' is not an ISO 8601 date and time"),
        RowError(6, "total: '10.005' has more decimal places than EUR allows (2)"),
        RowError(7, "total: '10.5' has more decimal places than JPY allows (0)"),
        RowError(8, "channel 'fax' is not one of eshop, pos, app, web, crm"),
        RowError(9, "discount must not be negative"),
        RowError(10, "ordered_at is missing"),
        RowError(11, "duplicate id (first on line 2)"),
        RowError(12, "expected 12 columns, found 13"),
    )
    assert sorted(orders(sessions)) == ["ok"]
    assert orders(sessions)["ok"].total_minor == 1000


def test_bad_embedded_lines_reject_their_order(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    base = {"ordered_at": "2024-01-01T10:00:00Z", "currency": "EUR", "total": 1}
    path = jsonl(
        tmp_path / "o.jsonl",
        {**base, "id": "a", "lines": [{"sku": "X", "quantity": 1.5, "unit_price": 1}]},
        {**base, "id": "b", "lines": [{"sku": "X", "quantity": 1}]},
        {**base, "id": "c", "lines": "X"},
        {**base, "id": "d", "lines": []},
    )

    summary = import_file(sessions, "orders", path, source="eshop", channel=Channel.ESHOP)

    assert summary.errors == (
        RowError(1, "lines[0]: quantity 1.5 is not a whole number"),
        RowError(2, "lines[0]: unit_price is missing"),
    )
    # a string is not lines: it stays with the order as an attribute
    assert orders(sessions)["c"].attributes == {"lines": "X"}
    assert lines_of(sessions, "d") == []


def test_numbers_too_large_to_store_are_rejected_on_every_engine(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    base = {"ordered_at": "2024-01-01T10:00:00Z", "currency": "EUR"}
    path = jsonl(
        tmp_path / "o.jsonl",
        {**base, "id": "a", "total": "1e30"},
        {
            **base,
            "id": "b",
            "total": 1,
            "lines": [{"sku": "X", "quantity": 10**10, "unit_price": 1}],
        },
        {
            **base,
            "id": "c",
            "total": 1,
            "lines": [{"sku": "X", "quantity": 2**31 - 1, "unit_price": "10000000000000"}],
        },
        {**base, "id": "ok", "total": 1},
    )

    summary = import_file(sessions, "orders", path, source="eshop", channel=Channel.ESHOP)

    assert summary.errors == (
        RowError(1, "total: '1e30' is too large an amount of money"),
        RowError(2, "lines[0]: quantity 10000000000 is too large"),
        RowError(3, "lines[0]: the line total is too large"),
    )
    assert sorted(orders(sessions)) == ["ok"]
