"""Survey summaries and the activation funnel: the figures, and them as a chart, XLSX and CSV.

The figures library of the admin feature (core/admin/service.py shows them). Pure functions over
rows from ``tx.summaries``; no messenger here. The difficulty options (ids and labels) come from
the survey definition (content/surveys/weekly.yaml, loaded and validated once at start by the
surveys feature, ``deps.services["surveys"]``); nothing here knows which difficulties exist.

Definitions (seeds 001/003/004):
- respondents: completed answers of the week in the territory;
- per difficulty: respondents who ticked it, and their share of the respondents;
- trend: that share against the pooled share of the 4 previous weeks;
- «10+ messages a week» (an active teacher): share of staff respondents (parents excluded) who
  answered the messages question with «10+», against the target of more than 25 %;
- confidence: the mean of the 1..5 answers.

Anonymity (settings.privacy.min_group, default 5): a week with fewer respondents is ``hidden``
(its figures are left out of charts and spreadsheets), the «previous weeks» comparison is not
given when those weeks pooled fewer, and a summary whose own week has fewer is not shown at all
(core/admin/service.py refuses it).
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from core.kernel.calendar import iso_week, parse_week, shift_week, week_start  # noqa: F401
from core.kernel.domain import TOTAL_STEPS as STEPS  # organisations.step STEPS + 1: activated
from core.kernel.untrusted import spreadsheet_row
from storage.summaries import AnswerRow, StepCount

TARGET = 0.25
TREND_WEEKS = 4
ACTIVE = "10+"
TREND_EPSILON = 0.02


# -- weeks -----------------------------------------------------------------------------------
# -- difficulty options from the survey definition -----------------------------------------
@dataclass(frozen=True)
class Option:
    id: str
    label: str
    exclusive: bool = False   # «no difficulties»: not a difficulty to address people by


class _SurveyOption(Protocol):
    id: str
    label: str
    exclusive: bool


class _Question(Protocol):
    @property
    def options(self) -> Sequence[_SurveyOption]: ...


class Survey(Protocol):
    """What the figures read of the survey definition (core/surveys/service.py ``Survey``)."""

    def question(self, question_id: str) -> _Question | None: ...


def load_options(survey: Survey | None) -> list[Option]:
    """The options of the survey's «difficulties» question; [] without a survey or that
    question."""
    question = survey.question("difficulties") if survey is not None else None
    if question is None:
        return []
    return [Option(o.id, o.label, o.exclusive) for o in question.options]


def options_with_data(options: Sequence[Option], seen_ids: Iterable[str]) -> list[Option]:
    """The defined options, plus any id found in answers but not defined (labelled by its id),
    so no answer is silently left out of a summary."""
    known = {o.id for o in options}
    extra = [Option(i, i) for i in sorted(set(seen_ids) - known)]
    return [*options, *extra]


# -- the survey summary ----------------------------------------------------------------------
@dataclass(frozen=True)
class WeekFigures:
    week: str
    respondents: int
    counts: dict[str, int]
    active: int          # staff who wrote 10+ messages
    active_base: int     # staff who answered the messages question
    confidence_sum: int
    confidence_n: int
    hidden: bool = False  # fewer respondents than the minimum group: no figures are shown

    @property
    def active_share(self) -> float | None:
        return self.active / self.active_base if self.active_base else None

    @property
    def confidence(self) -> float | None:
        return self.confidence_sum / self.confidence_n if self.confidence_n else None

    def share(self, option_id: str) -> float | None:
        return self.counts.get(option_id, 0) / self.respondents if self.respondents else None


@dataclass(frozen=True)
class DifficultyFigure:
    option: Option
    count: int
    share: float | None
    previous: float | None   # pooled share over the previous weeks

    @property
    def trend(self) -> str:
        if self.share is None or self.previous is None:
            return ""
        if self.share - self.previous > TREND_EPSILON:
            return "up"
        if self.previous - self.share > TREND_EPSILON:
            return "down"
        return "same"


@dataclass(frozen=True)
class Summary:
    week: str
    current: WeekFigures
    history: list[WeekFigures]          # oldest first, the current week last
    difficulties: list[DifficultyFigure]
    previous_respondents: int
    previous_active_share: float | None
    target: float = TARGET
    place: str = ""
    min_group: int = 1

    @property
    def too_few(self) -> bool:
        return self.current.respondents < self.min_group

    @property
    def weeks(self) -> list[str]:
        return [w.week for w in self.history]


def week_figures(week: str, rows: Iterable[AnswerRow], min_group: int = 1) -> WeekFigures:
    respondents = active = base = conf_sum = conf_n = 0
    counts: dict[str, int] = {}
    for row in rows:
        if row.week != week:
            continue
        n = row.count  # people who answered exactly this way
        respondents += n
        for option_id in set(row.difficulties):
            counts[option_id] = counts.get(option_id, 0) + n
        if row.role != "parent" and row.messages is not None:
            base += n
            active += n * (row.messages == ACTIVE)
        if row.confidence is not None:
            conf_sum += n * row.confidence
            conf_n += n
    return WeekFigures(week, respondents, counts, active, base, conf_sum, conf_n,
                       hidden=0 < respondents < min_group)


def summary_weeks(week: str) -> list[str]:
    return [shift_week(week, -n) for n in range(TREND_WEEKS, -1, -1)]


def summarise(week: str, rows: Sequence[AnswerRow], options: Sequence[Option],
              place: str = "", min_group: int = 1) -> Summary:
    history = [week_figures(w, rows, min_group) for w in summary_weeks(week)]
    current, previous = history[-1], history[:-1]
    prev_n = sum(w.respondents for w in previous)
    if prev_n < min_group:  # a comparison with fewer people would tell their answers
        previous = []
        prev_n = 0
    prev_base = sum(w.active_base for w in previous)
    prev_active = sum(w.active for w in previous)
    seen = {d for r in rows for d in r.difficulties}
    figures = []
    for option in options_with_data(options, seen):
        count = current.counts.get(option.id, 0)
        prev_count = sum(w.counts.get(option.id, 0) for w in previous)
        figures.append(DifficultyFigure(
            option, count, current.share(option.id),
            prev_count / prev_n if prev_n else None))
    return Summary(week, current, history, figures, prev_n,
                   prev_active / prev_base if prev_base else None, place=place,
                   min_group=min_group)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def one_decimal(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}".replace(".", ",")


# -- files -----------------------------------------------------------------------------------
class Labels:
    """Russian words for charts and spreadsheets: ``labels["title"]`` renders ``report.title``
    from the text catalog, so no user-facing word lives in Python."""

    def __init__(self, render: Any, week_name: Any = str, **values: Any) -> None:
        self._render = render
        self._values = values
        self.week_name = week_name  # '2026-W47' -> how people read it («16–22 ноября»)

    def __getitem__(self, key: str) -> str:
        return str(self._render(f"report.{key}", **self._values))


def _figure(**kwargs: Any) -> Any:
    # The object-oriented API (no pyplot): no global state, safe to run in a worker thread.
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _plain_text(draw: Callable[..., bytes]) -> Callable[..., bytes]:
    """Chart texts hold typed names (an organisation's): matplotlib must not read «$…$» in them
    as mathtext, a small language of its own."""
    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> bytes:
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
            return draw(*args, **kwargs)
    return wrapper


@_plain_text
def summary_chart(summary: Summary, labels: Labels) -> bytes:
    """Two panels: shares per difficulty (this week vs the previous 4 weeks) and the weekly
    share of staff at 10+ messages against the 25 % target."""
    fig = _figure(figsize=(12, 5.2))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    names = [d.option.label for d in summary.difficulties][::-1]
    now = [(d.share or 0) * 100 for d in summary.difficulties][::-1]
    before = [(d.previous or 0) * 100 for d in summary.difficulties][::-1]
    y = list(range(len(names)))
    height = 0.38
    left.barh([v + height / 2 for v in y], now, height, label=labels["this_week"], color="#2a7ab0")
    left.barh([v - height / 2 for v in y], before, height, label=labels["previous_weeks"],
              color="#a9c9e2")
    left.set_yticks(y, [n if len(n) <= 34 else n[:33] + "…" for n in names])
    left.set_xlabel(labels["share_axis"])
    left.set_title(labels["difficulties_title"])
    left.legend(loc="lower right")
    left.set_xlim(0, 100)

    weeks = [labels.week_name(w) for w in summary.weeks]
    shares = [(w.active_share * 100) if w.active_share is not None and not w.hidden
              else float("nan") for w in summary.history]
    right.plot(weeks, shares, marker="o", color="#2a7ab0", label=labels["active_line"])
    right.axhline(summary.target * 100, color="#c0392b", linestyle="--", label=labels["target_line"])
    right.set_ylim(0, 100)
    right.set_ylabel(labels["active_axis"])
    right.set_title(labels["active_title"])
    right.tick_params(axis="x", labelrotation=30)
    right.legend(loc="upper left")
    fig.suptitle(labels["title"])
    fig.tight_layout()
    return _png(fig)


def week_table(summary: Summary, labels: Labels) -> list[list[Any]]:
    """One row per week (oldest first): respondents, each difficulty's count, 10+ figures."""
    header = [labels["col_week"], labels["col_respondents"],
              *[d.option.label for d in summary.difficulties],
              labels["col_active"], labels["col_active_base"], labels["col_active_share"],
              labels["col_confidence"]]
    rows: list[list[Any]] = [header]
    for w in summary.history:
        if w.hidden:
            rows.append([labels.week_name(w.week), labels["too_few"]])
            continue
        rows.append([
            labels.week_name(w.week), w.respondents, *[w.counts.get(d.option.id, 0) for d in summary.difficulties],
            w.active, w.active_base,
            round(w.active_share, 4) if w.active_share is not None else None,
            round(w.confidence, 2) if w.confidence is not None else None,
        ])
    return rows


def summary_csv(summary: Summary, labels: Labels) -> bytes:
    """The week table; ';' and a BOM, so Excel with Russian settings opens it as is."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in week_table(summary, labels):
        writer.writerow(spreadsheet_row(
            "" if v is None else (str(v).replace(".", ",") if isinstance(v, float) else v)
            for v in row))
    return buffer.getvalue().encode("utf-8-sig")


def summary_xlsx(summary: Summary, labels: Labels) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = labels["sheet_summary"]
    current = summary.current
    sheet.append(spreadsheet_row([labels["col_indicator"], labels["col_value"]]))
    for key, value in (
        ("row_place", summary.place),
        ("row_week", labels.week_name(summary.week)),
        ("row_respondents", current.respondents),
        ("row_active", current.active),
        ("row_active_base", current.active_base),
        ("row_active_share", round(current.active_share, 4)
         if current.active_share is not None else None),
        ("row_target", summary.target),
        ("row_confidence", round(current.confidence, 2) if current.confidence is not None else None),
    ):
        sheet.append(spreadsheet_row([labels[key], value]))  # the place is a typed name

    difficulties = book.create_sheet(labels["sheet_difficulties"])
    difficulties.append(spreadsheet_row([labels["col_difficulty"], labels["col_id"],
                                         labels["col_count"], labels["col_share"],
                                         labels["col_previous_share"]]))
    for d in summary.difficulties:
        difficulties.append(spreadsheet_row([
            d.option.label, d.option.id, d.count,
            round(d.share, 4) if d.share is not None else None,
            round(d.previous, 4) if d.previous is not None else None]))

    weeks = book.create_sheet(labels["sheet_weeks"])
    for row in week_table(summary, labels):
        weeks.append(spreadsheet_row(row))
    for ws in (sheet, difficulties, weeks):
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.column_dimensions["A"].width = 38
    for ws, columns in ((sheet, ("B",)), (difficulties, ("D", "E")), (weeks, ())):
        for column in columns:
            for cell in ws[column][1:]:
                if isinstance(cell.value, float) and cell.value <= 1:
                    cell.number_format = "0%"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# -- the activation funnel -------------------------------------------------------------------
@dataclass(frozen=True)
class Funnel:
    steps: list[StepCount]   # 1..9, zero-filled

    @property
    def total(self) -> int:
        return sum(s.organisations for s in self.steps)

    @property
    def activated(self) -> int:
        return next((s.organisations for s in self.steps if s.step == STEPS + 1), 0)

    @property
    def stuck(self) -> int:
        return sum(s.stuck for s in self.steps)


def funnel_of(counts: Iterable[StepCount]) -> Funnel:
    by_step = {c.step: c for c in counts}
    return Funnel([by_step.get(n, StepCount(n, 0, 0)) for n in range(1, STEPS + 2)])


@_plain_text
def funnel_chart(funnel: Funnel, step_names: Sequence[str], labels: Labels) -> bytes:
    fig = _figure(figsize=(9, 5))
    ax = fig.subplots()
    names = list(step_names)[::-1]
    values = [s.organisations for s in funnel.steps][::-1]
    stuck = [s.stuck for s in funnel.steps][::-1]
    y = list(range(len(names)))
    ax.barh(y, values, color="#2a7ab0", label=labels["funnel_orgs"])
    ax.barh(y, stuck, color="#e67e22", label=labels["funnel_stuck"])
    ax.set_yticks(y, names)
    ax.set_xlabel(labels["funnel_axis"])
    ax.set_title(labels["funnel_title"])
    ax.legend(loc="lower right")
    for pos, value in zip(y, values):
        ax.text(value, pos, f" {value}", va="center")
    fig.tight_layout()
    return _png(fig)


class SurveyOptions:
    """The difficulty options of the survey people are asked (the definition loaded at start),
    plus ids found in stored answers that the definition does not list."""

    def __init__(self, survey: Survey | None, db: Any) -> None:
        self.db = db
        self._defined = load_options(survey)

    def defined(self) -> list[Option]:
        return list(self._defined)

    async def list_options(self, scope: int | None) -> list[Option]:
        async with self.db.read() as tx:
            seen = await tx.summaries.list_difficulty_ids(scope)
        return options_with_data(self.defined(), seen)
