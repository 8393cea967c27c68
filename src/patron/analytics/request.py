"""Turning what a person typed (CLI options, query parameters) into a ``ReportRequest``.

Every error names the parameter it is about, so the CLI can answer with exit code 2 and the
API with 422 saying which parameter and why.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from patron.analytics.contract import Comparison, Filters, Period, ReportRequest

# The channels a retailer sells through; the tracking channel ``web`` is the e-shop's.
SALES_CHANNELS = ("pos", "eshop", "app")
MAX_TOP = 1000
_STORE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class NamedPeriod(StrEnum):
    LAST_30_DAYS = "last-30-days"
    LAST_90_DAYS = "last-90-days"
    LAST_12_MONTHS = "last-12-months"
    YTD = "ytd"
    ALL = "all"


class ReportRequestError(ValueError):
    """A parameter of a report request is wrong; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


def _parse_date(parameter: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        msg = f"{value!r} is not a date; write it as YYYY-MM-DD"
        raise ReportRequestError(parameter, msg) from error


def _named_period(name: NamedPeriod, today: date) -> Period | None:
    if name is NamedPeriod.ALL:
        return None
    if name is NamedPeriod.LAST_30_DAYS:
        return Period(today - timedelta(days=29), today)
    if name is NamedPeriod.LAST_90_DAYS:
        return Period(today - timedelta(days=89), today)
    if name is NamedPeriod.YTD:
        return Period(today.replace(month=1, day=1), today)
    # Twelve whole months ending today: from the day after the same date a year ago.
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_ago = today.replace(year=today.year - 1, day=28)
    return Period(year_ago + timedelta(days=1), today)


def local_today(timezone: str, now: datetime | None = None) -> date:
    """Today's date in ``timezone`` (``now`` defaults to the clock)."""
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()


def _parse_list(parameter: str, values: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    # Repeated parameters and comma-separated lists both work: channel=pos,app.
    found: list[str] = []
    for value in values or ():
        for part in value.split(","):
            stripped = part.strip()
            if not stripped:
                msg = "an empty value; give a name or leave the parameter out"
                raise ReportRequestError(parameter, msg)
            if stripped not in found:
                found.append(stripped)
    return tuple(found)


def parse_request(
    *,
    period: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    channels: list[str] | tuple[str, ...] | None = None,
    stores: list[str] | tuple[str, ...] | None = None,
    compare: str | None = None,
    timezone: str = "UTC",
    top: int | None = None,
    now: datetime | None = None,
) -> ReportRequest:
    """Validate report parameters given as text and build the request.

    ``period`` is one of ``last-30-days``, ``last-90-days``, ``last-12-months``, ``ytd``,
    ``all`` and cannot be combined with ``date_from``/``date_to`` (ISO dates, both included;
    either may be left out: the other bound is then open). ``compare`` is ``none``,
    ``previous-period`` or ``previous-year`` (default: ``previous-period`` for a bounded
    period, none for all the data). Raises ``ReportRequestError`` naming the parameter.
    """
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ReportRequestError("timezone", f"unknown time zone {timezone!r}") from error
    today = local_today(timezone, now)
    resolved: Period | None
    if period is not None and (date_from is not None or date_to is not None):
        msg = "give either a named period or from/to dates, not both"
        raise ReportRequestError("period", msg)
    if period is not None:
        try:
            named = NamedPeriod(period)
        except ValueError as error:
            choices = ", ".join(member.value for member in NamedPeriod)
            msg = f"{period!r} is not a period; use one of {choices}"
            raise ReportRequestError("period", msg) from error
        resolved = _named_period(named, today)
    elif date_from is not None or date_to is not None:
        start = _parse_date("from", date_from) if date_from is not None else date(1970, 1, 1)
        end = _parse_date("to", date_to) if date_to is not None else today
        if end < start:
            msg = f"{end.isoformat()} is before the start {start.isoformat()}"
            raise ReportRequestError("to", msg)
        resolved = Period(start, end)
    else:
        resolved = None

    if compare is None:
        comparison = Comparison.PREVIOUS_PERIOD if resolved is not None else Comparison.NONE
    else:
        try:
            comparison = Comparison(compare)
        except ValueError as error:
            choices = ", ".join(member.value for member in Comparison)
            msg = f"{compare!r} is not a comparison; use one of {choices}"
            raise ReportRequestError("compare", msg) from error
        if comparison is not Comparison.NONE and resolved is None:
            msg = "a comparison needs a bounded period (from/to or a named period but all)"
            raise ReportRequestError("compare", msg)

    channel_list = _parse_list("channel", channels)
    for channel in channel_list:
        if channel not in SALES_CHANNELS:
            msg = f"{channel!r} is not a sales channel; use {', '.join(SALES_CHANNELS)}"
            raise ReportRequestError("channel", msg)
    store_list = _parse_list("store", stores)
    for store in store_list:
        if not _STORE_ID.match(store):
            msg = f"{store!r} is not a store id (letters, digits, - _ . : up to 64)"
            raise ReportRequestError("store", msg)
    if top is not None and not 1 <= top <= MAX_TOP:
        raise ReportRequestError("top", f"{top} is out of range; use 1 to {MAX_TOP}")
    return ReportRequest(
        period=resolved,
        comparison=comparison,
        filters=Filters(channels=channel_list, stores=store_list),
        timezone=timezone,
        today=today,
        top=top if top is not None else 20,
    )
