"""Timing rules of the weekly jobs: local time, ISO weeks, slots, quiet hours, holidays.

Everything here is a pure function of a moment and the settings; the tick (``core.weekly``)
applies it to each time zone in use. Time is the recipient's local time: the region's time zone,
unless their municipality has its own.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from storage import Tx


class ScheduleSettings(Protocol):
    """What the calendar reads of ``[schedule]`` (bot.config.ScheduleSettings)."""

    reminder_weekday: int
    reminder_hour: int
    survey_weekday: int
    survey_hour: int
    quiet_start: int
    quiet_end: int
    holidays: Any


Settings = Any  # bot.config.Settings: the kernel reads ``region.timezone`` of it

Job = Literal["reminders", "survey"]
JOBS: tuple[Job, ...] = ("reminders", "survey")


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(week: str) -> date:
    year, _, number = week.partition("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def shift_week(week: str, weeks: int) -> str:
    return iso_week(week_start(week) + timedelta(weeks=weeks))


def parse_week(text: str) -> str | None:
    """'2026-W47' / '2026-w47' -> '2026-W47'; anything else None."""
    cleaned = text.strip().upper()
    year, sep, number = cleaned.partition("-W")
    if not sep or not (year.isdigit() and number.isdigit()):
        return None
    try:
        return iso_week(date.fromisocalendar(int(year), int(number), 1))
    except ValueError:
        return None


def slot(job: Job, settings: ScheduleSettings) -> tuple[int, int]:
    """(ISO weekday, local hour) at which the job becomes due each week."""
    if job == "reminders":
        return settings.reminder_weekday, settings.reminder_hour
    return settings.survey_weekday, settings.survey_hour


def in_quiet_hours(hour: int, settings: ScheduleSettings) -> bool:
    start, end = settings.quiet_start, settings.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end  # across midnight, e.g. 21..8


def is_holiday(day: date, settings: ScheduleSettings) -> bool:
    return any(first <= day <= last for first, last in settings.holidays)


def due_week(job: Job, local: datetime, settings: ScheduleSettings) -> str | None:
    """The ISO week whose run of ``job`` is due at this local moment, or None.

    Due means: this week's slot (weekday and hour) has come, and it is neither quiet hours nor a
    holiday. A run missed at the slot (the bot was down, quiet hours, a holiday) is therefore made
    up at the first allowed moment later in the same week, never in the next one."""
    weekday, hour = slot(job, settings)
    if (local.isoweekday(), local.hour) < (weekday, hour):
        return None
    if in_quiet_hours(local.hour, settings) or is_holiday(local.date(), settings):
        return None
    return iso_week(local.date())


def zone(settings: Settings, timezone: str | None) -> ZoneInfo:
    return ZoneInfo(timezone or settings.region.timezone)


async def zones(tx: Tx, settings: Settings) -> dict[int | None, ZoneInfo]:
    """Municipality id -> its time zone; None (no known municipality) -> the region's."""
    found: dict[int | None, ZoneInfo] = {None: zone(settings, None)}
    for municipality_id, tz in (await tx.schedule.list_timezones()).items():
        found[municipality_id] = zone(settings, tz)
    return found


async def person_week(tx: Tx, settings: Settings, now: datetime, vk_id: int) -> str:
    """The person's current ISO week in their own local time."""
    place = await tx.schedule.get_place(vk_id)
    return iso_week(now.astimezone(zone(settings, place.timezone)).date())
