"""How values are shown to people: phones, time zones, moments and dates in Russian words.

Words (month names, zone adjectives, the phrases) are catalog texts (content/texts/display.toml);
here only the arithmetic. ``phone`` is also a filter of the texts environment (``{{ p | phone }}``),
so a template shows a stored number the one readable way.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

_MOBILE = re.compile(r"^\+7(\d{3})(\d{3})(\d{2})(\d{2})$")


def format_phone(value: Any) -> str:
    """+79131234567 -> +7 913 123-45-67; anything else is shown as it is."""
    text = "" if value is None else str(value)
    match = _MOBILE.match(text.strip())
    if not match:
        return text
    return "+7 {} {}-{}-{}".format(*match.groups())


def utc_offset(tz: str, at: datetime) -> str:
    """'+7', '+5:30', '-3', '' for UTC itself."""
    offset = at.astimezone(ZoneInfo(tz)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    if minutes == 0:
        return ""
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_phrase(texts: Any, tz: str, at: datetime) -> str:
    """«по новосибирскому времени (UTC+7)»; a zone without an adjective in the table is
    «по времени UTC+N»."""
    key = f"display.zones.{tz}"
    offset = utc_offset(tz, at)
    if texts.has(key):
        return texts.render("display.zone", adjective=texts.render(key), offset=offset)
    return texts.render("display.zone_offset", offset=offset)


def _month(texts: Any, month: int) -> str:
    return texts.render("display.months").split()[month - 1]


def date_words(texts: Any, day: date, today: date | None = None) -> str:
    """«25 ноября»; the year is added when it is not this year (or today is unknown)."""
    year = day.year if today is None or today.year != day.year else None
    return texts.render("display.date", day=day.day, month=_month(texts, day.month), year=year)


def moment_words(texts: Any, stamp: int, tz: str, now: datetime) -> str:
    """«25 ноября в 10:00» in the zone ``tz`` (the year only when it is not this year)."""
    zone = ZoneInfo(tz)
    local = datetime.fromtimestamp(stamp, timezone.utc).astimezone(zone)
    return texts.render("display.moment", date=date_words(texts, local.date(),
                                                         now.astimezone(zone).date()),
                        time=local.strftime("%H:%M"))


def span_words(texts: Any, first: date, last: date, today: date | None = None) -> str:
    """«16–22 ноября», «30 ноября – 6 декабря», «29 декабря 2025 – 4 января 2026»."""
    this_year = today.year if today is not None else None
    years = first.year != last.year or (this_year is not None and last.year != this_year) \
        or this_year is None
    return texts.render(
        "display.span", first_day=first.day, last_day=last.day,
        first_month=_month(texts, first.month), last_month=_month(texts, last.month),
        same_month=(first.year, first.month) == (last.year, last.month),
        first_year=first.year if years and first.year != last.year else None,
        last_year=last.year if years else None)


def local_date(tz: str, stamp: int | None) -> str:
    """A moment as «25.11.2026» in the zone ``tz``; '' for none."""
    if not stamp:
        return ""
    return datetime.fromtimestamp(stamp, ZoneInfo(tz)).strftime("%d.%m.%Y")


def local_time(tz: str, stamp: int | None) -> str:
    """A moment as «25.11.2026 10:00» in the zone ``tz``; '' for none."""
    if not stamp:
        return ""
    return datetime.fromtimestamp(stamp, ZoneInfo(tz)).strftime("%d.%m.%Y %H:%M")
