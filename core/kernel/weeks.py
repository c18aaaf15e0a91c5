"""Weeks as people name and read them.

A week is stored and passed in buttons as its ISO name ('2026-W47'); people see it as dates
(«16–22 ноября») and name it the usual ways: «эта / прошлая / позапрошлая неделя», «2 недели
назад», «неделя 16.11», «16.11.2026», «с 16 по 22 ноября», «16–22 ноября», «30 ноября – 6
декабря», «16 ноября» (the week holding that day), or the ISO name. The words come from the text
catalog (``weeks.*`` in content/texts/display.toml), so a methodist can add a spelling.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from core.kernel.display import span_words
from core.kernel.calendar import iso_week, parse_week, week_start


def week_label(texts: Any, week: str, today: date | None = None) -> str:
    """'2026-W47' -> «16–22 ноября» (the year only when it is not this year)."""
    monday = week_start(week)
    return span_words(texts, monday, monday + timedelta(days=6), today)


def _alternatives(texts: Any, key: str) -> str:
    words = sorted({w.strip() for w in texts.render(key).split("|") if w.strip()},
                   key=len, reverse=True)
    return "|".join(re.escape(w) for w in words)


def _month_number(texts: Any, word: str) -> int | None:
    """«ноября», «ноябрь», «нояб» -> 11: a month is known by the start of its name."""
    for number, name in enumerate(texts.render("display.months").split(), start=1):
        stem = name[:3] if len(name) > 3 else name[:2]
        if word.startswith(stem):
            return number
    return None


def _normalise(text: str) -> str:
    text = text.lower().replace("ё", "е")
    text = re.sub(r"[–—−]", "-", text)
    return " ".join(text.replace(",", " ").split())


class WeekWords:
    """The patterns, built once from the catalog."""

    def __init__(self, texts: Any) -> None:
        self.texts = texts
        week = f"(?:{_alternatives(texts, 'weeks.week')})"
        lead = (rf"(?:(?:{_alternatives(texts, 'weeks.prepositions')})\s+)?(?:{week}\s+)?"
                rf"(?:(?:{_alternatives(texts, 'weeks.from')})\s+)?")
        until = rf"(?:\s*-\s*|\s+(?:{_alternatives(texts, 'weeks.to')})\s+)"
        self.relative = {
            0: _alternatives(texts, "weeks.this"),
            -1: _alternatives(texts, "weeks.last"),
            -2: _alternatives(texts, "weeks.before_last"),
        }
        rel = "|".join(f"(?P<r{-n}>{words})" for n, words in self.relative.items())
        self.patterns = [
            re.compile(r"(?<!\w)(?P<iy>\d{4})-?w(?P<iw>\d{1,2})(?!\w)"),
            re.compile(rf"(?<!\w)(?:(?:{_alternatives(texts, 'weeks.prepositions')})\s+)?"
                       rf"(?:{rel})\s+{week}(?!\w)"),
            re.compile(rf"(?<!\w)(?:(?P<n>\d{{1,2}})\s+)?{week}\s+"
                       rf"(?:{_alternatives(texts, 'weeks.ago')})(?!\w)"),
            re.compile(rf"(?<!\w){lead}(?P<d>\d{{1,2}})\.(?P<m>\d{{1,2}})(?:\.(?P<y>\d{{2,4}}))?"
                       rf"(?:{until}\d{{1,2}}\.\d{{1,2}}(?:\.\d{{2,4}})?)?(?![\w.])"),
            re.compile(rf"(?<!\w){lead}(?P<d>\d{{1,2}})(?:\s+(?P<m1>[а-я]+))?{until}"
                       rf"(?P<d2>\d{{1,2}})\s+(?P<m>[а-я]+)(?:\s+(?P<y>\d{{4}}))?(?!\w)"),
            re.compile(rf"(?<!\w){lead}(?P<d>\d{{1,2}})\s+(?P<m>[а-я]+)"
                       rf"(?:\s+(?P<y>\d{{4}}))?(?!\w)"),
        ]

    def find(self, text: str, today: date) -> tuple[str, str] | None:
        """(the ISO week named in ``text``, the text without it), or None if none is named."""
        typed = _normalise(text)
        for pattern in self.patterns:
            for match in pattern.finditer(typed):
                week = self._week(match, today)
                if week is not None:
                    rest = (typed[:match.start()] + " " + typed[match.end():]).split()
                    return week, " ".join(rest)
        return None

    def _week(self, match: re.Match[str], today: date) -> str | None:
        groups = match.groupdict()
        if groups.get("iy"):
            return parse_week(f"{groups['iy']}-W{groups['iw']}")
        for back in (0, 1, 2):
            if groups.get(f"r{back}"):
                return iso_week(today - timedelta(weeks=back))
        if "n" in groups and groups.get("d") is None:
            return iso_week(today - timedelta(weeks=int(groups["n"] or 1)))
        month_text = groups.get("m") or ""
        month = int(month_text) if month_text.isdigit() else _month_number(self.texts, month_text)
        if month is None:
            return None
        day = int(groups["d"])
        if groups.get("m1"):  # «30 ноября – 6 декабря»: the week of the first day
            month = _month_number(self.texts, groups["m1"])
            if month is None:
                return None
        elif groups.get("d2") and day > int(groups["d2"]):  # «с 30 по 6 декабря»
            month = month - 1 or 12
        year_text = groups.get("y")
        try:
            if year_text:
                year = int(year_text) + (2000 if len(year_text) == 2 else 0)
                last_month = int(month_text) if month_text.isdigit() \
                    else _month_number(self.texts, month_text) or month
                if month > last_month:  # «29 декабря – 4 января 2026»: the year of the last day
                    year -= 1
                found = date(year, month, day)
            else:
                # a day without a year is the latest one not far ahead: summaries look back
                found = date(today.year, month, day)
                if found > today + timedelta(days=7):
                    found = date(today.year - 1, month, day)
        except ValueError:
            return None
        return iso_week(found)
