"""One person's life with the retailer: accounts in each channel, orders, visits, and the truth.

A person's purchases are planned first (when, in which channel), then lived in time order:
the first store visit enrols them in the loyalty scheme, the first e-shop order opens their
account, the first app order installs the app. Every record some file or event delivers is
written to the ground truth with the mess it picked up; an account that nothing delivers (an
app account never used in the history, an e-shop account opened after the export that no
order names) is not: no one outside the retailer's own systems could know of it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from patron.world import mess
from patron.world.mess import APP_RATES, CRM_RATES, ESHOP_RATES, POS_RATES
from patron.world.records import RecordMaker, customer_row
from patron.world.shopping import (
    APP,
    ESHOP,
    POS,
    STORE_IDS,
    CustomerType,
    Purchase,
    basket,
    draw_habits,
    pick_channel,
    pick_store,
    purchase_days,
    time_of_purchase,
    voucher,
)
from patron.world.timeline import (
    CURRENCY,
    DAY,
    END_S,
    ESHOP_EXPORT_S,
    HISTORY_DAYS,
    START_S,
    iso_date,
    iso_local,
    iso_utc,
)
from patron.world.writers import dumps

if TYPE_CHECKING:
    from patron.world.catalogue import Catalogue
    from patron.world.events import Cookie, Device, EventWriter
    from patron.world.people import Person
    from patron.world.records import Details
    from patron.world.shopping import Habits
    from patron.world.timeline import Day
    from patron.world.writers import CsvOutput, Spool

POS_SOURCE = "store-pos"
ESHOP_SOURCE = "eshop"
WEB_SOURCE = "eshop-web"
APP_SOURCE = "mobile-app"
CRM_SOURCE = "loyalty-crm"

POS_EXTRAS = ("gender", "created_at", "store_id", "marketing_opt_in")
ESHOP_EXTRAS = ("gender", "created_at", "marketing_opt_in")
CRM_EXTRAS = ("gender", "created_at", "tier", "points", "marketing_opt_in", "sms_opt_in")
TRUTH_COLUMNS = ("source", "record_id", "person_id", "mess")
PEOPLE_COLUMNS = (
    "person_id", "customer_type", "channels", "existing", "acquired_at", "churned_at",
    "purchase_rate", "dropout", "orders", "revenue", "household_id", "home_store",
    "store_hour", "online_hour", "departments",
)  # fmt: skip

# How identified a store receipt is when a loyalty member pays.
MEMBER_RECEIPT_FULL = 0.72
MEMBER_RECEIPT_CARD_ONLY = 0.9
ONLINE_MEMBER_CARD_SCANNED = 0.8
EMAIL_RECEIPT = 0.06
DUPLICATE_ENROLMENT = 0.03
DUPLICATE_ACCOUNT = 0.05
GUEST_CHECKOUT = 0.08
# An account opened at a checkout is opened this long before the order at most.
ACCOUNT_OPENING_S = 1800
CLICK_AND_COLLECT = 0.12
SECOND_DEVICE = 0.2
TABLET_SESSION = 0.06
# Sessions without an order per order made, and a baseline per person.
BROWSE_PER_ORDER = 0.5
BROWSE_BASE = 1.0
# After their last purchase, people who dropped out still visit for about this long.
AFTERGLOW = 45 * DAY
_STEP = 2_654_435_761


class IdSequence:
    """Unique ids that look random: a counter spread over the id space by a bijection.

    Each shard of the world counts in its own range (``start`` to ``start + capacity``), and
    every shard uses the same offset, so ids stay unique across shards.
    """

    def __init__(self, prefix: str, digits: int, offset: int, start: int, capacity: int) -> None:
        self._prefix = prefix
        self._digits = digits
        self._space = 10**digits
        self._offset = offset % self._space
        self._count = start
        self._end = start + capacity
        if self._end > self._space:
            msg = f"ids {prefix}…: a world this large needs more than {digits} digits"
            raise ValueError(msg)

    def next(self) -> str:
        if self._count >= self._end:
            msg = f"ids {self._prefix}…: a shard used more ids than it was given"
            raise RuntimeError(msg)
        number = (self._count * _STEP + self._offset) % self._space
        self._count += 1
        return f"{self._prefix}{number:0{self._digits}d}"


# (prefix, digits, ids a shard may use per person in it)
_ID_FORMATS = {
    "pos_member": ("M", 8, 4),
    "card": ("6337", 12, 4),
    "crm": ("CRM", 8, 4),
    "eshop_customer": ("1", 8, 3),
    "receipt": ("R", 10, 400),
    "eshop_order": ("EO", 9, 200),
    "app_order": ("AO", 9, 200),
}


@dataclass(slots=True)
class Ids:
    pos_member: IdSequence
    card: IdSequence
    crm: IdSequence
    eshop_customer: IdSequence
    receipt: IdSequence
    eshop_order: IdSequence
    app_order: IdSequence

    @classmethod
    def for_shard(cls, seed: int, shard: int, shard_size: int) -> Ids:
        """The id sequences of one shard: the same bijections in every shard, own ranges."""
        offsets = random.Random(f"{seed}:ids")  # noqa: S311 - a simulation, not a secret
        sequences = {}
        for name, (prefix, digits, per_person) in _ID_FORMATS.items():
            # A shard holds one person more than its size when a household straddles its end.
            capacity = (shard_size + 1) * per_person
            sequences[name] = IdSequence(
                prefix, digits, offsets.randrange(10**digits), shard * capacity, capacity
            )
        return cls(**sequences)


@dataclass(slots=True)
class Sinks:
    """Where a life's rows go: spools for time-ordered files, outputs for the truth."""

    pos_customers: Spool
    pos_orders: Spool
    eshop_customers: Spool
    eshop_orders: Spool
    app_orders: Spool
    crm_customers: Spool
    truth: CsvOutput
    people: CsvOutput


@dataclass(slots=True)
class Account:
    """One record of the person in one source."""

    source: str
    record_id: str
    created_at: int
    details: Details
    card: str | None = None
    tags: list[str] = field(default_factory=list)
    store_id: str = ""
    # Whether an order or an event names the account (customer files are checked on writing).
    named: bool = False


@dataclass(slots=True)
class _Plan:
    at: int
    channel: str
    day: Day


@dataclass(slots=True)
class _Visit:
    """A web or app session: an order's, or one that only browses."""

    at: int
    purchase: Purchase | None = None
    order_id: str = ""
    account: Account | None = None
    # What a guest typed at checkout.
    email: str = ""


class Lives:
    """Lives people's lives one after another, writing what every channel sees."""

    def __init__(
        self,
        rng: random.Random,
        *,
        calendar: tuple[Day, ...],
        catalogue: Catalogue,
        maker: RecordMaker,
        sinks: Sinks,
        web: EventWriter,
        app: EventWriter,
        tablets: dict[str, Device],
        ids: Ids,
    ) -> None:
        self.rng = rng
        self.calendar = calendar
        self.max_demand = max(day.demand for day in calendar)
        self.catalogue = catalogue
        self.maker = maker
        self.sinks = sinks
        self.web = web
        self.app = app
        self.tablets = tablets
        self.ids = ids

    # -- a life ------------------------------------------------------------------------------

    def live(self, person: Person) -> None:
        rng = self.rng
        habits = draw_habits(rng, person)
        days, churn_day = purchase_days(rng, habits, self.calendar, self.max_demand)
        plans = []
        for index in days:
            channel = pick_channel(rng, habits)
            day = self.calendar[index]
            if channel == POS and day.date.month == 12 and day.date.day == 25:
                day = self.calendar[index - 1]  # stores are closed on Christmas Day
            hour = habits.store_hour if channel == POS else habits.online_hour
            plans.append(_Plan(time_of_purchase(rng, day, channel, hour), channel, day))
        plans.sort(key=lambda plan: plan.at)

        accounts: list[Account] = []
        members = self._enrol(person, habits, plans, accounts)
        eshop_accounts = self._eshop_accounts(person, habits, plans, accounts, members)
        app_account = self._app_account(person, habits, plans, accounts)

        web_visits: list[_Visit] = []
        app_visits: list[_Visit] = []
        first_online = {ESHOP: True, APP: True}
        revenue = 0
        for plan in plans:
            if plan.channel == ESHOP:
                purchase, visit = self._eshop_order(
                    person, habits, plan, eshop_accounts, members, first=first_online[ESHOP]
                )
                web_visits.append(visit)
            elif plan.channel == APP and app_account is not None:
                # (the account is there: the person's first app order opened it)
                purchase, visit = self._app_order(
                    habits, plan, app_account, members, first=first_online[APP]
                )
                app_visits.append(visit)
            else:
                purchase = self._pos_receipt(person, habits, plan, members)
            first_online[plan.channel] = False
            revenue += purchase.total

        window_start = max(START_S, habits.acquired_s)
        churn_at = self.calendar[churn_day].start_s if churn_day is not None else None
        window_end = END_S if churn_at is None else min(END_S, churn_at + AFTERGLOW)
        if ESHOP in habits.channels:
            count = _poisson(rng, BROWSE_PER_ORDER * len(web_visits) + BROWSE_BASE)
            web_visits.extend(
                _Visit(self._online_moment(habits, window_start, window_end)) for _ in range(count)
            )
            if habits.kind is CustomerType.PROSPECT:
                # Prospects open their account on a visit of its own: a sign-up, no order.
                web_visits.extend(
                    _Visit(account.created_at, account=account)
                    for account in eshop_accounts
                    if account.created_at >= START_S
                )
            self._web_life(person, habits, web_visits)
        if app_account is not None:
            count = _poisson(rng, BROWSE_PER_ORDER * len(app_visits) + BROWSE_BASE)
            app_visits.extend(
                _Visit(self._online_moment(habits, app_account.created_at, window_end))
                for _ in range(count)
            )
            self._app_life(habits, app_visits, app_account)

        for account in accounts:
            self._write_account(person, account, revenue)
        self.sinks.people.write(
            [
                person.person_id,
                habits.kind.value,
                ";".join(habits.channels),
                "true" if habits.existing else "false",
                iso_date(habits.acquired_s),
                iso_date(churn_at) if churn_at is not None else "",
                f"{habits.rate_per_year:.3f}",
                f"{habits.dropout:.2f}",
                len(plans),
                money(revenue),
                person.household_id or "",
                habits.home_store,
                f"{habits.store_hour:.1f}",
                f"{habits.online_hour % 24:.1f}",
                ";".join(habits.departments),
            ]
        )

    # -- accounts ----------------------------------------------------------------------------

    def _opened(self, habits: Habits, plans: list[_Plan], channel: str) -> int | None:
        """When the person's account in ``channel`` was opened; None if they never used it."""
        rng = self.rng
        if habits.existing:
            return rng.randrange(habits.acquired_s, START_S)
        if habits.kind is CustomerType.PROSPECT:
            return habits.acquired_s + rng.randrange(8 * 3600, 23 * 3600)
        for plan in plans:
            if plan.channel == channel:
                return (
                    plan.at if channel == POS else plan.at - rng.randrange(120, ACCOUNT_OPENING_S)
                )
        return None

    def _enrol(
        self, person: Person, habits: Habits, plans: list[_Plan], accounts: list[Account]
    ) -> list[Account]:
        """Loyalty memberships: at the till (a POS record and a CRM record), or online."""
        rng = self.rng
        members: list[Account] = []
        if habits.member and POS in habits.channels:
            created = self._opened(habits, plans, POS)
            if created is not None:
                store = pick_store(rng, habits)
                members.append(self._member(person, created, store, accounts, duplicate=False))
                later = [p.at for p in plans if p.channel == POS and p.at > created]
                if later and rng.random() < DUPLICATE_ENROLMENT:
                    # A lost card: the person enrols again and gets a second member number.
                    again = rng.choice(later)
                    members.append(self._member(person, again, store, accounts, duplicate=True))
        elif habits.online_loyalty:
            created = self._opened(habits, plans, ESHOP if ESHOP in habits.channels else APP)
            if created is not None:
                card = self.ids.card.next()
                members.append(self._crm(person, created, card, accounts, duplicate=False))
        return members

    def _member(
        self, person: Person, at: int, store: str, accounts: list[Account], *, duplicate: bool
    ) -> Account:
        card = self.ids.card.next()
        details = self.maker.details(person, POS_RATES, at)
        member = Account(POS_SOURCE, self.ids.pos_member.next(), at, details, card, store_id=store)
        if duplicate:
            member.tags.append(mess.DUPLICATE)
        accounts.append(member)
        self._crm(person, at + self.rng.randrange(60, 3 * DAY), card, accounts, duplicate=duplicate)
        return member

    def _crm(
        self, person: Person, at: int, card: str, accounts: list[Account], *, duplicate: bool
    ) -> Account:
        details = self.maker.details(person, CRM_RATES, at)
        record = Account(CRM_SOURCE, self.ids.crm.next(), at, details, card)
        if duplicate:
            record.tags.append(mess.DUPLICATE)
        accounts.append(record)
        return record

    def _eshop_accounts(
        self,
        person: Person,
        habits: Habits,
        plans: list[_Plan],
        accounts: list[Account],
        members: list[Account],
    ) -> list[Account]:
        rng = self.rng
        if ESHOP not in habits.channels or not habits.eshop_account:
            return []
        created = self._opened(habits, plans, ESHOP)
        if created is None:
            return []
        card = members[-1].card if members and rng.random() < 0.6 else None
        first = Account(
            ESHOP_SOURCE,
            self.ids.eshop_customer.next(),
            created,
            self.maker.details(person, ESHOP_RATES, created),
            card,
        )
        found = [first]
        later = [p.at for p in plans if p.channel == ESHOP and p.at > created + DAY]
        if later and len(person.emails) > 1 and rng.random() < DUPLICATE_ACCOUNT:
            # Forgot the password, registered again with the other address.
            again = rng.choice(later) - rng.randrange(120, ACCOUNT_OPENING_S)
            second = Account(
                ESHOP_SOURCE,
                self.ids.eshop_customer.next(),
                again,
                self.maker.details(person, ESHOP_RATES, again, email=person.emails[1]),
            )
            second.tags.append(mess.DUPLICATE)
            found.append(second)
        accounts.extend(found)
        return found

    def _app_account(
        self, person: Person, habits: Habits, plans: list[_Plan], accounts: list[Account]
    ) -> Account | None:
        if APP not in habits.channels:
            return None
        created = self._opened(habits, plans, APP)
        if created is None:
            return None
        user_id = _base62(self.rng, 28)
        account = Account(
            APP_SOURCE, user_id, created, self.maker.details(person, APP_RATES, created)
        )
        accounts.append(account)
        return account

    def _write_account(self, person: Person, account: Account, revenue: int) -> None:
        rng = self.rng
        details = account.details
        tags = list(details.mess) + account.tags
        created = iso_utc(account.created_at)
        gender = person.gender if rng.random() < 0.7 else ""
        opt_in = "true" if rng.random() < 0.55 else "false"
        if account.source == POS_SOURCE:
            row = customer_row(
                account.record_id, details, account.card or "", "GB",
                [gender, created, account.store_id, opt_in],
            )  # fmt: skip
            self.sinks.pos_customers.add(created + account.record_id, dumps(row))
        elif account.source == CRM_SOURCE:
            card = account.card or ""
            if card and rng.random() < CRM_RATES.card_format:
                card = mess.card_format(card)
                tags.append(mess.CARD_FORMAT)
            points = revenue // 100 if mess.DUPLICATE not in account.tags else revenue // 400
            tier = "gold" if points >= 1500 else "silver" if points >= 500 else "bronze"
            sms = "true" if rng.random() < 0.3 else "false"
            row = customer_row(
                account.record_id, details, card, "UK",
                [gender, created, tier, str(points), opt_in, sms],
            )  # fmt: skip
            self.sinks.crm_customers.add(created + account.record_id, dumps(row))
        elif account.source == ESHOP_SOURCE:
            if account.created_at <= ESHOP_EXPORT_S:
                row = customer_row(
                    account.record_id, details, account.card or "", "United Kingdom",
                    [gender, created, opt_in],
                )  # fmt: skip
                self.sinks.eshop_customers.add(created + account.record_id, dumps(row))
            elif account.named:
                tags.append(mess.NOT_IN_CUSTOMER_FILE)
            else:
                return
        elif not account.named:
            # An app account never used in the history: no file or event has it.
            return
        self.sinks.truth.write(
            [account.source, account.record_id, person.person_id, ";".join(tags)]
        )

    # -- orders ------------------------------------------------------------------------------

    def _pos_receipt(
        self, person: Person, habits: Habits, plan: _Plan, members: list[Account]
    ) -> Purchase:
        rng = self.rng
        member = None
        for candidate in members:
            if candidate.created_at <= plan.at:
                member = candidate
        lines = basket(rng, self.catalogue, plan.day, habits.departments, habits.lines_mean)
        code, discount = voucher(
            rng, lines, plan.day, POS, first_in_channel=False, member=member is not None
        )
        store = pick_store(rng, habits)
        purchase = Purchase(plan.at, plan.day, POS, store, tuple(lines), code, discount)
        customer_id = card = email = ""
        draw = rng.random()
        if member is not None and member.source == POS_SOURCE:
            if draw < MEMBER_RECEIPT_FULL:
                customer_id, card = member.record_id, member.card or ""
            elif draw < MEMBER_RECEIPT_CARD_ONLY:
                card = member.card or ""
        elif member is not None:
            if draw < ONLINE_MEMBER_CARD_SCANNED:
                card = member.card or ""
        elif draw < EMAIL_RECEIPT:
            email = person.emails[0]
        self._write_receipt(purchase, customer_id, card, email)
        return purchase

    def _write_receipt(self, purchase: Purchase, customer_id: str, card: str, email: str) -> None:
        order_id = self.ids.receipt.next()
        row = [
            order_id, customer_id, card, email, "",
            iso_local(purchase.at, purchase.day.utc_offset_s), POS, purchase.store_id or "",
            CURRENCY, money(purchase.total), money(purchase.discount), purchase.voucher or "",
        ]  # fmt: skip
        lines = [
            [order_id, number, line.product.sku, line.quantity, money(line.unit_price),
             money(line.discount)]
            for number, line in enumerate(purchase.lines, start=1)
        ]  # fmt: skip
        self.sinks.pos_orders.add(iso_utc(purchase.at) + order_id, dumps([row, lines]))

    def walk_in(self, day: Day, departments: tuple[str, ...]) -> None:
        """A receipt from a shopper the retailer knows nothing about."""
        rng = self.rng
        at = time_of_purchase(rng, day, POS, rng.uniform(10.0, 18.0))
        lines = basket(rng, self.catalogue, day, departments, 1.5)
        code, discount = voucher(rng, lines, day, POS, first_in_channel=False, member=False)
        store = rng.choice(STORE_IDS)
        purchase = Purchase(at, day, POS, store, tuple(lines), code, discount)
        self._write_receipt(purchase, "", "", "")

    def _eshop_order(
        self,
        person: Person,
        habits: Habits,
        plan: _Plan,
        accounts: list[Account],
        members: list[Account],
        *,
        first: bool,
    ) -> tuple[Purchase, _Visit]:
        rng = self.rng
        account = None
        for candidate in accounts:
            if candidate.created_at <= plan.at and (account is None or rng.random() < 0.5):
                account = candidate
        opened_for_it = next(
            (a for a in accounts if plan.at - ACCOUNT_OPENING_S <= a.created_at <= plan.at), None
        )
        if opened_for_it is not None:
            # The account was opened at this checkout: the order is placed with it.
            account = opened_for_it
        elif account is not None and rng.random() < GUEST_CHECKOUT:
            account = None
        lines = basket(rng, self.catalogue, plan.day, habits.departments, habits.lines_mean)
        code, discount = voucher(
            rng, lines, plan.day, ESHOP, first_in_channel=first and account is not None,
            member=bool(members),
        )  # fmt: skip
        store = habits.home_store if rng.random() < CLICK_AND_COLLECT else None
        purchase = Purchase(plan.at, plan.day, ESHOP, store, tuple(lines), code, discount)
        order_id = self.ids.eshop_order.next()
        if account is not None:
            account.named = True
            email = account.details.email
            customer_id: str | None = account.record_id
        else:
            email = person.family_email if person.family_email and rng.random() < 0.3 else ""
            email = email or person.emails[0]
            if rng.random() < ESHOP_RATES.email_case:
                email = mess.email_case(rng, email)
            customer_id = None
        phone = mess.national_phone(rng, person.mobile) if rng.random() < 0.6 else None
        card = members[-1].card if members and rng.random() < 0.3 else None
        self._write_online_order(
            self.sinks.eshop_orders, purchase, order_id,
            customer_id=customer_id, email=email, phone=phone, card=card,
        )  # fmt: skip
        return purchase, _Visit(purchase.at, purchase, order_id, account, email)

    def _app_order(
        self,
        habits: Habits,
        plan: _Plan,
        account: Account,
        members: list[Account],
        *,
        first: bool,
    ) -> tuple[Purchase, _Visit]:
        rng = self.rng
        lines = basket(rng, self.catalogue, plan.day, habits.departments, habits.lines_mean)
        code, discount = voucher(
            rng, lines, plan.day, APP, first_in_channel=first, member=bool(members)
        )
        purchase = Purchase(plan.at, plan.day, APP, None, tuple(lines), code, discount)
        order_id = self.ids.app_order.next()
        phone = account.details.phone or None
        card = members[-1].card if members and rng.random() < 0.5 else None
        self._write_online_order(
            self.sinks.app_orders, purchase, order_id, customer_id=account.record_id,
            email=account.details.email or None, phone=phone, card=card,
        )  # fmt: skip
        return purchase, _Visit(purchase.at, purchase, order_id, account)

    def _write_online_order(
        self,
        spool: Spool,
        purchase: Purchase,
        order_id: str,
        *,
        customer_id: str | None,
        email: str | None,
        phone: str | None,
        card: str | None,
    ) -> None:
        ordered_at = iso_utc(purchase.at)
        order = {
            "id": order_id,
            "customer_id": customer_id,
            "loyalty_card": card,
            "email": email,
            "phone": phone,
            "ordered_at": ordered_at,
            "channel": purchase.channel,
            "store_id": purchase.store_id,
            "currency": CURRENCY,
            "total": money(purchase.total),
            "discount": money(purchase.discount),
            "voucher_code": purchase.voucher,
            "lines": [
                {
                    "sku": line.product.sku,
                    "quantity": line.quantity,
                    "unit_price": money(line.unit_price),
                    "discount": money(line.discount),
                }
                for line in purchase.lines
            ],
        }
        spool.add(ordered_at + order_id, dumps(order))

    # -- visits ------------------------------------------------------------------------------

    def _online_moment(self, habits: Habits, start: int, end: int) -> int:
        rng = self.rng
        if end <= start:
            return start
        index = min(HISTORY_DAYS - 1, max(0, (rng.randrange(start, end) - START_S) // DAY))
        return time_of_purchase(rng, self.calendar[index], ESHOP, habits.online_hour)

    def _web_life(self, person: Person, habits: Habits, visits: list[_Visit]) -> None:
        rng = self.rng
        web = self.web
        cookies: list[Cookie] = [web.cookie() for _ in range(1 + (rng.random() < 0.4))]
        visits.sort(key=lambda visit: (visit.at, visit.order_id))
        account_ids_seen: set[str] = set()
        for visit in visits:
            cookie = cookies[0] if rng.random() < 0.7 else rng.choice(cookies)
            purchase, account = visit.purchase, visit.account
            if account is not None and account.record_id not in account_ids_seen:
                # The e-shop's customer id is the userId its analytics.js sends.
                account_ids_seen.add(account.record_id)
                self.sinks.truth.write([WEB_SOURCE, account.record_id, person.person_id, ""])
            if purchase is None:
                sign_up = None
                if account is not None:
                    sign_up = (account.record_id, _web_traits(account))
                month = self._month(visit.at)
                web.web_browse(cookie, visit.at, month, habits.departments, sign_up=sign_up)
            elif account is None:
                # A guest checks out in a browser where no one is logged in (or a private one).
                guest = next((c for c in cookies if c.user_id is None), None)
                if guest is None:
                    guest = web.cookie()
                    cookies.append(guest)
                web.web_order(
                    guest, purchase, visit.order_id, user_id=None, traits={"email": visit.email}
                )
            else:
                web.web_order(
                    cookie,
                    purchase,
                    visit.order_id,
                    user_id=account.record_id,
                    traits=_web_traits(account),
                )

    def _month(self, at: int) -> int:
        return self.calendar[min(HISTORY_DAYS - 1, (at - START_S) // DAY)].date.month - 1

    def _app_life(self, habits: Habits, visits: list[_Visit], account: Account) -> None:
        rng = self.rng
        app = self.app
        details = account.details
        traits: dict[str, Any] = {
            "email": details.email,
            "firstName": details.first_name,
            "lastName": details.last_name,
        }
        if details.phone:
            traits["phone"] = details.phone
        if details.birth_date:
            traits["birthday"] = details.birth_date
        traits["createdAt"] = iso_utc(account.created_at)
        user_id = account.record_id
        devices = [app.device()]
        switch_at = END_S + 1
        if rng.random() < SECOND_DEVICE:
            # A new phone: the person logs in again on it.
            devices.append(app.device())
            switch_at = rng.randrange(max(account.created_at, START_S), END_S)
        # Signed up in the history, or used in it: the app's messages name the account.
        account.named = account.created_at >= START_S or bool(visits)
        # An account opened before the history: the app first identifies its user on the first
        # launch of the history (the release that shipped the tracking SDK finds a signed-in
        # user and calls identify, as a fresh sign-in would).
        identified = account.created_at >= START_S
        if identified:
            app.app_signup(devices[0], account.created_at, user_id, traits)
        visits.sort(key=lambda visit: (visit.at, visit.order_id))
        switched = False
        on_tablets = TABLET_SESSION if POS in habits.channels else TABLET_SESSION / 3
        for visit in visits:
            login = None
            device = devices[0]
            if visit.at >= switch_at:
                device = devices[-1]
                if not switched:
                    switched, login = True, traits
            if not identified:
                identified, login = True, traits
            month = self._month(visit.at)
            if visit.purchase is not None:
                app.app_order(device, visit.purchase, visit.order_id, user_id, traits=login)
                continue
            if rng.random() < on_tablets:
                # Logged in on the store's tablet: a device many shoppers share.
                device, login = self.tablets[pick_store(rng, habits)], traits
            app.app_browse(
                device, at=visit.at, month=month, departments=habits.departments,
                user_id=user_id, traits=login,
            )  # fmt: skip


def _web_traits(account: Account) -> dict[str, Any]:
    return {
        "email": account.details.email,
        "firstName": account.details.first_name,
        "lastName": account.details.last_name,
    }


def money(minor: int) -> str:
    """Minor units as a major-unit decimal string: ``1250`` → ``12.50``."""
    sign = "-" if minor < 0 else ""
    pounds, pence = divmod(abs(minor), 100)
    return f"{sign}{pounds}.{pence:02d}"


def _poisson(rng: random.Random, mean: float) -> int:
    limit = math.exp(-mean)
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(rng: random.Random, length: int) -> str:
    number = rng.getrandbits(6 * length)
    digits = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(digits)
