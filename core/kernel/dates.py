"""Dates and times as people write them, relative to today in a time zone.

«до 15 декабря», «20 декабря 2027», «15.12», «15.12.2026», «2026-12-15», «завтра»,
«послезавтра», «в пятницу», «в следующую среду», «через неделю», «через 3 дня»,
«завтра в 10:00», «25.11 14:30», «сегодня в 18:30», «в 9 утра», «в 7 вечера».

The whole message must be a date phrase (a few words around it — «срок», «до», «не позднее» —
change nothing): a sentence that merely contains a date is a question, not an answer. The words
are the catalog's (content/texts/dates.toml), so a methodist can add one without code.

Past dates: a day and month without a year that already passed this year mean next year
(``Phrase.rolled`` says so; a caller for whom that makes no sense refuses politely); an explicit
year in the past is returned as it is, for the caller to refuse.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from core.kernel.texts import Texts


@dataclass(frozen=True)
class Words:
    """The vocabulary of date phrases, from the text catalog."""

    months: tuple[str, ...]      # 12 stems, January first
    weekdays: tuple[str, ...]    # 7 stems, Monday first
    today: frozenset[str]
    tomorrow: frozenset[str]
    after_tomorrow: frozenset[str]
    after: frozenset[str]
    next: tuple[str, ...]
    day: frozenset[str]
    week: frozenset[str]
    month: frozenset[str]
    numbers: dict[str, int]
    hours: frozenset[str]
    evening: frozenset[str]
    year: frozenset[str]
    filler: frozenset[str]
    month_names: tuple[str, ...]  # genitive, for showing dates
    token: re.Pattern[str]        # a date phrase's tokens (ordinal endings from the catalog)


def _list(texts: "Texts", key: str) -> list[str]:
    return [w.strip().lower().replace("ё", "е") for w in texts.render(key).split(",") if w.strip()]


@functools.lru_cache(maxsize=8)
def words_of(texts: "Texts") -> Words:
    def group(kind: str) -> frozenset[str]:
        return frozenset(_list(texts, f"dates.words.{kind}"))

    numbers = {form: n for n, forms in enumerate(_list(texts, "dates.words.numbers"), start=1)
               for form in forms.split()}
    months = tuple(_list(texts, "dates.words.months"))
    weekdays = tuple(_list(texts, "dates.words.weekdays"))
    names = tuple(_list(texts, "dates.month_names"))
    if len(months) != 12 or len(weekdays) != 7 or len(names) != 12:
        raise ValueError("dates.toml: 12 months, 7 weekdays, 12 month names")
    return Words(months, weekdays, group("today"), group("tomorrow"), group("after_tomorrow"),
                 group("after"), tuple(_list(texts, "dates.words.next")), group("day"),
                 group("week"), group("month"), numbers, group("hours"), group("evening"),
                 group("year"), group("filler"), names,
                 _tokens(_list(texts, "dates.words.ordinal_endings")))


@dataclass(frozen=True)
class Phrase:
    day: date
    at: time | None = None
    day_given: bool = True   # False: only a time was written («14:30» is today)
    rolled: bool = False     # day and month without a year that had passed: next year


def _tokens(endings: list[str]) -> re.Pattern[str]:
    """ISO and numeric dates, times, numbers with an ordinal ending, words."""
    ordinal = "|".join(sorted((re.escape(e) for e in endings), key=len, reverse=True))
    return re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}(?:[./-]\d{2,4})?|\d{1,2}:\d{2}"
                      rf"|\d+(?:-?(?:{ordinal}))?|[^\W\d_]+")


_NUMERIC_DATE = re.compile(r"^(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2}|\d{4}))?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")


def _stem(word: str, stems: tuple[str, ...]) -> int | None:
    """Index of the stem the word starts with («декабря» -> 11); «май», «мая», «мае» only for
    the short stem «ма» (so «март» is March, not May)."""
    for index, stem in enumerate(stems):
        if len(stem) <= 2:
            if word in (stem + "й", stem + "я", stem + "е"):
                return index
        elif word.startswith(stem):
            return index
    return None


def _time(hour: int, minute: int) -> time | None:
    return time(hour, minute) if 0 <= hour <= 23 and 0 <= minute <= 59 else None


def _year(raw: str) -> int:
    return int(raw) + 2000 if len(raw) == 2 else int(raw)


def _number(token: str, words: Words) -> int | None:
    digits = re.match(r"^(\d+)", token)
    if digits:
        return int(digits[1])
    return words.numbers.get(token)


def parse(text: str, today: date, words: Words) -> Phrase | None:
    """The date (and time) the whole message names, or None if it is not a date phrase."""
    tokens = words.token.findall(text.lower().replace("ё", "е"))
    if not tokens:
        return None
    day: date | None = None
    at: time | None = None
    rolled = False
    want_next = False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in words.today or token in words.tomorrow or token in words.after_tomorrow:
            if day is not None:
                return None
            day = today + timedelta(days=0 if token in words.today else
                                    1 if token in words.tomorrow else 2)
        elif token in words.after:
            count = _number(following, words)
            unit = tokens[i + 2] if count is not None and i + 2 < len(tokens) else following
            count = count if count is not None else 1
            step = (1 if unit in words.day else 7 if unit in words.week
                    else 30 if unit in words.month else None)
            if step is None or day is not None or not 0 < count <= 366:
                return None
            if unit in words.month:
                month = today.month - 1 + count
                year, month = today.year + month // 12, month % 12 + 1
                try:
                    day = today.replace(year=year, month=month)
                except ValueError:  # 31 January + a month: the last day of February
                    day = date(year, month + 1, 1) - timedelta(days=1) if month < 12 \
                        else date(year, 12, 31)
            else:
                day = today + timedelta(days=count * step)
            i += 3 if following != unit else 2
            continue
        elif any(token.startswith(stem) for stem in words.next):
            want_next = True
        elif (weekday := _stem(token, words.weekdays)) is not None and len(token) > 3:
            if day is not None:
                return None
            ahead = (weekday - today.weekday()) % 7 or 7
            if want_next and today.weekday() < weekday and ahead < 7:
                ahead += 7  # «в следующую пятницу» on a Monday: the Friday of next week
            day = today + timedelta(days=ahead)
        elif (iso := _ISO.match(token)) is not None:
            if day is not None:
                return None
            try:
                day = date(int(iso[1]), int(iso[2]), int(iso[3]))
            except ValueError:
                return None
        elif (numeric := _NUMERIC_DATE.match(token)) is not None:
            if day is None and _valid_day_month(numeric):
                found = _dated(int(numeric[1]), int(numeric[2]), numeric[3], today)
                if found is None:
                    return None
                day, rolled = found
            elif numeric[3] is None and "." in token and at is None and _valid_time(token):
                at = _parsed_time(token)  # «25.11 14.30», «10.00»
            else:
                return None
        elif _TIME.match(token):
            if at is not None:
                return None
            at = _parsed_time(token)
            if at is None:
                return None
        elif token[0].isdigit():
            number = _number(token, words)
            month = _stem(following, words.months) if following else None
            if month is not None and day is None:
                year = None
                if i + 2 < len(tokens) and re.fullmatch(r"\d{4}", tokens[i + 2]):
                    year = tokens[i + 2]
                found = _dated(number or 0, month + 1, year, today)
                if found is None:
                    return None
                day, rolled = found
                i += 3 if year else 2
                continue
            if i > 0 and tokens[i - 1] in ("в", "во") and number is not None and at is None:
                hour = number
                if following in words.evening and 1 <= hour <= 11:
                    hour += 12
                at = _time(hour, 0)
                if at is None:
                    return None
                if following in words.hours or following in words.evening:
                    i += 1
            else:
                return None
        elif token in words.filler or token in words.year:
            pass
        else:
            return None
        i += 1
    if day is None and at is None:
        return None
    return Phrase(day or today, at, day_given=day is not None, rolled=rolled)


def _valid_day_month(match: re.Match[str]) -> bool:
    return 1 <= int(match[1]) <= 31 and 1 <= int(match[2]) <= 12


def _valid_time(token: str) -> bool:
    return _TIME.match(token) is not None and _parsed_time(token) is not None


def _parsed_time(token: str) -> time | None:
    match = _TIME.match(token)
    return _time(int(match[1]), int(match[2])) if match else None


def _dated(day: int, month: int, year: str | None, today: date) -> tuple[date, bool] | None:
    try:
        if year is not None:
            return date(_year(year), month, day), False
        value = date(today.year, month, day)
        if value < today:
            return date(today.year + 1, month, day), True
        return value, False
    except ValueError:
        return None


def moment(phrase: Phrase, tz: str) -> datetime:
    """The phrase as an aware datetime in the zone (a phrase without a time: its midnight)."""
    return datetime.combine(phrase.day, phrase.at or time(0, 0), ZoneInfo(tz))


def in_words(day: date, words: Words) -> str:
    """«15 декабря»."""
    return f"{day.day} {words.month_names[day.month - 1]}"


def examples(now: datetime, tz: str, words: Words) -> dict[str, str]:
    """Example dates for texts, computed from today so they are never in the past:
    ``date`` «14.12.2026» and ``words`` «14 декабря» two weeks ahead, ``moment`` «01.12 14:30»
    (tomorrow afternoon)."""
    today = now.astimezone(ZoneInfo(tz)).date()
    ahead = today + timedelta(days=14)
    tomorrow = today + timedelta(days=1)
    return {"date": ahead.strftime("%d.%m.%Y"), "words": in_words(ahead, words),
            "moment": tomorrow.strftime("%d.%m") + " 14:30",
            "moment_year": tomorrow.strftime("%d.%m.%Y") + " 14:30"}
