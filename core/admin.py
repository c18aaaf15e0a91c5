"""Typed commands of coordinators and bot admins, and the help that lists them.

| command (words in content/texts/admin.toml, ``admin.cmd.*``) | who          |
|---------------------------------------------------------|--------------|
| команды /help                                           | anyone       |
| не присылать рассылки /unsubscribe, присылать рассылки /subscribe | anyone |
| рассылка /broadcast, рассылки /broadcasts, отменить рассылку N /cancel N | coordinator |
| сводка [неделя] [муниципалитет | орг N] [график|xlsx|csv] /summary   | coordinator |
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
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from core import summaries as figures
from core.access import Access, NotAllowed, territory
from core.clock import unix
from core.conversation import Conversation
from core.payloads import Payload
from core.platform import PlatformError
from core.privacy import mask_contacts
from core.ui import Button, Keyboard, Reply
from core.untrusted import relayed
from storage.models import Municipality

if TYPE_CHECKING:
    from bot.deps import Deps

Need = Literal["anyone", "coordinator", "admin"]
Format = Literal["png", "xlsx", "csv"]
AUDIT_LINES = 20


@dataclass(frozen=True)
class Command:
    name: str          # texts: admin.cmd.<name> (the forms, «|»-separated), admin.help_<name>
    need: Need
    args: bool = False
    listed_only: bool = False  # another feature's command: only listed in the help here


COMMANDS: tuple[Command, ...] = (  # in the order of the help
    Command("help", "anyone"),
    Command("menu", "anyone", listed_only=True),            # cmd.menu
    Command("broadcasts_off", "anyone"),
    Command("broadcasts_on", "anyone"),
    Command("coord", "coordinator", listed_only=True),      # cmd.coord (handlers/activation.py)
    Command("applications", "coordinator", listed_only=True),  # cmd.applications
    Command("export", "coordinator", listed_only=True),     # cmd.export
    Command("funnel", "coordinator", args=True),
    Command("stuck", "coordinator", listed_only=True),      # cmd.stuck
    Command("questions", "coordinator", listed_only=True),  # cmd.tickets (handlers/tickets.py)
    Command("misses", "coordinator", listed_only=True),     # cmd.faq_misses (handlers/faq.py)
    Command("summary", "coordinator", args=True),
    Command("broadcast", "coordinator"),
    Command("history", "coordinator"),
    Command("cancel", "coordinator", args=True),
    Command("audit", "coordinator"),
    Command("reload_faq", "admin", listed_only=True),       # cmd.faq_reload (handlers/faq.py)
    Command("faq_drafts", "admin", listed_only=True),       # cmd.faq_drafts (handlers/faq.py)
    Command("grant", "admin", args=True),
    Command("revoke", "admin", args=True),
    Command("status", "admin"),                             # core/status.py
)
BY_NAME = {c.name: c for c in COMMANDS}


class SummaryFile(Payload):
    cmd: str = "sum.file"
    w: str
    m: int | None = None
    o: int | None = None
    f: Format


class FunnelChart(Payload):
    cmd: str = "fun.chart"
    m: int | None = None


class FunnelView(Payload):
    """«Воронка» in the coordinator panel: the funnel of the coordinator's whole territory."""
    cmd: str = "fun"


COORDINATOR_PAYLOADS: tuple[type[Payload], ...] = (SummaryFile, FunnelChart, FunnelView)


# -- commands --------------------------------------------------------------------------------
def normalise(text: str) -> str:
    return " ".join(text.lower().replace("ё", "е").strip(" .!?\t\n").split())


def _words(deps: "Deps", key: str) -> list[str]:
    return [normalise(w) for w in deps.texts.render(key).split("|") if w.strip()]


def match_command(deps: "Deps", text: str) -> tuple[Command, str] | None:
    """The command a typed text is, with what follows it; the longest form wins."""
    typed = normalise(text)
    if not typed:
        return None
    best: tuple[int, Command, str] | None = None
    for command in COMMANDS:
        if command.listed_only:
            continue
        for form in _words(deps, f"admin.cmd.{command.name}"):
            if typed == form:
                found = (len(form), command, "")
            elif command.args and typed.startswith(form + " "):
                found = (len(form), command, typed[len(form) + 1:].strip())
            else:
                continue
            if best is None or found[0] > best[0]:
                best = found
    return None if best is None else (best[1], best[2])


def allowed(access: Access, need: Need) -> bool:
    if need == "admin":
        return access.bot_admin
    if need == "coordinator":
        return access.coordinator
    return True


def _say(conv: Conversation, key: str, keyboard: Keyboard | None = None,
         attachments: tuple[str, ...] = (), **values: Any) -> Reply:
    return Reply(conv.deps.texts.render(key, **values), keyboard, attachments, template=key)


def refuse(conv: Conversation) -> list[Reply]:
    """Polite, and says nothing about what the command would have shown."""
    return [_say(conv, "admin.refused")]


def help_screen(conv: Conversation) -> list[Reply]:
    days = conv.deps.settings.schedule.stuck_after_days
    lines = [conv.deps.texts.render(f"admin.help_{c.name}", days=days) for c in COMMANDS
             if allowed(conv.access, c.need)]
    return [_say(conv, "admin.help", lines=lines, coordinator=conv.access.coordinator)]


async def _audit(conv: Conversation, action: str, municipality_id: int | None,
                 **details: Any) -> None:
    async with conv.deps.db.transaction() as tx:
        await tx.audit.upsert_entry(conv.person.vk_id, action,
                                    {"municipality_id": municipality_id, **details},
                                    unix(conv.deps.clock))


# -- places ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    name: str
    municipality_id: int | None   # the filter (None = the whole region)
    org_id: int | None = None


async def _municipality_named(conv: Conversation, text: str,
                              scope: int | None) -> Municipality | None:
    wanted = normalise(text)
    async with conv.deps.db.read() as tx:
        municipalities = await tx.summaries.list_municipalities(scope)
    if wanted.isdigit():
        return next((m for m in municipalities if m.id == int(wanted)), None)
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
        if words and words[0] in _words(conv.deps, "admin.org_words"):
            number = words[1].lstrip("№#") if len(words) == 2 else ""
            org = await tx.summaries.get_organisation(int(number), scope) \
                if number.isdigit() else None
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
def _split_args(conv: Conversation, args: str) -> tuple[str | None, Format | None, str]:
    week: str | None = None
    fmt: Format | None = None
    rest = []
    formats: dict[str, Format] = {}
    for name in ("png", "xlsx", "csv"):
        for word in _words(conv.deps, f"admin.fmt_{name}"):
            formats[word] = name  # type: ignore[assignment]
    for token in args.split():
        if week is None and figures.parse_week(token):
            week = figures.parse_week(token)
        elif fmt is None and token in formats:
            fmt = formats[token]
        else:
            rest.append(token)
    return week, fmt, " ".join(rest)


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
        "admin.summary", place=relayed(summary.place, 300), week=summary.week,
        monday=figures.week_start(summary.week).strftime("%d.%m.%Y"),
        respondents=current.respondents, items=items,
        previous_respondents=summary.previous_respondents,
        active=current.active, active_base=current.active_base,
        active_share=figures.pct(current.active_share),
        previous_active_share=figures.pct(summary.previous_active_share),
        target=figures.pct(summary.target),
        level=conv.deps.texts.render(f"admin.level_{_level(current.active_share)}"),
        confidence=figures.one_decimal(current.confidence))


def _files_keyboard(conv: Conversation, summary: figures.Summary, place: Place) -> Keyboard:
    texts = conv.deps.texts
    return Keyboard.of([
        Button(texts.label(f"btn.sum_{f}"),
               SummaryFile(w=summary.week, m=place.municipality_id, o=place.org_id, f=f).dump())
        for f in ("png", "xlsx", "csv")], inline=True)


async def summary(conv: Conversation, args: str) -> list[Reply]:
    week, fmt, rest = _split_args(conv, args)
    place = await resolve_place(conv, rest)
    if place is None:
        return [_say(conv, "admin.place_unknown")]
    found = await load_summary(conv, place, week)
    await _audit(conv, "summary_view", place.municipality_id, org=place.org_id,
                 week=found.week if found else week, format=fmt or "text")
    if found is None:
        return [_say(conv, "admin.no_answers", place=place.name, week=week or "")]
    if found.too_few:
        return [_too_few(conv, found)]
    if fmt is not None:
        return [await _summary_file(conv, found, fmt)]
    return [Reply(summary_text(conv, found), _files_keyboard(conv, found, place),
                  template="admin.summary"), *await _free_texts(conv, found, place)]


def _too_few(conv: Conversation, summary: figures.Summary) -> Reply:
    return _say(conv, "admin.too_few", place=summary.place, week=summary.week,
                min_group=summary.min_group)


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
    return [_say(conv, "admin.free_texts", week=summary.week, texts=cleaned[:FREE_TEXTS_SHOWN],
                 total=len(cleaned), more=len(cleaned) > FREE_TEXTS_SHOWN)]


def _short(text: str) -> str:
    return text if len(text) <= FREE_TEXT_MAX else text[:FREE_TEXT_MAX - 1] + "…"


async def summary_file(conv: Conversation, payload: SummaryFile) -> list[Reply]:
    place = await _place_of(conv, payload.m, payload.o)
    if place is None:
        return [_say(conv, "admin.place_unknown")]
    found = await load_summary(conv, place, payload.w)
    if found is None:
        return [_say(conv, "admin.no_answers", place=place.name, week=payload.w)]
    if found.too_few:
        return [_too_few(conv, found)]
    await _audit(conv, "summary_export", place.municipality_id, org=place.org_id,
                 week=payload.w, format=payload.f)
    return [await _summary_file(conv, found, payload.f)]


def build_file(conv: Conversation, summary: figures.Summary, fmt: Format) -> bytes:
    lab = figures.Labels(conv.deps.texts.render, place=summary.place, week=summary.week,
                         min_group=summary.min_group)
    if fmt == "png":
        return figures.summary_chart(summary, lab)
    if fmt == "xlsx":
        return figures.summary_xlsx(summary, lab)
    return figures.summary_csv(summary, lab)


def file_name(summary: figures.Summary, fmt: Format) -> str:
    return f"svodka-{summary.week}.{fmt}"


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
                week=summary.week)


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
        await tx.audit.upsert_entry(conv.person.vk_id, "coordinator_grant", {
            "municipality_id": municipality.id if municipality else None, "vk_id": vk_id}, now)
    place = municipality.name if municipality else conv.deps.settings.region.name
    service = conv.deps.services["broadcasts"]
    withheld = await service.withhold_unauthorised(vk_id, told=conv.person.vk_id)
    return [_say(conv, "admin.granted", vk_id=vk_id, place=place,
                 regional=municipality is None, withheld=len(withheld)),
            *([await service.withheld_notice(withheld)] if withheld else [])]


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
            await tx.audit.upsert_entry(conv.person.vk_id, "coordinator_revoke", {
                "municipality_id": old.municipality_id if old else None, "vk_id": vk_id}, now)
    service = conv.deps.services["broadcasts"]
    withheld = await service.withhold_unauthorised(vk_id, told=conv.person.vk_id)
    return [_say(conv, "admin.revoked" if removed else "admin.revoke_none", vk_id=vk_id,
                 withheld=len(withheld)),
            *([await service.withheld_notice(withheld)] if withheld else [])]


# -- audit log -------------------------------------------------------------------------------
async def audit_log(conv: Conversation) -> list[Reply]:
    scope = territory(conv.access).filter
    await _audit(conv, "audit_view", scope)
    async with conv.deps.db.read() as tx:
        entries = await tx.summaries.list_audit(scope, AUDIT_LINES)
        municipality = await tx.summaries.get_municipality(scope, scope) if scope else None
    tz = (municipality.timezone if municipality else None) or conv.deps.settings.region.timezone
    from core.broadcasts import local_time

    texts = conv.deps.texts
    lines = []
    for e in entries:
        key = f"admin.action_{e.action.replace('.', '_')}"
        details = {k: v for k, v in e.details.items() if k != "municipality_id" and v is not None}
        lines.append({"when": local_time(e.at, tz), "actor": e.actor_id,
                      "action": texts.render(key) if texts.has(key) else e.action,
                      "details": ", ".join(f"{k}={v}" for k, v in sorted(details.items())
                                           if not isinstance(v, (dict, list)))})
    return [_say(conv, "admin.audit", lines=lines, tz=tz)]
