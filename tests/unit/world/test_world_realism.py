"""The world looks like a retailer's: mess in expected proportions, seasons, loyal customers."""

from collections import Counter, defaultdict
from statistics import mean

import phonenumbers
from tests.unit.world.world_files import read_csv, read_jsonl

from patron.world import MESS_TAGS, WorldSummary

CUSTOMER_FILES = (
    ("pos_customers.csv", "store-pos"),
    ("eshop_customers.csv", "eshop"),
    ("crm_customers.csv", "loyalty-crm"),
)


def _truth(world: WorldSummary) -> dict[tuple[str, str], dict[str, str]]:
    return {(r["source"], r["record_id"]): r for r in read_csv(world.directory / "truth.csv")}


def _mess_rates(world: WorldSummary) -> dict[str, float]:
    rows = [r for r in read_csv(world.directory / "truth.csv") if r["source"] != "eshop-web"]
    tags = Counter(tag for r in rows for tag in r["mess"].split(";") if tag)
    return {tag: count / len(rows) for tag, count in tags.items()}


def test_mess_tags_are_the_documented_ones(world: WorldSummary) -> None:
    assert set(_mess_rates(world)) <= set(MESS_TAGS)


def test_mess_appears_in_expected_proportions(world: WorldSummary) -> None:
    rates = _mess_rates(world)

    # Every kind of mess is there, none swamps the records.
    for tag in ("nickname", "email_case", "other_email", "phone_international", "card_format",
                "missing_email", "missing_birth_date", "postcode_format"):  # fmt: skip
        assert 0.02 < rates[tag] < 0.6, tag
    for tag in ("typo_first_name", "typo_last_name", "transposed_birth_date", "shared_email",
                "former_address", "duplicate"):  # fmt: skip
        assert 0.001 < rates[tag] < 0.1, tag


def test_several_people_share_a_family_email(world: WorldSummary) -> None:
    truth = _truth(world)
    people_by_email: defaultdict[str, set[str]] = defaultdict(set)
    for name, source in CUSTOMER_FILES:
        for row in read_csv(world.directory / name):
            if row["email"]:
                person = truth[(source, row["id"])]["person_id"]
                people_by_email[row["email"].strip().lower()].add(person)

    shared = [email for email, people in people_by_email.items() if len(people) > 1]

    assert len(shared) >= 5
    assert all(len(people_by_email[email]) == 2 for email in shared)


def test_transposed_birth_dates_swap_day_and_month(world: WorldSummary) -> None:
    truth = _truth(world)
    births: defaultdict[str, set[str]] = defaultdict(set)
    transposed = []
    for name, source in CUSTOMER_FILES:
        for row in read_csv(world.directory / name):
            record = truth[(source, row["id"])]
            if row["birth_date"]:
                births[record["person_id"]].add(row["birth_date"])
            if "transposed_birth_date" in record["mess"]:
                transposed.append((record["person_id"], row["birth_date"]))

    assert transposed
    for person, wrong in transposed:
        year, month, day = wrong.split("-")
        assert f"{year}-{day}-{month}" != wrong
        others = births[person] - {wrong}
        assert not others or f"{year}-{day}-{month}" in others


def test_one_person_has_records_in_several_sources(world: WorldSummary) -> None:
    truth = read_csv(world.directory / "truth.csv")
    sources: defaultdict[str, set[str]] = defaultdict(set)
    for row in truth:
        sources[row["person_id"]].add(row["source"])

    spread = Counter(len(found) for found in sources.values())

    assert spread[1] > 0
    assert sum(count for size, count in spread.items() if size >= 3) > 50


def test_phones_are_gb_numbers_in_national_and_international_formats(
    world: WorldSummary,
) -> None:
    phones = [r["phone"] for r in read_csv(world.directory / "pos_customers.csv") if r["phone"]]
    phones += [r["phone"] for r in read_csv(world.directory / "crm_customers.csv") if r["phone"]]

    international = [p for p in phones if p.startswith(("+", "00"))]

    assert 0.05 < len(international) / len(phones) < 0.5
    for phone in phones:
        number = phonenumbers.parse(phone, "GB")
        assert phonenumbers.is_valid_number(number), phone


def test_many_store_receipts_are_anonymous_and_some_carry_only_a_card(
    world: WorldSummary,
) -> None:
    receipts = read_csv(world.directory / "pos_orders.csv")

    anonymous = [r for r in receipts if not (r["customer_id"] or r["loyalty_card"] or r["email"])]
    card_only = [r for r in receipts if r["loyalty_card"] and not r["customer_id"]]
    stores = Counter(r["store_id"] for r in receipts)

    assert 0.3 < len(anonymous) / len(receipts) < 0.7
    assert len(card_only) > 0.03 * len(receipts)
    assert len(stores) == 12


def test_omnichannel_customers_are_worth_more_than_single_channel_ones(
    world: WorldSummary,
) -> None:
    people = [p for p in read_csv(world.directory / "people.csv") if p["orders"] != "0"]
    single = [float(p["revenue"]) for p in people if ";" not in p["channels"]]
    several = [float(p["revenue"]) for p in people if ";" in p["channels"]]

    assert several
    assert mean(several) > 1.5 * mean(single)


def test_purchase_rates_differ_by_customer_type(world: WorldSummary) -> None:
    people = read_csv(world.directory / "people.csv")
    orders: defaultdict[str, list[int]] = defaultdict(list)
    for person in people:
        orders[person["customer_type"]].append(int(person["orders"]))

    assert mean(orders["loyal"]) > 2 * mean(orders["occasional"])
    assert mean(orders["occasional"]) > mean(orders["one_off"]) == 1
    churned = [p for p in people if p["customer_type"] == "lapsing" and p["churned_at"]]
    assert len(churned) > 0.5 * len(orders["lapsing"])


def test_december_is_the_busiest_month(world: WorldSummary) -> None:
    months: Counter[str] = Counter()
    for receipt in read_csv(world.directory / "pos_orders.csv"):
        months[receipt["ordered_at"][5:7]] += 1
    for order in read_jsonl(world.directory / "eshop_orders.jsonl"):
        months[order["ordered_at"][5:7]] += 1

    assert months.most_common(1)[0][0] == "12"
    assert months["12"] > 1.5 * months["02"]


def test_vouchers_and_discounts_are_used(world: WorldSummary) -> None:
    orders = read_jsonl(world.directory / "eshop_orders.jsonl")
    codes = Counter(o["voucher_code"] for o in orders if o["voucher_code"])
    marked_down = [line for o in orders for line in o["lines"] if line["discount"] != "0.00"]

    assert "WELCOME10" in codes
    assert len(codes) >= 3
    assert marked_down


def test_online_orders_follow_each_persons_preferred_hour(world: WorldSummary) -> None:
    hour_of = {
        p["person_id"]: float(p["online_hour"]) for p in read_csv(world.directory / "people.csv")
    }
    owner = {
        r["record_id"]: r["person_id"]
        for r in read_csv(world.directory / "truth.csv")
        if r["source"] == "eshop"
    }
    distances = []
    for order in read_jsonl(world.directory / "eshop_orders.jsonl"):
        if order["customer_id"]:
            # UTC, against a preference in UK time: an hour of summer time is within reach.
            utc_hour = int(order["ordered_at"][11:13]) + int(order["ordered_at"][14:16]) / 60
            gap = abs(utc_hour - hour_of[owner[order["customer_id"]]]) % 24
            distances.append(min(gap, 24 - gap))

    near = [d for d in distances if d <= 4.5]

    assert len(near) > 0.8 * len(distances)
