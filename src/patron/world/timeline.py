"""The world's calendar: a fixed history window, seasons, sales, and timestamp formatting.

Every time in the world is an integer count of seconds since the Unix epoch (UTC). The
history ends on a fixed date that never depends on the wall clock or the seed, so that the
same seed always gives the same bytes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

REGION = "GB"
COUNTRY_NAME = "United Kingdom"
CURRENCY = "GBP"
LOCAL_ZONE = ZoneInfo("Europe/London")

HISTORY_START = datetime(2024, 1, 1, tzinfo=UTC)
# The last instant of the world's history: "today" for everything generated.
HISTORY_END = datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC)
# The e-shop's customer file was exported ten days before the end, so accounts opened since
# are only known from the orders that refer to them.
ESHOP_EXPORT_AT = datetime(2026, 6, 20, 23, 59, 59, tzinfo=UTC)

DAY = 86_400
START_S = int(HISTORY_START.timestamp())
END_S = int(HISTORY_END.timestamp())
ESHOP_EXPORT_S = int(ESHOP_EXPORT_AT.timestamp())
HISTORY_DAYS = (END_S - START_S) // DAY + 1

# Demand by calendar month (January sales, a quiet spring, the summer sale, the Christmas peak).
MONTH_DEMAND = (0.85, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 0.9, 0.85, 0.95, 1.25, 1.75)
# Demand by weekday, Monday first: Saturday is the busiest shopping day.
WEEKDAY_DEMAND = (0.9, 0.9, 0.95, 1.0, 1.1, 1.3, 0.95)


@dataclass(frozen=True, slots=True)
class Day:
    """One day of the history, with what shapes shopping on it."""

    index: int
    date: date
    start_s: int
    # Offset of UK local time from UTC at noon that day, in seconds (0 or 3600).
    utc_offset_s: int
    demand: float
    # A markdown sale is on (winter sale, summer sale, Black Friday week).
    sale: bool
    # The voucher campaign running that day, if any.
    campaign: str | None


def _black_friday(year: int) -> date:
    """The day after the fourth Thursday of November."""
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=22)


def _campaign(day: date) -> str | None:
    black_friday = _black_friday(day.year)
    if black_friday - timedelta(days=3) <= day <= black_friday + timedelta(days=3):
        return "BLACKFRIDAY20"
    if day.month == 12 and day.day <= 20:
        return "XMAS10"
    if (day.month == 3 and day.day >= 15) or (day.month == 4 and day.day <= 15):
        return "SPRING10"
    if day.month == 6 and day.day <= 24:
        return "SUMMER15"
    return None


def _is_sale(day: date) -> bool:
    black_friday = _black_friday(day.year)
    return (
        (day.month == 12 and day.day >= 26)
        or (day.month == 1 and day.day <= 15)
        or (day.month == 6 and day.day >= 25)
        or day.month == 7
        or black_friday - timedelta(days=3) <= day <= black_friday + timedelta(days=3)
    )


def _demand(day: date) -> float:
    demand = MONTH_DEMAND[day.month - 1] * WEEKDAY_DEMAND[day.weekday()]
    black_friday = _black_friday(day.year)
    if black_friday - timedelta(days=3) <= day <= black_friday + timedelta(days=3):
        demand *= 1.9
    if day.month == 12 and day.day == 25:
        demand *= 0.15
    elif day.month == 12 and day.day >= 26:
        demand *= 1.3
    return demand


def build_calendar() -> tuple[Day, ...]:
    """Every day of the history, from HISTORY_START to HISTORY_END."""
    days = []
    for index in range(HISTORY_DAYS):
        start = HISTORY_START + timedelta(days=index)
        noon = (start + timedelta(hours=12)).astimezone(LOCAL_ZONE)
        offset = noon.utcoffset()
        days.append(
            Day(
                index=index,
                date=start.date(),
                start_s=int(start.timestamp()),
                utc_offset_s=int(offset.total_seconds()) if offset is not None else 0,
                demand=_demand(start.date()),
                sale=_is_sale(start.date()),
                campaign=_campaign(start.date()),
            )
        )
    return tuple(days)


def iso_utc(seconds: int) -> str:
    """``2025-07-12T14:33:10Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


_DATES: dict[int, str] = {}
_CLOCK: list[str] = []


def iso_utc_ms(milliseconds: int) -> str:
    """``2025-07-12T14:33:10.123Z``: fixed width, so these strings sort by time."""
    # Millions of events: the dates (a few thousand) and the times of day (86,400) are
    # formatted once each and looked up afterwards.
    if not _CLOCK:
        _CLOCK.extend(f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}." for s in range(DAY))
    seconds, millis = divmod(milliseconds, 1000)
    days, second_of_day = divmod(seconds, DAY)
    day = _DATES.get(days)
    if day is None:
        day = _DATES[days] = time.strftime("%Y-%m-%d", time.gmtime(days * DAY))
    return f"{day}{_CLOCK[second_of_day]}{millis:03d}Z"


def iso_local(seconds: int, utc_offset_s: int) -> str:
    """UK local time with its offset, as a till prints it: ``2025-07-12T15:33:10+01:00``."""
    local = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds + utc_offset_s))
    return local + ("+01:00" if utc_offset_s == 3600 else "+00:00")


def iso_date(seconds: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))
