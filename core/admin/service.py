"""Typed commands of coordinators and bot admins, and the help that lists them.

| command (words in content/texts/admin.toml, ``admin.cmd.*``) | who          |
|---------------------------------------------------------|--------------|
| команды /help                                           | anyone       |
| не присылать рассылки /unsubscribe, присылать рассылки /subscribe | anyone |
| рассылка /broadcast, рассылки /broadcasts, отменить рассылку N /cancel N | coordinator |
| сводка [неделя] [муниципалитет | орг N] [график|xlsx|csv] /summary   | coordinator |
| (weeks named as people do: core/kernel/weeks.py)                |              |
| воронка [муниципалитет] [график] /funnel (also the panel's «Воронка») | coordinator |
| журнал /audit                                           | coordinator  |
| назначить координатора <vk_id> [муниципалитет] /grant, снять координатора <vk_id> /revoke | bot admin |

The help also lists other features' commands (``listed_only``: their words are ``cmd.*`` keys
checked by their own handlers): главное меню; координатору, заявки, выгрузка, застряли
(handlers/activation.py); вопросы (handlers/tickets.py); частые вопросы, обновить справку
(handlers/faq.py). tests/test_summaries.py types every listed command.

Who may use a command is declared here (``need``) and enforced by the handlers' rules; what a
coordinator sees is limited to their territory (``territory(conv.access)``, NotAllowed for
anyone else) in every
repository call. Every admin action is written to the audit log.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from core.admin.payloads import Format, FunnelChart, SummaryFile, SummaryPlaces, SummaryView
from core.admin import figures
from core.kernel.access import Access, NotAllowed, for_bot_admins, for_coordinators, territory
from core.kernel.clock import unix
from core.kernel.conversation import Conversation
from core.kernel.display import moment_words, zone_phrase
from core.kernel.commands import commands_for
from core.kernel.normalise import command_text as normalise
from core.kernel.normalise import command_words
from core.kernel.people import people, profile_link, who
from core.kernel.platform import PlatformError
from core.kernel.privacy import mask_contacts
from core.kernel.ui import Button, Keyboard, Reply
from core.kernel.untrusted import relayed
from core.kernel.weeks import WeekWords, week_label
from storage.broadcasts import Audience
from storage.models import Municipality

if TYPE_CHECKING:
    from core.kernel.deps import Deps

AUDIT_LINES = 20
DESCRIBE_AUDIENCE = "broadcasts.describe_audience"  # a continuation of core/broadcasts

PLACES_PAGE = 8


def _say(conv: Conversation, key: str, keyboard: Keyboard | None = None,
         attachments: tuple[str, ...] = (), **values: Any) -> Reply:
    return Reply(conv.deps.texts.render(key, **values), keyboard, attachments, template=key)


def refuse(conv: Conversation) -> list[Reply]:
    """Polite, and says nothing about what the command would have shown."""
    return [_say(conv, "admin.refused")]


def help_screen(conv: Conversation) -> list[Reply]:
    days = conv.deps.settings.schedule.stuck_after_days
    lines = [conv.deps.texts.render(f"admin.help_{c.name}", days=days)
             for c in commands_for(conv)]
    return [_say(conv, "admin.help", lines=lines, coordinator=conv.access.coordinator)]


async def _audit(conv: Conversation, action: str, municipality_id: int | None,
                 **details: Any) -> None:
    async with conv.deps.db.transaction() as tx:
        await tx.audit.insert_entry(conv.person.vk_id, action,
                                    {"municipality_id": municipality_id, **details},
                                    unix(conv.deps.clock))


# -- places ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    name: str
    municipality_id: int | None   # the filter (None = the whole region)
    org_id: int | None = None


def _number(text: str) -> int | None:
    """A typed id: ASCII digits only («²».isdigit() is true) and within SQLite's integers."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 15 else None


async def _municipality_named(conv: Conversation, text: str,
                              scope: int | None) -> Municipality | None:
    wanted = normalise(text)
    async with conv.deps.db.read() as tx:
        municipalities = await tx.summaries.list_municipalities(scope)
    if _number(wanted) is not None:
        return next((m for m in municipalities if m.id == _number(wanted)), None)
    exact = [m for m in municipalities if normalise(m.name) == wanted]
    if exact:
        return exact[0]
    found = [m for m in municipalities if wanted and wanted in normalise(m.name)]
    return found[0] if len(found) == 1 else None


async def resolve_place(conv: Conversation, text: str) -> Place | None:
    """«» (the coordinator's whole territory), a municipality (name or id) or «орг N»; None if
    it is unknown or outside the coordinator's territory (the same answer for both)."""
    scope = territory(conv.access).filter
    words = text.split()
    async with conv.deps.db.read() as tx:
        if words and words[0] in command_words(conv.deps.texts.render("admin.org_words")):
            number = words[1].lstrip("№#") if len(words) == 2 else ""
            org = await tx.summaries.get_organisation(_number(number), scope) \
                if _number(number) is not None else None
            return None if org is None else Place(org.name, org.municipality_id, org.id)
        if not text:
            if scope is None:
                return Place(conv.deps.settings.region.name, None)
            own = await tx.summaries.get_municipality(scope, scope)
            return Place(own.name if own else "", scope)
    municipality = await _municipality_named(conv, text, scope)
    return None if municipality is None else Place(municipality.name, municipality.id)


async def _place_of(conv: Conversation, municipality_id: int | None,
                    org_id: int | None) -> Place | None:
    """The place a button refers to, checked against the territory again."""
    scope = territory(conv.access).filter
    async with conv.deps.db.read() as tx:
        if org_id is not None:
            org = await tx.summaries.get_organisation(org_id, scope)
            return None if org is None else Place(org.name, org.municipality_id, org.id)
        if municipality_id is None:
            if scope is not None:
                return None
            return Place(conv.deps.settings.region.name, None)
        municipality = await tx.summaries.get_municipality(municipality_id, scope)
    return None if municipality is None else Place(municipality.name, municipality.id)


# -- survey summary --------------------------------------------------------------------------
def local_today(conv: Conversation) -> date:
    return conv.deps.clock.now().astimezone(ZoneInfo(conv.deps.settings.region.timezone)).date()


def _split_args(conv: Conversation, args: str) -> tuple[str | None, Format | None, str]:
    """The week (named any usual way: «прошлая неделя», «с 16 по 22 ноября», …), the file
    format and what is left (the place)."""
    week: str | None = None
    found = WeekWords(conv.deps.texts).find(args, local_today(conv))
    if found is not None:
        week, args = found
    fmt: Format | None = None
    rest = []
    formats: dict[str, Format] = {}
    for name in ("png", "xlsx", "csv"):
        for word in command_words(conv.deps.texts.render(f"admin.fmt_{name}")):
            formats[word] = name  # type: ignore[assignment]
    for token in args.split():
        if fmt is None and normalise(token) in formats:
            fmt = formats[normalise(token)]
        else:
            rest.append(token)
    return week, fmt, " ".join(rest)


def shown_week(conv: Conversation, week: str) -> str:
    """'2026-W47' as people read it: «16–22 ноября»."""
    return week_label(conv.deps.texts, week, local_today(conv))


async def load_summary(conv: Conversation, place: Place, week: str | None) -> figures.Summary | None:
    current = figures.iso_week(conv.deps.clock.now().date())
    async with conv.deps.db.read() as tx:
        if week is None:
            week = await tx.summaries.get_latest_week(place.municipality_id, place.org_id, current)
        if week is None:
            return None
        rows = await tx.summaries.list_answers(figures.summary_weeks(week),
                                                place.municipality_id, place.org_id)
    options = conv.deps.services["survey_options"].defined()
    return figures.summarise(week, rows, options, place.name,
                             conv.deps.settings.privacy.min_group)


def _level(share: float | None) -> str:
    if share is None:
        return "none"
    if share > figures.TARGET:
        return "goal"
    if share > 0.10:
        return "middle"
    return "low"


def summary_text(conv: Conversation, summary: figures.Summary) -> str:
    current = summary.current
    arrows = {"up": " ↑", "down": " ↓"}
    items = [{"label": d.option.label, "count": d.count, "share": figures.pct(d.share),
              "previous": figures.pct(d.previous), "arrow": arrows.get(d.trend, "")}
             for d in sorted(summary.difficulties,
                             key=lambda d: (d.option.exclusive, -d.count, d.option.label))]
    return conv.deps.texts.render(
        "admin.summary", place=relayed(summary.place, 300), week=shown_week(conv, summary.week),
        respondents=current.respondents, items=items,
        previous_respondents=summary.previous_respondents,
        active=current.active, active_base=current.active_base,
        active_share=figures.pct(current.active_share),
        previous_active_share=figures.pct(summary.previous_active_share),
        target=figures.pct(summary.target),
        level=conv.deps.texts.render(f"admin.level_{_level(current.active_share)}"),
        confidence=figures.one_decimal(current.confidence))


def _summary_keyboard(conv: Conversation, week: str, place: Place,
                      files: bool = True) -> Keyboard:
    """Files of this summary, the week before and after, and (for a regional coordinator)
    another territory. At most 7 buttons in 3 rows: inside VK's inline limits."""
    texts = conv.deps.texts
    rows: list[list[Button]] = []
    if files:
        rows.append([Button(texts.label(f"btn.sum_{f}"),
                            SummaryFile(w=week, m=place.municipality_id, o=place.org_id,
                                        f=f).dump())
                     for f in ("png", "xlsx", "csv")])
    current = figures.iso_week(local_today(conv))
    nav = [Button(texts.label("btn.sum_prev", week=shown_week(conv, figures.shift_week(week, -1))),
                  SummaryView(w=figures.shift_week(week, -1), m=place.municipality_id,
                              o=place.org_id).dump())]
    if week < current:
        later = figures.shift_week(week, 1)
        nav.append(Button(texts.label("btn.sum_next", week=shown_week(conv, later)),
                          SummaryView(w=later, m=place.municipality_id, o=place.org_id).dump()))
    rows.append(nav)
    if conv.access.regional:
        rows.append([Button(texts.label("btn.sum_places"), SummaryPlaces(w=week).dump())])
    return Keyboard.of(*rows, inline=True)


@for_coordinators
async def summary(conv: Conversation, args: str) -> list[Reply]:
    week, fmt, rest = _split_args(conv, args)
    place = await resolve_place(conv, rest)
    if place is None:
        return [_say(conv, "admin.place_unknown")]
    return await _show_summary(conv, place, week, fmt)


@for_coordinators
async def summary_view(conv: Conversation, payload: SummaryView) -> list[Reply]:
    place = await _place_of(conv, payload.m, payload.o) \
        if payload.m is not None or payload.o is not None else await resolve_place(conv, "")
    if place is None:
        return [_say(conv, "admin.place_unknown")]
    return await _show_summary(conv, place, payload.w, None)


async def _show_summary(conv: Conversation, place: Place, week: str | None,
                        fmt: Format | None) -> list[Reply]:
    found = await load_summary(conv, place, week)
    await _audit(conv, "summary_view", place.municipality_id, org=place.org_id,
                 week=found.week if found else week, format=fmt or "text")
    if found is None or found.current.respondents == 0:  # nothing to show for that week
        keyboard = _summary_keyboard(conv, week, place, files=False) if week else None
        return [_say(conv, "admin.no_answers", keyboard, place=place.name,
                     week=shown_week(conv, week) if week else "")]
    if found.too_few:
        return [_too_few(conv, found, _summary_keyboard(conv, found.week, place, files=False))]
    if fmt is not None:
        return [await _summary_file(conv, found, fmt)]
    return [Reply(summary_text(conv, found), _summary_keyboard(conv, found.week, place),
                  template="admin.summary"), *await _free_texts(conv, found, place)]


def _too_few(conv: Conversation, summary: figures.Summary,
             keyboard: Keyboard | None = None) -> Reply:
    return _say(conv, "admin.too_few", keyboard, place=summary.place,
                week=shown_week(conv, summary.week), min_group=summary.min_group)


FREE_TEXTS_SHOWN = 15
FREE_TEXT_MAX = 300


async def _free_texts(conv: Conversation, summary: figures.Summary, place: Place) -> list[Reply]:
    """«Другое» and comments of the week: only to a regional coordinator, only when the week
    has at least the minimum group, without names or organisations, contact details masked,
    in alphabetical order (so neither the order of answering nor the source shows)."""
    if not territory(conv.access).region or summary.too_few:
        return []
    async with conv.deps.db.read() as tx:
        texts = await tx.summaries.list_free_texts(summary.week, place.municipality_id,
                                                    place.org_id)
    if not texts:
        return []
    cleaned = sorted({_short(mask_contacts(" ".join(t.split()))) for t in texts})
    return [_say(conv, "admin.free_texts", week=shown_week(conv, summary.week),
                 texts=cleaned[:FREE_TEXTS_SHOWN], total=len(cleaned),
                 more=len(cleaned) > FREE_TEXTS_SHOWN)]


def _short(text: str) -> str:
    return text if len(text) <= FREE_TEXT_MAX else text[:FREE_TEXT_MAX - 1] + "…"


@for_coordinators
async def summary_places(conv: Conversation, payload: SummaryPlaces) -> list[Reply]:
    """Municipalities of the coordinator's territory as buttons, PLACES_PAGE a page."""
    texts = conv.deps.texts
    if not conv.access.regional:
        return await summary_view(conv, SummaryView(w=payload.w))
    async with conv.deps.db.read() as tx:
        municipalities = await tx.summaries.list_municipalities(None)
    pages = max(1, -(-len(municipalities) // PLACES_PAGE))
    page = min(max(payload.p, 0), pages - 1)
    shown = municipalities[page * PLACES_PAGE:(page + 1) * PLACES_PAGE]
    buttons = [Button(m.name[:40], SummaryView(w=payload.w, m=m.id).dump()) for m in shown]
    rows: list[list[Button]] = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    last = [Button(texts.label("btn.sum_region"), SummaryView(w=payload.w).dump(), "primary")]
    if pages > 1:
        last.append(Button(texts.label("btn.sum_more"),
                           SummaryPlaces(w=payload.w, p=(page + 1) % pages).dump()))
    rows.append(last)
    return [_say(conv, "admin.summary_places", Keyboard.of(*rows, inline=True),
                 page=page + 1, pages=pages)]


@for_coordinators
async def summary_file(conv: Conversation, payload: SummaryFile) -> list[Reply]:
    place = await _place_of(conv, payload.m, payload.o)
    if place is None:
        return [_say(conv, "admin.place_unknown")]
    found = await load_summary(conv, place, payload.w)
    if found is None:
        return [_say(conv, "admin.no_answers", place=place.name,
                     week=shown_week(conv, payload.w))]
    if found.too_few:
        return [_too_few(conv, found)]
    await _audit(conv, "summary_export", place.municipality_id, org=place.org_id,
                 week=payload.w, format=payload.f)
    return [await _summary_file(conv, found, payload.f)]


def build_file(conv: Conversation, summary: figures.Summary, fmt: Format) -> bytes:
    lab = figures.Labels(conv.deps.texts.render, week_name=lambda w: shown_week(conv, w),
                         place=summary.place, week=shown_week(conv, summary.week),
                         min_group=summary.min_group)
    if fmt == "png":
        return figures.summary_chart(summary, lab)
    if fmt == "xlsx":
        return figures.summary_xlsx(summary, lab)
    return figures.summary_csv(summary, lab)


def file_name(summary: figures.Summary, fmt: Format) -> str:
    """Named by the week's Monday, e.g. svodka-2026-11-16.xlsx."""
    return f"svodka-{figures.week_start(summary.week).isoformat()}.{fmt}"


async def _summary_file(conv: Conversation, summary: figures.Summary, fmt: Format) -> Reply:
    data = await asyncio.to_thread(build_file, conv, summary, fmt)
    platform = conv.deps.services["platform"]
    try:
        if fmt == "png":
            attachment = await platform.upload_photo(conv.person.vk_id, file_name(summary, fmt), data)
        else:
            attachment = await platform.upload_document(conv.person.vk_id,
                                                        file_name(summary, fmt), data)
    except PlatformError:
        return _say(conv, "admin.upload_failed")
    return _say(conv, f"admin.file_{fmt}", attachments=(attachment,), place=summary.place,
                week=shown_week(conv, summary.week))


# -- funnel ----------------------------------------------------------------------------------
async def _funnel(conv: Conversation, place: Place) -> figures.Funnel:
    stuck_before = unix(conv.deps.clock) - int(timedelta(
        days=conv.deps.settings.schedule.stuck_after_days).total_seconds())
    async with conv.deps.db.read() as tx:
        counts = await tx.summaries.list_step_counts(place.municipality_id, stuck_before)
    return figures.funnel_of(counts)


def _step_names(conv: Conversation) -> list[str]:
    return [conv.deps.texts.render(f"admin.step_{n}") for n in range(1, figures.STEPS + 2)]


async def _by_municipality(conv: Conversation) -> list[dict[str, Any]]:
    """Organisations per step in each municipality of the coordinator's territory."""
    async with conv.deps.db.read() as tx:
        rows = await tx.summaries.list_municipality_steps(territory(conv.access).filter)
    places: dict[int, dict[str, Any]] = {}
    for r in rows:
        place = places.setdefault(r.municipality_id, {"name": r.municipality, "total": 0,
                                                      "steps": []})
        place["total"] += r.organisations
        place["steps"].append({"step": r.step, "count": r.organisations,
                               "activated": r.step > figures.STEPS})
    return list(places.values())


@for_coordinators
async def funnel(conv: Conversation, args: str) -> list[Reply]:
    _, fmt, rest = _split_args(conv, args)
    place = await resolve_place(conv, rest)
    if place is None or place.org_id is not None:
        return [_say(conv, "admin.place_unknown")]
    await _audit(conv, "funnel_view", place.municipality_id, format=fmt or "text")
    if fmt == "png":
        return [await _funnel_chart(conv, place)]
    found = await _funnel(conv, place)
    names = _step_names(conv)
    steps = [{"name": names[s.step - 1], "step": s.step, "count": s.organisations,
              "stuck": s.stuck} for s in found.steps]
    # the whole region: also each municipality, compactly
    municipalities = await _by_municipality(conv) if place.municipality_id is None else []
    keyboard = Keyboard.of([Button(conv.deps.texts.label("btn.sum_funnel_png"),
                                   FunnelChart(m=place.municipality_id).dump())], inline=True)
    return [_say(conv, "admin.funnel", keyboard, place=place.name, steps=steps,
                 total=found.total, activated=found.activated, stuck=found.stuck,
                 municipalities=municipalities,
                 days=conv.deps.settings.schedule.stuck_after_days)]


@for_coordinators
async def funnel_chart(conv: Conversation, payload: FunnelChart) -> list[Reply]:
    place = await _place_of(conv, payload.m, None)
    if place is None:
        return [_say(conv, "admin.place_unknown")]
    await _audit(conv, "funnel_export", place.municipality_id, format="png")
    return [await _funnel_chart(conv, place)]


async def _funnel_chart(conv: Conversation, place: Place) -> Reply:
    found = await _funnel(conv, place)
    names = [f"{n}. {name}" if n <= figures.STEPS else name
             for n, name in enumerate(_step_names(conv), start=1)]
    lab = figures.Labels(conv.deps.texts.render, place=place.name)
    data = await asyncio.to_thread(figures.funnel_chart, found, names, lab)
    try:
        attachment = await conv.deps.services["platform"].upload_photo(
            conv.person.vk_id, "voronka.png", data)
    except PlatformError:
        return _say(conv, "admin.upload_failed")
    return _say(conv, "admin.file_funnel", attachments=(attachment,), place=place.name)


# -- coordinator grants ----------------------------------------------------------------------
_VK_ID = re.compile(r"^(?:https?://)?(?:vk\.com/)?(?:id)?(\d{1,12})$")


def _vk_id(token: str) -> int | None:
    match = _VK_ID.match(token.strip())
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None


def _bot_admin(conv: Conversation) -> None:
    if not conv.access.bot_admin:
        raise NotAllowed("not a bot admin")


@for_bot_admins
async def grant(conv: Conversation, args: str) -> list[Reply]:
    _bot_admin(conv)
    words = args.split(maxsplit=1)
    vk_id = _vk_id(words[0]) if words else None
    if vk_id is None:
        return [_say(conv, "admin.grant_usage")]
    municipality = None
    if len(words) > 1:
        municipality = await _municipality_named(conv, words[1], None)
        if municipality is None:
            return [_say(conv, "admin.place_unknown")]
    now = unix(conv.deps.clock)
    async with conv.deps.db.transaction() as tx:
        await tx.territory.upsert_grant(vk_id, municipality.id if municipality else None,
                                        conv.person.vk_id, now)
        await tx.audit.insert_entry(conv.person.vk_id, "coordinator_grant", {
            "municipality_id": municipality.id if municipality else None, "vk_id": vk_id}, now)
    place = municipality.name if municipality else conv.deps.settings.region.name
    service = conv.deps.services["broadcasts"]
    withheld = await service.withhold_unauthorised(vk_id, told=conv.person.vk_id)
    person = (await who(conv.deps, vk_id)).values(conv.deps.texts)
    return [_say(conv, "admin.granted", place=place, regional=municipality is None,
                 withheld=len(withheld), **person),
            *([await service.withheld_notice(withheld)] if withheld else [])]


@for_bot_admins
async def revoke(conv: Conversation, args: str) -> list[Reply]:
    _bot_admin(conv)
    vk_id = _vk_id(args.split()[0]) if args.split() else None
    if vk_id is None:
        return [_say(conv, "admin.revoke_usage")]
    access = conv.deps.settings.access
    if vk_id in access.coordinators or vk_id in access.admins:
        return [_say(conv, "admin.revoke_config", vk_id=vk_id)]
    now = unix(conv.deps.clock)
    async with conv.deps.db.transaction() as tx:
        old = await tx.territory.get_grant(vk_id)
        removed = await tx.territory.delete_grant(vk_id)
        if removed:
            await tx.audit.insert_entry(conv.person.vk_id, "coordinator_revoke", {
                "municipality_id": old.municipality_id if old else None, "vk_id": vk_id}, now)
    service = conv.deps.services["broadcasts"]
    withheld = await service.withhold_unauthorised(vk_id, told=conv.person.vk_id)
    person = (await who(conv.deps, vk_id)).values(conv.deps.texts)
    return [_say(conv, "admin.revoked" if removed else "admin.revoke_none",
                 withheld=len(withheld), **person),
            *([await service.withheld_notice(withheld)] if withheld else [])]


# -- audit log -------------------------------------------------------------------------------
# Every action kind written to the log (``tx.audit.upsert_entry`` / ``_audit``) has a text
# ``admin.audit_entry.<action with _ for .>`` that says it for people; these are the values it
# may use (all given, empty when the entry has no such detail).
@for_coordinators
async def audit_log(conv: Conversation) -> list[Reply]:
    scope = territory(conv.access).filter
    await _audit(conv, "audit_view", scope)
    async with conv.deps.db.read() as tx:
        entries = await tx.summaries.list_audit(scope, AUDIT_LINES)
        municipality = await tx.summaries.get_municipality(scope, scope) if scope else None
        municipalities = {m.id: m.name for m in await tx.summaries.list_municipalities(None)}
        org_ids = {int(e.details["org"]) for e in entries if isinstance(e.details.get("org"), int)}
        orgs = {i: o.name for i in org_ids
                if (o := await tx.summaries.get_organisation(i, scope)) is not None}
    mentioned = {e.actor_id for e in entries} | {
        int(e.details["vk_id"]) for e in entries if isinstance(e.details.get("vk_id"), int)}
    names = await people(conv.deps, mentioned)
    tz = (municipality.timezone if municipality else None) or conv.deps.settings.region.timezone
    now = conv.deps.clock.now()
    texts = conv.deps.texts
    lines = []
    for e in entries:
        actor = names.get(e.actor_id)
        lines.append({"when": moment_words(texts, e.at, tz, now),
                      "actor": texts.render("people.short", **actor.values(texts)) if actor
                      else texts.render("people.short", name="",
                                                link=profile_link(texts, e.actor_id)),
                      "text": await _entry_text(conv, e.action, e.details, tz, municipalities,
                                                orgs, names)})
    return [_say(conv, "admin.audit", lines=lines, tz=zone_phrase(texts, tz, now))]


async def _entry_text(conv: Conversation, action: str, details: dict[str, Any], tz: str,
                      municipalities: dict[int, str], orgs: dict[int, str],
                      names: dict[int, Any]) -> str:
    texts = conv.deps.texts
    key = f"admin.audit_entry.{action.replace('.', '_')}"
    if not texts.has(key):
        return texts.render("admin.audit_entry_other")
    d = details
    mid = d.get("municipality_id")
    place = (orgs.get(d["org"], "") if isinstance(d.get("org"), int) else "") or \
        (municipalities.get(mid, "") if isinstance(mid, int) else conv.deps.settings.region.name)
    audience = ""
    if isinstance(d.get("audience"), dict):
        try:
            # the broadcasts feature says whom a broadcast reaches, in its own words
            audience = await conv.deps.registry.continuation(DESCRIBE_AUDIENCE)(
                conv, Audience.model_validate(d["audience"]))
        except ValueError:
            audience = ""
    person = names.get(d["vk_id"]) if isinstance(d.get("vk_id"), int) else None
    entry = None
    if isinstance(d.get("entry"), str):  # an FAQ article (a draft may be gone by now)
        faq = conv.deps.services.get("faq")
        entry = faq.book.get(d["entry"]) if faq is not None else None

    def word(key: str) -> str:  # a stored code in words; "" if there is no such word
        return texts.render(key) if texts.has(key) else ""

    values = {
        "place": place,
        "week": shown_week(conv, d["week"]) if isinstance(d.get("week"), str)
        and figures.parse_week(d["week"]) else "",
        "format": word(f"admin.audit_format.{d.get('format')}"),
        "broadcast": d.get("broadcast") or "",
        "send_at": moment_words(texts, int(d["send_at"]), tz, conv.deps.clock.now())
        if isinstance(d.get("send_at"), int) else "",
        "audience": audience,
        "was": word(f"admin.audit_was.{d.get('was')}"),
        "app": d.get("app") or "",
        "old": word(f"coord.status.{d.get('from')}"),
        "new": word(f"coord.status.{d.get('to')}"),
        "shown": ", ".join(f"№{n}" for n in d.get("shown") or [] if isinstance(n, int)),
        "count": d.get("count") if isinstance(d.get("count"), int) else 0,
        "upto": d.get("upto") or "",
        "entries": d.get("entries") if isinstance(d.get("entries"), int) else 0,
        "ticket": d.get("ticket") or "",
        "person": texts.render("people.card", **person.values(texts)) if person else "",
        "regional": mid is None,
        "entry": entry.title if entry is not None else "",
    }
    return texts.render(key, **values)
