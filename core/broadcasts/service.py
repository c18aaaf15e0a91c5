"""Coordinator broadcasts: audience -> text -> preview -> confirm -> now or at a time.

The dialog, one row per state (``users.state``; ``state_data = {"id": <draft id>}``):

| state                    | the coordinator sees                 | moves on by                              |
|--------------------------|--------------------------------------|------------------------------------------|
| broadcast:audience       | kinds of audience                    | PickKind -> the kind's state, «all» -> text |
| broadcast:role           | roles                                | PickValue -> text                        |
| broadcast:municipality   | municipalities of their territory    | PickValue / typed name -> text           |
| broadcast:org            | organisations, type a number or name | typed -> text                            |
| broadcast:step           | activation steps 1..8, activated     | PickValue -> text                        |
| broadcast:difficulty     | difficulties of the last survey      | PickValue -> text                        |
| broadcast:text           | reach; «write the text»              | typed text/photo/document -> confirm     |
| broadcast:confirm        | preview as recipients see it; reach  | SendNow -> running; Later -> when; EditText -> text |
| broadcast:when           | quick times; «type ДД.ММ ЧЧ:ММ»      | SendAt / typed -> scheduled              |

QuitDraft leaves from any of them. Sending is done by ``BroadcastService`` (scheduled ones by
its tick, which survives restarts): it claims the broadcast ('scheduled' -> 'running' once),
renders the text for every recipient and hands the job to the persistent outbox, edits the
coordinator's status message with progress and ends with one delivery report.

Territory: a coordinator limited to a municipality composes, counts, sends, lists and cancels
only inside it (``scope`` goes into every repository call).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from core.broadcasts.payloads import (BroadcastsOff, BroadcastsOn, CancelBroadcast, DifficultyPage,
                                      EditText, Later, NewBroadcast, PickKind, PickMessenger,
                                      PickValue, QuitDraft, SendAt, SendNow)
from storage.accounts import BEFORE_EVERYONE
from core.kernel import dates
from core.kernel import fill_in
from core.kernel.access import Scope, access_of, for_coordinators, territory
from core.kernel.clock import monotonic, unix
from core.kernel.conversation import Conversation
from core.kernel.domain import ACTIVATED
from core.kernel.domain import AUDIENCE_ROLES as ROLES
from core.kernel.display import moment_words, zone_phrase
from core.kernel.fill_in import FillIn, TemplateProblem
from core.kernel.menu import main_menu, open_menu
from core.kernel.outgoing import Multicast, Outgoing
from core.kernel.payloads import Payload
from core.kernel.people import people
from core.kernel.platform import IncomingFile, Platform, PlatformError
from core.kernel.screens import current_screen
from core.kernel.ui import Button, Keyboard, Reply, prefixed
from core.kernel.untrusted import relayed, unlinked
from core.kernel.weeks import week_label
from storage.broadcasts import (Audience, AudienceKind, Broadcast, Messenger, Recipient,
                                job_of)

if TYPE_CHECKING:
    from core.kernel.deps import Deps

log = logging.getLogger(__name__)

PROGRESS_EVERY = 2.0       # seconds between edits of the status message
TICK_EVERY = 15.0          # seconds between checks for due scheduled broadcasts
TEXT_MAX = 4000
HISTORY = 10


# -- states ----------------------------------------------------------------------------------
AUDIENCE = "broadcast:audience"
ROLE = "broadcast:role"
MUNICIPALITY = "broadcast:municipality"
ORG = "broadcast:org"
STEP = "broadcast:step"
DIFFICULTY = "broadcast:difficulty"
TEXT = "broadcast:text"
CONFIRM = "broadcast:confirm"
WHEN = "broadcast:when"

KIND_STATE: dict[str, str] = {"all": TEXT, "role": ROLE, "municipality": MUNICIPALITY,
                              "org": ORG, "step": STEP, "difficulty": DIFFICULTY}
# Which buttons make sense in which state; anything else is an outdated button.
PAYLOAD_STATES: dict[type[Payload], tuple[str, ...]] = {
    PickKind: (AUDIENCE,),
    PickValue: (ROLE, MUNICIPALITY, STEP, DIFFICULTY),
    PickMessenger: (TEXT, CONFIRM),
    DifficultyPage: (DIFFICULTY,),
    SendNow: (CONFIRM,),
    Later: (CONFIRM,),
    EditText: (CONFIRM,),
    SendAt: (WHEN,),
}


# -- personalisation -------------------------------------------------------------------------
# What a template variable can hold -> the catalog key listing its spellings («имя|name»).
VARIABLE_KEYS: dict[str, str] = {
    "first_name": "broadcasts.vars.first_name",
    "last_name": "broadcasts.vars.last_name",
    "org": "broadcasts.vars.org",
    "municipality": "broadcasts.vars.municipality",
}


def variable_names(texts: Any) -> dict[str, str]:
    """Template variable name -> what it holds, e.g. {"имя": "first_name", "name": ...}."""
    return {name.strip(): field for field, key in VARIABLE_KEYS.items()
            for name in texts.render(key).split("|") if name.strip()}


def values_of(recipient: Recipient) -> dict[str, str]:
    """What each placeholder field holds for one recipient. The organisation's name was typed
    by its administrator: it reaches the other recipients without live VK markup."""
    return {"first_name": recipient.first_name, "last_name": recipient.last_name,
            "org": unlinked(recipient.org_name or ""),
            "municipality": recipient.municipality_name or ""}


def compile_text(text: str, names: dict[str, str]) -> FillIn:
    """The coordinator's text as a fill-in (core/kernel/fill_in.py): placeholders only, checked on the
    parsed text before it is accepted; TemplateProblem names what is not allowed."""
    return fill_in.parse(text, names)


def render_text(fill: FillIn, recipient: Recipient) -> str:
    """One recipient's text, never longer than VK's limit (long values are shortened)."""
    return fill.render(values_of(recipient), TEXT_MAX)


async def longest(deps: "Deps", fill: FillIn, audience: Audience,
                  scope: int | None) -> tuple[int, Recipient | None]:
    """The longest text any recipient of the audience would get, and that recipient: the
    length is weighed in SQL over the whole audience, not only over the coordinator's own."""
    if not fill.fields:
        return fill.literal_length, None
    weights = {f: sum(1 for p in fill.parts if p == (f,)) for f in fill.fields}
    async with deps.db.read() as tx:
        found = await tx.broadcasts.get_longest_recipient(audience, scope, weights,
                                                          fill_in.VALUE_MAX)
    if found is None:
        return fill.literal_length, None
    return fill.length(values_of(found)), found


def optout_keyboard(deps: "Deps") -> Keyboard:
    return Keyboard.of([Button(deps.texts.label("btn.bc_off"), BroadcastsOff().dump())],
                       inline=True)


def recipient_reply(deps: "Deps", fill: FillIn, broadcast: Broadcast,
                    recipient: Recipient) -> Reply:
    """Exactly what one recipient gets (the preview is this, rendered for the coordinator)."""
    return Reply(render_text(fill, recipient),
                 optout_keyboard(deps), broadcast.attachments, template="broadcasts.message")


# -- small helpers ---------------------------------------------------------------------------
def _scope(conv: Conversation) -> int | None:
    """The repository filter of the coordinator's territory, read anew for every event: a
    revoked coordinator gets NotAllowed (never "the whole region")."""
    return territory(conv.access).filter


def _service(deps: "Deps") -> "BroadcastService":
    return deps.services["broadcasts"]


def _platform(deps: "Deps") -> Platform:
    return deps.services["platform"]


def _say(conv: Conversation, key: str, keyboard: Keyboard | None = None, **values: Any) -> Reply:
    return Reply(conv.deps.texts.render(key, **values), keyboard, template=key)


def _btn(conv: Conversation, key: str, payload: Payload, color: str = "secondary",
         **values: Any) -> Button:
    return Button(conv.deps.texts.label(key, **values), payload.dump(), color)  # type: ignore[arg-type]


def _quit_row(conv: Conversation) -> list[Button]:
    return [_btn(conv, "btn.bc_quit", QuitDraft(), "negative")]


async def _audit(conv: Conversation, action: str, **details: Any) -> None:
    async with conv.deps.db.transaction() as tx:
        await tx.audit.insert_entry(conv.person.vk_id, action,
                                    {"municipality_id": _scope(conv), **details},
                                    unix(conv.deps.clock))


def timezone_name(deps: "Deps", municipality_tz: str | None) -> str:
    return municipality_tz or deps.settings.region.timezone


async def _timezone(conv: Conversation) -> str:
    scope = _scope(conv)
    if scope is None:
        return timezone_name(conv.deps, None)
    async with conv.deps.db.read() as tx:
        municipality = await tx.summaries.get_municipality(scope, scope)
    return timezone_name(conv.deps, municipality.timezone if municipality else None)


def _zone(conv: Conversation, tz: str) -> str:
    """«по новосибирскому времени (UTC+7)»."""
    return zone_phrase(conv.deps.texts, tz, conv.deps.clock.now())


def _moment(conv: Conversation, at: int, tz: str) -> str:
    """«24 ноября в 09:00» in the coordinator's zone."""
    return moment_words(conv.deps.texts, at, tz, conv.deps.clock.now())


def local_time(at: int, tz: str, short: bool = False) -> str:
    return datetime.fromtimestamp(at, ZoneInfo(tz)).strftime(
        "%d.%m %H:%M" if short else "%d.%m.%Y %H:%M")


def _week_shown(deps: "Deps", week: str) -> str:
    """'2026-W47' -> «16–22 ноября»."""
    today = deps.clock.now().astimezone(ZoneInfo(deps.settings.region.timezone)).date()
    return week_label(deps.texts, week, today)


# -- VK, MAX or both ---------------------------------------------------------------------------
def serves_both(deps: "Deps") -> bool:
    """The bot serves VK and MAX at once: only then is the messenger a choice and are figures
    shown per messenger (a bot of one messenger talks exactly as before)."""
    return deps.settings.vk is not None and deps.settings.max.enabled


def split_shown(deps: "Deps", audience: Audience) -> bool:
    """Figures per messenger: for a broadcast that reaches both."""
    return serves_both(deps) and audience.messenger is None


def by_messenger(deps: "Deps", vk: int, in_max: int) -> str:
    """«VK: 1200, MAX: 300»."""
    return deps.texts.render("broadcasts.by_messenger", vk=vk, max=in_max)


async def split_count(deps: "Deps", audience: Audience, scope: int | None) -> str:
    """The audience per messenger in words, or "" when it reaches one messenger only."""
    if not split_shown(deps, audience):
        return ""
    async with deps.db.read() as tx:
        counted = await tx.broadcasts.count_audience_by_messenger(audience, scope)
    return by_messenger(deps, counted["vk"], counted["max"])


def _messenger_row(conv: Conversation, draft: Broadcast) -> list[list[Button]]:
    """The other choices of VK / MAX / both than the draft's (none for a one-messenger bot)."""
    if not serves_both(conv.deps):
        return []
    current = draft.audience.messenger
    choices: list[tuple[str, Messenger | None]] = [
        ("btn.bc_in_both", None), ("btn.bc_in_vk", "vk"), ("btn.bc_in_max", "max")]
    return [[_btn(conv, key, PickMessenger(m=m)) for key, m in choices if m != current]]


@for_coordinators
async def pick_messenger(conv: Conversation, messenger: Messenger | None) -> list[Reply]:
    draft = await _checked(conv, PickMessenger)
    if isinstance(draft, list):
        return draft
    if not serves_both(conv.deps):
        return await _outdated(conv)
    audience = draft.audience.model_copy(update={"messenger": messenger})
    async with conv.deps.db.transaction() as tx:
        await tx.broadcasts.update_audience(draft.id, audience, unix(conv.deps.clock))
    return await _go(conv, conv.person.state, draft)


async def describe_audience(deps: "Deps", audience: Audience, scope: int | None) -> str:
    described = await _describe(deps, audience, scope)
    if audience.messenger is None:
        return described
    return deps.texts.render("broadcasts.aud_only", audience=described,
                             messenger=deps.texts.render(f"broadcasts.in_{audience.messenger}"))


async def _describe(deps: "Deps", audience: Audience, scope: int | None) -> str:
    texts = deps.texts
    kind, value = audience.kind, audience.value
    if kind == "role":
        return texts.render("broadcasts.aud_role", role=texts.render(f"broadcasts.role_{value}"))
    if kind == "step":
        return texts.render("broadcasts.aud_step", step=int(value or 0), activated=ACTIVATED)
    if kind == "difficulty":
        options = await deps.services["survey_options"].list_options(scope)
        label = next((o.label for o in options if o.id == str(value)), str(value))
        return texts.render("broadcasts.aud_difficulty", label=label,
                            week=_week_shown(deps, audience.week) if audience.week else "")
    if kind in ("municipality", "org"):
        async with deps.db.read() as tx:
            if kind == "municipality":
                found: Any = await tx.summaries.get_municipality(int(value or 0), scope)
            else:
                found = await tx.summaries.get_organisation(int(value or 0), scope)
        return texts.render(f"broadcasts.aud_{kind}", name=relayed(found.name) if found else "—")
    return texts.render("broadcasts.aud_all")


async def _count(deps: "Deps", audience: Audience, scope: int | None) -> int:
    async with deps.db.read() as tx:
        return await tx.broadcasts.count_audience(audience, scope)


# -- the dialog ------------------------------------------------------------------------------
async def _draft(conv: Conversation) -> Broadcast | None:
    """The coordinator's own draft, within their territory as it is now. A draft begun with a
    wider territory (the coordinator was narrowed to a municipality meanwhile) is narrowed too
    and its audience chosen again, so nothing outside the new territory is shown or counted."""
    draft_id = conv.person.state_data.get("id")
    if not isinstance(draft_id, int):
        return None
    scope = _scope(conv)
    async with conv.deps.db.read() as tx:
        draft = await tx.broadcasts.get_broadcast(draft_id, None)
    if draft is None or draft.status != "draft" or draft.author_vk_id != conv.person.vk_id:
        return None
    if draft.scope_municipality_id != scope:
        now = unix(conv.deps.clock)
        async with conv.deps.db.transaction() as tx:
            await tx.broadcasts.update_scope(draft.id, scope, now)
            await tx.users.update_state(conv.person.vk_id, AUDIENCE, {"id": draft.id}, now)
            draft = await tx.broadcasts.get_broadcast(draft.id, scope)
        conv.person = conv.person.model_copy(update={"state": AUDIENCE,
                                                     "state_data": {"id": draft_id}})
    return draft


async def _go(conv: Conversation, state: str, draft: Broadcast, **extra: Any) -> list[Reply]:
    data = {"id": draft.id, **extra}
    async with conv.deps.db.transaction() as tx:
        await tx.users.update_state(conv.person.vk_id, state, data, unix(conv.deps.clock))
        draft = await tx.broadcasts.get_broadcast(draft.id, _scope(conv)) or draft
    conv.person = conv.person.model_copy(update={"state": state, "state_data": data})
    return await FLOW[state].screen(conv, draft)


async def _to_menu(conv: Conversation, *before: Reply) -> list[Reply]:
    replies = await open_menu(conv)
    if not before:
        return replies
    return [*before, *(replies or [main_menu(conv)])]


@for_coordinators
async def start(conv: Conversation) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        draft = await tx.broadcasts.insert_draft(conv.person.vk_id, _scope(conv),
                                                 unix(conv.deps.clock))
    return await _go(conv, AUDIENCE, draft)


async def screen(conv: Conversation) -> list[Reply]:
    """Where the coordinator is in the dialog (after a detour or an outdated button)."""
    if not conv.access.coordinator:  # rights revoked mid-dialog: the dialog ends here
        return await _to_menu(conv)
    draft = await _draft(conv)
    state = conv.person.state
    if draft is None or state not in FLOW:
        return await _to_menu(conv)
    return await FLOW[state].screen(conv, draft)


async def _audience_screen(conv: Conversation, draft: Broadcast) -> list[Reply]:
    kinds: list[str] = ["all", "role", "org", "step", "difficulty"]
    if _scope(conv) is None:
        kinds.insert(2, "municipality")
    buttons = [_btn(conv, f"btn.bc_kind_{k}", PickKind(kind=k)) for k in kinds]  # type: ignore[arg-type]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    place = await _place(conv)
    return [_say(conv, "broadcasts.audience", Keyboard.of(*rows, _quit_row(conv), inline=True),
                 place=place)]


async def _place(conv: Conversation) -> str:
    scope = _scope(conv)
    if scope is None:
        return conv.deps.settings.region.name
    async with conv.deps.db.read() as tx:
        municipality = await tx.summaries.get_municipality(scope, scope)
    return municipality.name if municipality else ""


async def _role_screen(conv: Conversation, draft: Broadcast) -> list[Reply]:
    rows = [[_btn(conv, f"btn.bc_role_{r}", PickValue(v=r))] for r in ROLES]
    return [_say(conv, "broadcasts.pick_role", Keyboard.of(*rows, _quit_row(conv), inline=True))]


async def _municipality_screen(conv: Conversation, draft: Broadcast) -> list[Reply]:
    async with conv.deps.db.read() as tx:
        municipalities = await tx.summaries.list_municipalities(_scope(conv))
    shown = municipalities[:8]  # VK: an inline keyboard has at most 6 rows and 10 buttons
    buttons = [Button(m.name[:40], PickValue(v=str(m.id)).dump()) for m in shown]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    return [_say(conv, "broadcasts.pick_municipality",
                 Keyboard.of(*rows, _quit_row(conv), inline=True),
                 more=len(municipalities) > len(shown))]


async def _municipality_typed(conv: Conversation, draft: Broadcast, text: str,
                              files: tuple[IncomingFile, ...]) -> list[Reply]:
    wanted = text.strip().lower()
    async with conv.deps.db.read() as tx:
        municipalities = await tx.summaries.list_municipalities(_scope(conv))
    found = [m for m in municipalities if wanted and (wanted in m.name.lower() or wanted == str(m.id))]
    if len(found) != 1:
        return prefixed(conv.deps.texts.render("broadcasts.municipality_unknown"),
                        await _municipality_screen(conv, draft))
    return await _set_audience(conv, draft, Audience(kind="municipality", value=found[0].id))


async def _org_screen(conv: Conversation, draft: Broadcast) -> list[Reply]:
    async with conv.deps.db.read() as tx:
        orgs = await tx.summaries.list_organisations(_scope(conv), limit=15)
    return [_say(conv, "broadcasts.pick_org", Keyboard.of(_quit_row(conv), inline=True),
                 orgs=orgs)]


async def _org_typed(conv: Conversation, draft: Broadcast, text: str,
                     files: tuple[IncomingFile, ...]) -> list[Reply]:
    wanted = text.strip().lstrip("№#").strip()
    async with conv.deps.db.read() as tx:
        if wanted.isdigit():
            org = await tx.summaries.get_organisation(int(wanted), _scope(conv))
            orgs = [org] if org else []
        else:
            orgs = await tx.summaries.list_organisations(_scope(conv), wanted, limit=15)
    if len(orgs) == 1:
        return await _set_audience(conv, draft, Audience(kind="org", value=orgs[0].id))
    keyboard = Keyboard.of(_quit_row(conv), inline=True)
    if not orgs:
        return [_say(conv, "broadcasts.org_unknown", keyboard)]
    return [_say(conv, "broadcasts.org_many", keyboard, orgs=orgs)]


async def _step_screen(conv: Conversation, draft: Broadcast) -> list[Reply]:
    buttons = [_btn(conv, "btn.bc_step", PickValue(v=str(n)), step=n) for n in range(1, 9)]
    rows = [buttons[i:i + 4] for i in range(0, 8, 4)]
    rows.append([_btn(conv, "btn.bc_step_done", PickValue(v=str(ACTIVATED)))])
    return [_say(conv, "broadcasts.pick_step", Keyboard.of(*rows, _quit_row(conv), inline=True))]


DIFFICULTIES_ONE_PAGE = 8   # 4 rows of 2 + «Отменить»: within VK's 6 rows, 10 buttons
DIFFICULTIES_PER_PAGE = 6   # 3 rows of 2 + «←», «→» + «Отменить» when there are more


async def _difficulty_screen(conv: Conversation, draft: Broadcast, page: int = 0) -> list[Reply]:
    async with conv.deps.db.read() as tx:
        week = await tx.summaries.get_latest_week(_scope(conv))
    if week is None:
        return [_say(conv, "broadcasts.no_survey", Keyboard.of(_quit_row(conv), inline=True))]
    options = [o for o in await conv.deps.services["survey_options"].list_options(_scope(conv))
               if not o.exclusive]
    per_page = DIFFICULTIES_ONE_PAGE if len(options) <= DIFFICULTIES_ONE_PAGE \
        else DIFFICULTIES_PER_PAGE
    pages = max(1, -(-len(options) // per_page))
    page = min(max(page, 0), pages - 1)
    buttons = [Button(o.label[:40], PickValue(v=o.id).dump())
               for o in options[page * per_page:(page + 1) * per_page]]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    nav = []
    if page > 0:
        nav.append(_btn(conv, "btn.bc_page_back", DifficultyPage(p=page - 1)))
    if page + 1 < pages:
        nav.append(_btn(conv, "btn.bc_page_more", DifficultyPage(p=page + 1), "primary"))
    if nav:
        rows.append(nav)
    return [_say(conv, "broadcasts.pick_difficulty",
                 Keyboard.of(*rows, _quit_row(conv), inline=True), week=_week_shown(conv.deps, week),
                 page=page + 1, pages=pages)]


@for_coordinators
async def difficulty_page(conv: Conversation, page: int) -> list[Reply]:
    draft = await _checked(conv, DifficultyPage)
    if isinstance(draft, list):
        return draft
    return await _difficulty_screen(conv, draft, page)


@for_coordinators
async def pick_kind(conv: Conversation, kind: AudienceKind) -> list[Reply]:
    draft = await _checked(conv, PickKind)
    if isinstance(draft, list):
        return draft
    if kind == "municipality" and _scope(conv) is not None:
        kind = "all"  # a municipal coordinator's «whole municipality» is «all» in their scope
    if kind == "all":
        return await _set_audience(conv, draft, Audience(kind="all"))
    return await _go(conv, KIND_STATE[kind], draft)


@for_coordinators
async def pick_value(conv: Conversation, value: str) -> list[Reply]:
    draft = await _checked(conv, PickValue)
    if isinstance(draft, list):
        return draft
    state, scope = conv.person.state, _scope(conv)
    if state == ROLE and value in ROLES:
        return await _set_audience(conv, draft, Audience(kind="role", value=value))
    if state == STEP and value.isdigit() and 1 <= int(value) <= ACTIVATED:
        return await _set_audience(conv, draft, Audience(kind="step", value=int(value)))
    if state == MUNICIPALITY and value.isdigit():
        async with conv.deps.db.read() as tx:
            municipality = await tx.summaries.get_municipality(int(value), scope)
        if municipality is not None:
            return await _set_audience(conv, draft,
                                       Audience(kind="municipality", value=municipality.id))
    if state == DIFFICULTY:
        async with conv.deps.db.read() as tx:
            week = await tx.summaries.get_latest_week(scope)
        known = {o.id for o in await conv.deps.services["survey_options"].list_options(scope)}
        if week is not None and value in known:
            return await _set_audience(conv, draft,
                                       Audience(kind="difficulty", value=value, week=week))
    return await _outdated(conv)


async def _set_audience(conv: Conversation, draft: Broadcast, audience: Audience) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        await tx.broadcasts.update_audience(draft.id, audience, unix(conv.deps.clock))
    return await _go(conv, TEXT, draft)


async def _text_screen(conv: Conversation, draft: Broadcast) -> list[Reply]:
    scope = _scope(conv)
    count = await _count(conv.deps, draft.audience, scope)
    audience = await describe_audience(conv.deps, draft.audience, scope)
    split = await split_count(conv.deps, draft.audience, scope)
    return [_say(conv, "broadcasts.write",
                 Keyboard.of(*_messenger_row(conv, draft), _quit_row(conv), inline=True),
                 count=count, audience=audience, split=split)]


async def _text_typed(conv: Conversation, draft: Broadcast, text: str,
                      files: tuple[IncomingFile, ...]) -> list[Reply]:
    text = text.strip()
    keyboard = Keyboard.of(_quit_row(conv), inline=True)
    if not text and not files:
        return [_say(conv, "broadcasts.text_empty", keyboard)]
    if len(text) > TEXT_MAX:
        return [_say(conv, "broadcasts.text_long", keyboard, limit=TEXT_MAX)]
    try:
        fill = compile_text(text, variable_names(conv.deps.texts))
    except TemplateProblem as problem:
        return [_say(conv, problem.key, keyboard, **problem.values)]
    length, who = await longest(conv.deps, fill, draft.audience, _scope(conv))
    if length > TEXT_MAX:  # every recipient's text, not only the coordinator's own preview
        return [_say(conv, "broadcasts.text_long_for", keyboard, limit=TEXT_MAX, length=length,
                     **_who(who))]
    try:
        attachments = await reupload(conv.deps, conv.person.vk_id, files)
    except PlatformError as exc:
        log.warning("could not re-upload a broadcast attachment: %s", exc)
        return [_say(conv, "broadcasts.upload_failed", keyboard)]
    async with conv.deps.db.transaction() as tx:
        await tx.broadcasts.update_content(draft.id, text, attachments, unix(conv.deps.clock))
    return await _go(conv, CONFIRM, draft)


async def reupload(deps: "Deps", peer_id: int, files: Sequence[IncomingFile]) -> tuple[str, ...]:
    """A person's attachment cannot be sent on by the community as it is: fetch it and upload it
    again as the community's own photo or document."""
    platform = _platform(deps)
    out = []
    for file in files:
        data = await platform.fetch(file.url)
        if file.kind == "photo":
            out.append(await platform.upload_photo(peer_id, file.name, data))
        else:
            out.append(await platform.upload_document(peer_id, file.name, data))
    return tuple(out)


async def own_recipient(conv: Conversation) -> Recipient:
    """The coordinator as a recipient (their name looked up if the bot does not know it)."""
    async with conv.deps.db.read() as tx:
        me = await tx.broadcasts.get_recipient(conv.person.vk_id)
    me = me or Recipient(vk_id=conv.person.vk_id)
    if not me.first_name:
        filled = await fill_names(conv.deps, [me])
        me = filled[0]
    return me


async def fill_names(deps: "Deps", people: list[Recipient]) -> list[Recipient]:
    """Names the bot does not have yet are asked from the platform (users.get, 1000 at a time)
    and kept, so personalisation never renders an empty name it could have known."""
    missing = [p.vk_id for p in people if not p.first_name and not p.erased]
    if not missing:
        return people
    try:
        names = await _platform(deps).names(missing)
    except PlatformError as exc:
        log.warning("could not look up names: %s", exc)
        return people
    if names:
        async with deps.db.transaction() as tx:
            for vk_id, (first, last) in names.items():
                await tx.users.update_name(vk_id, first, last)
    return [p.model_copy(update={"first_name": names[p.vk_id][0], "last_name": names[p.vk_id][1]})
            if not p.first_name and p.vk_id in names else p for p in people]


async def _confirm_screen(conv: Conversation, draft: Broadcast) -> list[Reply]:
    scope = _scope(conv)
    me = await own_recipient(conv)
    try:
        fill = compile_text(draft.text, variable_names(conv.deps.texts))
    except TemplateProblem as problem:
        return [_say(conv, problem.key, **problem.values), *await _go(conv, TEXT, draft)]
    preview = recipient_reply(conv.deps, fill, draft, me)
    count = await _count(conv.deps, draft.audience, scope)
    audience = await describe_audience(conv.deps, draft.audience, scope)
    length, who = await longest(conv.deps, fill, draft.audience, scope)
    split = await split_count(conv.deps, draft.audience, scope)
    keyboard = Keyboard.of(
        [_btn(conv, "btn.bc_now", SendNow(), "positive"), _btn(conv, "btn.bc_later", Later())],
        *_messenger_row(conv, draft),
        [_btn(conv, "btn.bc_edit", EditText()), *_quit_row(conv)], inline=True)
    return [_say(conv, "broadcasts.preview_intro"), preview,
            _say(conv, "broadcasts.confirm", keyboard, count=count, audience=audience, split=split,
                 personal=bool(fill.fields), longest=length, limit=TEXT_MAX, **_who(who))]


def _who(recipient: Recipient | None) -> dict[str, str]:
    """Where the longest text goes, told by its organisation (or municipality), never a name."""
    if recipient is None:
        return {"org": "", "place": ""}
    return {"org": relayed(recipient.org_name or "", 120),
            "place": relayed(recipient.municipality_name or "", 120)}


@for_coordinators
async def edit_text(conv: Conversation) -> list[Reply]:
    draft = await _checked(conv, EditText)
    if isinstance(draft, list):
        return draft
    return await _go(conv, TEXT, draft)


@for_coordinators
async def send_now(conv: Conversation) -> list[Reply]:
    draft = await _checked(conv, SendNow)
    if isinstance(draft, list):
        return draft
    now = unix(conv.deps.clock)
    async with conv.deps.db.transaction() as tx:
        await tx.broadcasts.update_scheduled(draft.id, now, now)
        await tx.users.update_state(conv.person.vk_id, "menu", {}, now)
        await tx.audit.insert_entry(conv.person.vk_id, "broadcast_send",
                                    {"municipality_id": _scope(conv), "broadcast": draft.id,
                                     "audience": draft.audience.model_dump(exclude_none=True)}, now)
    conv.person = conv.person.model_copy(update={"state": "menu", "state_data": {}})
    await _service(conv.deps).launch(draft.id)
    return []  # the status message the service sent is the answer


@for_coordinators
async def later(conv: Conversation) -> list[Reply]:
    draft = await _checked(conv, Later)
    if isinstance(draft, list):
        return draft
    return await _go(conv, WHEN, draft)


def quick_times(now: datetime, tz: str) -> list[int]:
    """«In an hour», «today 18:00» (if still ahead), «tomorrow 09:00», «tomorrow 15:00»."""
    local = now.astimezone(ZoneInfo(tz))
    hour = (local + timedelta(hours=1)).replace(second=0, microsecond=0)
    hour = hour.replace(minute=(hour.minute // 5) * 5)
    out = [hour]
    evening = local.replace(hour=18, minute=0, second=0, microsecond=0)
    if evening - local > timedelta(hours=1, minutes=30):
        out.append(evening)
    tomorrow = local + timedelta(days=1)
    out += [tomorrow.replace(hour=9, minute=0, second=0, microsecond=0),
            tomorrow.replace(hour=15, minute=0, second=0, microsecond=0)]
    return [int(t.timestamp()) for t in out]


async def _when_screen(conv: Conversation, draft: Broadcast) -> list[Reply]:
    tz = await _timezone(conv)
    rows = []
    for at in quick_times(conv.deps.clock.now(), tz):
        rows.append([_btn(conv, "btn.bc_at", SendAt(t=at), when=local_time(at, tz, short=True))])
    return [_say(conv, "broadcasts.when", Keyboard.of(*rows, _quit_row(conv), inline=True),
                 tz=_zone(conv, tz),
                 example=local_time(quick_times(conv.deps.clock.now(), tz)[-2], tz))]


def parse_time(text: str, now: datetime, tz: str, words: dates.Words) -> tuple[int | None, str]:
    """(unix time, "") for «25.11 14:30», «25.11.2026 14:30», «14:30» (today), «завтра в 10:00»,
    «в пятницу в 9 утра»… in the given time zone (core.dates); else (None, the text key that
    says why). A day and month that already passed this year are refused, not moved a year on:
    nobody schedules a broadcast a year ahead."""
    phrase = dates.parse(text, now.astimezone(ZoneInfo(tz)).date(), words)
    if phrase is None:
        return None, "broadcasts.when_unclear"
    if phrase.at is None:
        return None, "broadcasts.when_no_time"
    if phrase.rolled:
        return None, "broadcasts.when_past"
    return int(dates.moment(phrase, tz).timestamp()), ""


async def _when_typed(conv: Conversation, draft: Broadcast, text: str,
                      files: tuple[IncomingFile, ...]) -> list[Reply]:
    tz = await _timezone(conv)
    words = dates.words_of(conv.deps.texts)
    at, error = parse_time(text, conv.deps.clock.now(), tz, words)
    if at is None:
        examples = dates.examples(conv.deps.clock.now(), tz, words)
        return prefixed(conv.deps.texts.render(error, moment=examples["moment"]),
                        await _when_screen(conv, draft))
    return await _schedule(conv, draft, at)


@for_coordinators
async def send_at(conv: Conversation, at: int) -> list[Reply]:
    draft = await _checked(conv, SendAt)
    if isinstance(draft, list):
        return draft
    return await _schedule(conv, draft, at)


async def _schedule(conv: Conversation, draft: Broadcast, at: int) -> list[Reply]:
    now = unix(conv.deps.clock)
    if at <= now + 60:
        return prefixed(conv.deps.texts.render("broadcasts.when_past"),
                        await _when_screen(conv, draft))
    tz = await _timezone(conv)
    async with conv.deps.db.transaction() as tx:
        await tx.broadcasts.update_scheduled(draft.id, at, now)
        await tx.audit.insert_entry(conv.person.vk_id, "broadcast_schedule",
                                    {"municipality_id": _scope(conv), "broadcast": draft.id,
                                     "send_at": at,
                                     "audience": draft.audience.model_dump(exclude_none=True)}, now)
    count = await _count(conv.deps, draft.audience, _scope(conv))
    split = await split_count(conv.deps, draft.audience, _scope(conv))
    keyboard = Keyboard.of([_btn(conv, "btn.bc_cancel", CancelBroadcast(id=draft.id), "negative",
                                 id=draft.id)], inline=True)
    done = _say(conv, "broadcasts.scheduled", keyboard, id=draft.id, when=_moment(conv, at, tz),
                tz=_zone(conv, tz), count=count, split=split)
    async with conv.deps.db.transaction() as tx:
        await tx.users.update_state(conv.person.vk_id, "menu", {}, now)
    conv.person = conv.person.model_copy(update={"state": "menu", "state_data": {}})
    return [done]


@for_coordinators
async def quit_draft(conv: Conversation) -> list[Reply]:
    """Leave the dialog; the abandoned draft stays a draft (never sent, not in the history)."""
    return await _to_menu(conv, _say(conv, "broadcasts.quit"))


@for_coordinators
async def typed(conv: Conversation, files: tuple[IncomingFile, ...]) -> list[Reply]:
    """Text, a photo or a document typed in one of the dialog's states."""
    draft = await _draft(conv)
    step = FLOW.get(conv.person.state)
    if draft is None or step is None:
        return await _to_menu(conv)
    if step.typed is None:
        return prefixed(conv.deps.texts.render("broadcasts.use_buttons"),
                        await step.screen(conv, draft))
    return await step.typed(conv, draft, conv.incoming.text, files)


async def _checked(conv: Conversation, model: type[Payload]) -> Broadcast | list[Reply]:
    """The draft if this button belongs to the state the coordinator is in, else the polite
    «outdated button» answer and the current screen."""
    draft = await _draft(conv)
    if draft is None or conv.person.state not in PAYLOAD_STATES.get(model, ()):
        return await _outdated(conv)
    return draft


async def _outdated(conv: Conversation) -> list[Reply]:
    return prefixed(conv.deps.texts.render("input.bad_button"), await current_screen(conv))


@dataclass(frozen=True)
class Step:
    screen: Callable[[Conversation, Broadcast], Awaitable[list[Reply]]]
    typed: Callable[[Conversation, Broadcast, str, tuple[IncomingFile, ...]],
                    Awaitable[list[Reply]]] | None = None


FLOW: dict[str, Step] = {
    AUDIENCE: Step(_audience_screen),
    ROLE: Step(_role_screen),
    MUNICIPALITY: Step(_municipality_screen, _municipality_typed),
    ORG: Step(_org_screen, _org_typed),
    STEP: Step(_step_screen),
    DIFFICULTY: Step(_difficulty_screen),
    TEXT: Step(_text_screen, _text_typed),
    CONFIRM: Step(_confirm_screen),
    WHEN: Step(_when_screen, _when_typed),
}


# -- cancel, history, opting out -------------------------------------------------------------
@for_coordinators
async def cancel(conv: Conversation, broadcast_id: int) -> list[Reply]:
    scope = _scope(conv)
    async with conv.deps.db.read() as tx:
        broadcast = await tx.broadcasts.get_broadcast(broadcast_id, scope)
    if broadcast is None or broadcast.status == "draft":
        return [_say(conv, "broadcasts.not_found", id=broadcast_id)]
    if broadcast.status not in ("scheduled", "running"):
        return [_say(conv, "broadcasts.cannot_cancel", id=broadcast_id,
                     status=conv.deps.texts.render(f"broadcasts.status_{broadcast.status}"))]
    report = await _service(conv.deps).cancel(broadcast, conv.person.vk_id)
    await _audit(conv, "broadcast_cancel", broadcast=broadcast_id, was=broadcast.status)
    if report is None:
        return [_say(conv, "broadcasts.cannot_cancel", id=broadcast_id,
                     status=conv.deps.texts.render("broadcasts.status_done"))]
    return [report]


@for_coordinators
async def cancel_typed(conv: Conversation, args: str) -> list[Reply]:
    number = args.strip().lstrip("№#").strip()
    if not number.isdigit():
        return [_say(conv, "broadcasts.cancel_usage")]
    return await cancel(conv, int(number))


@for_coordinators
async def history(conv: Conversation) -> list[Reply]:
    scope = _scope(conv)
    async with conv.deps.db.read() as tx:
        items = await tx.broadcasts.list_broadcasts(scope, HISTORY)
    await _audit(conv, "broadcast_history")
    if not items:
        return [_say(conv, "broadcasts.history_empty",
                     Keyboard.of([_btn(conv, "btn.bc_new", NewBroadcast(), "primary")], inline=True))]
    tz = await _timezone(conv)
    lines = []
    for b in items:
        lines.append({
            "id": b.id, "status": conv.deps.texts.render(
                "broadcasts.status_withheld" if b.cancel_reason == "rights"
                else f"broadcasts.status_{b.status}"),
            "audience": await describe_audience(conv.deps, b.audience, scope),
            "when": _moment(conv, b.send_at or b.created_at, tz),
            "recipients": b.recipients, "delivered": b.delivered,
            "text": b.text[:60] + ("…" if len(b.text) > 60 else ""),
        })
    cancellable = [b for b in items if b.status in ("scheduled", "running")][:4]
    rows = [[_btn(conv, "btn.bc_cancel", CancelBroadcast(id=b.id), "negative", id=b.id)]
            for b in cancellable]
    rows.append([_btn(conv, "btn.bc_new", NewBroadcast(), "primary")])
    return [_say(conv, "broadcasts.history", Keyboard.of(*rows, inline=True), items=lines,
                 tz=_zone(conv, tz))]


async def set_broadcasts(conv: Conversation, on: bool) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        await tx.users.update_flags(conv.person.vk_id, broadcasts_on=on)
    if on:
        return [_say(conv, "broadcasts.on_done", Keyboard.of(
            [_btn(conv, "btn.bc_off", BroadcastsOff())], inline=True))]
    return [_say(conv, "broadcasts.off_done", Keyboard.of(
        [_btn(conv, "btn.bc_on", BroadcastsOn())], inline=True))]


# -- sending: the audience, streamed ---------------------------------------------------------
AUDIENCE_PAGE = 10_000  # people read from the database at a time


class _Stream:
    """A broadcast's messages, page by page: one Multicast per page when the text is the same
    for everyone, one Outgoing per person when it names them (names looked up per page)."""

    def __init__(self, deps: "Deps", broadcast: Broadcast, template: FillIn) -> None:
        self.deps = deps
        self.broadcast = broadcast
        self.template = template
        self.personal = bool(template.fields)
        self.count = 0
        self.count_max = 0  # of them, people in MAX (negative ids)

    async def messages(self) -> AsyncIterator[Outgoing | Multicast]:
        deps, broadcast = self.deps, self.broadcast
        job = job_of(broadcast.id)
        audience, scope = broadcast.audience, broadcast.scope_municipality_id
        same = None if self.personal else recipient_reply(
            deps, self.template, broadcast, Recipient(vk_id=0))
        after = BEFORE_EVERYONE  # MAX people's ids are negative
        while True:
            async with deps.db.read() as tx:
                if same is not None:
                    ids = await tx.broadcasts.list_audience_ids(audience, scope, after,
                                                                AUDIENCE_PAGE)
                else:
                    people = await tx.broadcasts.list_audience_page(audience, scope, after,
                                                                    AUDIENCE_PAGE)
                    ids = [p.vk_id for p in people]
            if not ids:
                return
            after = ids[-1]
            self.count += len(ids)
            self.count_max += sum(1 for i in ids if i < 0)
            if same is not None:
                yield Multicast(ids, same, "broadcast", job)
                continue
            keyboard = optout_keyboard(deps)  # one object: encoded once for the whole job
            for person in await fill_names(deps, people):
                # plain substitution, bounded by TEXT_MAX: a page renders in milliseconds
                reply = Reply(render_text(self.template, person), keyboard,
                              broadcast.attachments, template="broadcasts.message")
                yield Outgoing(person.vk_id, reply, "broadcast", job)
            await asyncio.sleep(0)  # let others' messages through between pages


# -- sending: the service --------------------------------------------------------------------
class BroadcastService:
    """Sends due broadcasts (``tick``, every TICK_EVERY s while running; tests call it), follows
    their progress through the sender's progress hooks and reports the result."""

    def __init__(self, deps: "Deps", tick_every: float = TICK_EVERY) -> None:
        self.deps = deps
        self.tick_every = tick_every
        self._task: asyncio.Task[None] | None = None
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._dirty: set[int] = set()
        self._edited_at: dict[int, float] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self.progress_every = PROGRESS_EVERY  # seconds between edits of the status message

    # lifecycle
    async def start(self) -> None:
        hooks = getattr(self.deps.messenger, "progress_hooks", None)
        if hooks is not None and self.on_progress not in hooks:
            hooks.append(self.on_progress)
        await self.resume()
        self._task = asyncio.create_task(self._loop(), name="broadcasts")

    async def stop(self) -> None:
        hooks = getattr(self.deps.messenger, "progress_hooks", None)
        if hooks is not None and self.on_progress in hooks:
            hooks.remove(self.on_progress)
        tasks = [t for t in (self._task, *self._workers.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_every)
            try:
                await self.tick()
            except Exception:
                log.exception("broadcast tick failed")

    async def resume(self) -> None:
        """After a restart: a running broadcast whose audience was not all queued is queued
        again (the outbox keeps what it has: a person is queued once per job); one that has
        nothing pending is reported."""
        async with self.deps.db.read() as tx:
            running = await tx.broadcasts.list_running()
        for broadcast in running:
            async with self.deps.db.read() as tx:
                counts = await tx.outbox.get_job_counts(job_of(broadcast.id))
            if not counts.complete:
                await self._enqueue(broadcast)
            elif counts.pending == 0:
                await self._progress(broadcast.id)

    async def tick(self) -> int:
        """Start every scheduled broadcast that is due; returns how many were started."""
        async with self.deps.db.read() as tx:
            due = await tx.broadcasts.list_due(unix(self.deps.clock))
        started = 0
        for broadcast in due:
            started += await self.launch(broadcast.id)
        return started

    async def launch(self, broadcast_id: int) -> bool:
        """Claim a scheduled broadcast and send it, if its author still has the right to send
        to its territory now (rights are re-checked at send time, not only when it was
        composed); otherwise it is withheld and the bot admins are told."""
        now = unix(self.deps.clock)
        held = False
        async with self.deps.db.transaction() as tx:
            broadcast = await tx.broadcasts.get_broadcast(broadcast_id, None)
            if broadcast is None:
                return False
            author = await access_of(tx, self.deps.settings.access, broadcast.author_vk_id)
            if author.scope.covers(Scope.of_grant(broadcast.scope_municipality_id)):
                claimed = await tx.broadcasts.update_running(broadcast_id, now)
            else:
                claimed = False
                held = await tx.broadcasts.update_withheld(broadcast_id, now)
            broadcast = await tx.broadcasts.get_broadcast(broadcast_id, None)
        if held and broadcast is not None:
            await self.tell_admins_withheld([broadcast])
        if not claimed or broadcast is None:
            return False
        await self._enqueue(broadcast)
        return True

    async def withhold_unauthorised(self, author_vk_id: int,
                                    told: int | None = None) -> list[Broadcast]:
        """After a coordinator's rights were revoked or narrowed: every scheduled or running
        broadcast of theirs outside what they may now reach is stopped (nothing more is sent)
        and the bot admins are told (except ``told``, the admin who revoked: their answer
        lists them). The author is sent nothing (no cancel button either)."""
        now = unix(self.deps.clock)
        async with self.deps.db.transaction() as tx:
            author = await access_of(tx, self.deps.settings.access, author_vk_id)
            active = await tx.broadcasts.list_active_by_author(author_vk_id)
            stopped = [b for b in active
                       if not author.scope.covers(Scope.of_grant(b.scope_municipality_id))]
        withheld: list[Broadcast] = []
        for broadcast in stopped:
            if broadcast.status == "running":
                await self.deps.messenger.cancel_bulk(job_of(broadcast.id))  # type: ignore[attr-defined]
            lock = self._locks.setdefault(broadcast.id, asyncio.Lock())
            async with lock:
                async with self.deps.db.transaction() as tx:
                    counts = await tx.outbox.get_job_counts(job_of(broadcast.id))
                    ok = await tx.broadcasts.update_withheld(
                        broadcast.id, now, counts.delivered, counts.not_allowed, counts.failed)
                    fresh = await tx.broadcasts.get_broadcast(broadcast.id, None)
            if ok and fresh is not None:
                withheld.append(fresh)
                if fresh.status_peer_id and fresh.status_message_id:  # the button goes away
                    await self.deps.messenger.edit(
                        fresh.status_peer_id, fresh.status_message_id,
                        Reply(self.deps.texts.render("broadcasts.withheld_status", id=fresh.id),
                              template="broadcasts.withheld_status"))
                self._forget(broadcast.id)
        if withheld:
            await self.tell_admins_withheld(withheld, skip=told)
        return withheld

    async def withheld_notice(self, withheld: list[Broadcast]) -> Reply:
        deps = self.deps
        tz = timezone_name(deps, None)
        now = deps.clock.now()
        authors = await people(deps, {b.author_vk_id for b in withheld})
        items = [{"id": b.id,
                  "author": deps.texts.render("people.card",
                                              **authors[b.author_vk_id].values(deps.texts)),
                  "when": moment_words(deps.texts, b.send_at or b.created_at, tz, now),
                  "audience": await describe_audience(deps, b.audience, b.scope_municipality_id),
                  "delivered": b.delivered,
                  "text": b.text[:200] + ("…" if len(b.text) > 200 else "")} for b in withheld]
        key = "broadcasts.withheld_admins"
        return Reply(deps.texts.render(key, items=items, tz=zone_phrase(deps.texts, tz, now)),
                     template=key)

    async def tell_admins_withheld(self, withheld: list[Broadcast], skip: int | None = None) -> None:
        notice = await self.withheld_notice(withheld)
        ids = "-".join(str(b.id) for b in withheld)
        await self.deps.messenger.send(
            [Outgoing(admin, notice, "notice", f"broadcast-withheld:{ids}")
             for admin in sorted(self.deps.settings.access.admins) if admin != skip])

    async def _enqueue(self, broadcast: Broadcast) -> None:
        """Count the audience, post the status message, then stream the audience into the
        outbox page by page (the sender starts on the first page)."""
        deps = self.deps
        job = job_of(broadcast.id)
        scope = broadcast.scope_municipality_id
        async with deps.db.read() as tx:
            if deps.settings.max.enabled:
                counted = await tx.broadcasts.count_audience_by_messenger(broadcast.audience,
                                                                          scope)
                total, in_max = counted["vk"] + counted["max"], counted["max"]
            else:
                total, in_max = await tx.broadcasts.count_audience(broadcast.audience, scope), 0
        try:
            template = compile_text(broadcast.text, variable_names(deps.texts))
        except TemplateProblem as problem:  # validated at preview; only an edited DB gets here
            log.error("broadcast %s: template failed: %s", broadcast.id, problem.key)
            template, total, in_max = None, 0, 0
        now = unix(deps.clock)
        async with deps.db.transaction() as tx:
            await tx.broadcasts.update_recipients(broadcast.id, total, now, in_max)
        split = self._split_progress(broadcast.audience, {}, total, in_max)
        status = self._progress_reply(broadcast.id, 0, total, split)
        sent = await deps.messenger.send([Outgoing(broadcast.author_vk_id, status, "notice",
                                                   f"broadcast-status:{broadcast.id}")])
        async with deps.db.transaction() as tx:
            await tx.broadcasts.update_status_message(broadcast.id, broadcast.author_vk_id,
                                                      sent[0].message_id if sent else None)
        self._edited_at[broadcast.id] = monotonic()
        stream = _Stream(deps, broadcast, template) if template is not None and total else None
        # Queued even when empty: the job is then complete at once and the report follows.
        await deps.messenger.enqueue_bulk(job, stream.messages() if stream else [])
        if stream is not None and (stream.count, stream.count_max) != (total, in_max):
            async with deps.db.transaction() as tx:  # people joined or left meanwhile
                await tx.broadcasts.update_recipients(broadcast.id, stream.count,
                                                      unix(deps.clock), stream.count_max)

    def _split_progress(self, audience: Audience, done: dict[str, int], total: int,
                        in_max: int) -> str:
        """«VK: 400 из 1200, MAX: 100 из 300» for a broadcast to both messengers, else ""."""
        if not split_shown(self.deps, audience):
            return ""
        return self.deps.texts.render("broadcasts.by_messenger_of", vk=done.get("vk", 0),
                                      vk_total=total - in_max, max=done.get("max", 0),
                                      max_total=in_max)

    async def _done_by_messenger(self, broadcast: Broadcast) -> tuple[dict[str, Any], str]:
        """Per messenger: the job's counts and how many are done; ({}, "") for one messenger."""
        if not split_shown(self.deps, broadcast.audience):
            return {}, ""
        async with self.deps.db.read() as tx:
            per = await tx.outbox.get_job_counts_by_messenger(job_of(broadcast.id))
        done = {m: c.delivered + c.not_allowed + c.failed for m, c in per.items()}
        return per, self._split_progress(broadcast.audience, done, broadcast.recipients,
                                         broadcast.recipients_max)

    def _progress_reply(self, broadcast_id: int, done: int, total: int, split: str = "") -> Reply:
        texts = self.deps.texts
        keyboard = Keyboard.of([Button(texts.label("btn.bc_cancel", id=broadcast_id),
                                       CancelBroadcast(id=broadcast_id).dump(), "negative")],
                               inline=True)
        return Reply(texts.render("broadcasts.progress", id=broadcast_id, done=done, total=total,
                                  split=split), keyboard, template="broadcasts.progress")

    # progress
    async def on_progress(self, jobs: set[str]) -> None:
        for job in jobs:
            kind, _, number = job.partition(":")
            if kind != "broadcast" or not number.isdigit():
                continue
            broadcast_id = int(number)
            self._dirty.add(broadcast_id)
            if broadcast_id not in self._workers:
                self._workers[broadcast_id] = asyncio.create_task(self._work(broadcast_id))

    async def _work(self, broadcast_id: int) -> None:
        try:
            while broadcast_id in self._dirty:
                self._dirty.discard(broadcast_id)
                try:
                    await self._progress(broadcast_id)
                except Exception:
                    log.exception("broadcast %s: progress update failed", broadcast_id)
        finally:
            self._workers.pop(broadcast_id, None)

    async def _progress(self, broadcast_id: int) -> None:
        lock = self._locks.setdefault(broadcast_id, asyncio.Lock())
        async with lock:
            async with self.deps.db.read() as tx:
                broadcast = await tx.broadcasts.get_broadcast(broadcast_id, None)
                counts = await tx.outbox.get_job_counts(job_of(broadcast_id))
            if broadcast is None or broadcast.status != "running":
                return
            done = counts.delivered + counts.not_allowed + counts.failed + counts.cancelled
            if counts.pending == 0 and counts.complete:
                await self._finish(broadcast, counts)
                return
            if monotonic() - self._edited_at.get(broadcast_id, 0.0) < self.progress_every:
                return
            self._edited_at[broadcast_id] = monotonic()
            if broadcast.status_peer_id and broadcast.status_message_id:
                _, split = await self._done_by_messenger(broadcast)
                await self.deps.messenger.edit(
                    broadcast.status_peer_id, broadcast.status_message_id,
                    self._progress_reply(broadcast_id, done, broadcast.recipients, split))

    async def _finish(self, broadcast: Broadcast, counts: Any) -> None:
        async with self.deps.db.transaction() as tx:
            finished = await tx.broadcasts.update_finished(
                broadcast.id, counts.delivered, counts.not_allowed, counts.failed,
                unix(self.deps.clock))
        if not finished:
            return
        report = await self._report("broadcasts.report", broadcast, counts)
        await self._close_status(broadcast, counts, cancelled=False)
        await self.deps.messenger.send([Outgoing(broadcast.author_vk_id, report, "notice",
                                                 f"broadcast-report:{broadcast.id}")])
        self._forget(broadcast.id)

    async def _report(self, key: str, broadcast: Broadcast, counts: Any) -> Reply:
        per, _ = await self._done_by_messenger(broadcast)
        split: dict[str, str] = {}
        if per:  # each figure per messenger: «Доставлено: 1450 (VK: 1170, MAX: 280)»
            vk, mx = per["vk"], per["max"]
            split = {"total": by_messenger(self.deps, broadcast.recipients
                                           - broadcast.recipients_max, broadcast.recipients_max)}
            for figure in ("delivered", "not_allowed", "failed", "cancelled"):
                split[figure] = by_messenger(self.deps, getattr(vk, figure), getattr(mx, figure))
        return Reply(self.deps.texts.render(
            key, id=broadcast.id, total=broadcast.recipients, delivered=counts.delivered,
            not_allowed=counts.not_allowed, failed=counts.failed, cancelled=counts.cancelled,
            split=split, reach=self._reach(broadcast)), template=key)

    def _reach(self, broadcast: Broadcast) -> str:
        """Whom it went to: "both" messengers, "max" or "vk" only (what «not allowed» means)."""
        if split_shown(self.deps, broadcast.audience):
            return "both"
        only_max = broadcast.audience.messenger == "max" or self.deps.settings.vk is None
        return "max" if only_max else "vk"

    async def _close_status(self, broadcast: Broadcast, counts: Any, cancelled: bool) -> None:
        """The status message ends as a last progress line without the cancel button; the
        report itself is one new message (it notifies the coordinator, an edit does not)."""
        if not (broadcast.status_peer_id and broadcast.status_message_id):
            return
        done = counts.delivered + counts.not_allowed + counts.failed
        _, split = await self._done_by_messenger(broadcast)
        final = Reply(self.deps.texts.render("broadcasts.progress_final", id=broadcast.id,
                                             done=done, total=broadcast.recipients,
                                             cancelled=cancelled, split=split),
                      template="broadcasts.progress_final")
        await self.deps.messenger.edit(broadcast.status_peer_id, broadcast.status_message_id,
                                       final)

    def _forget(self, broadcast_id: int) -> None:
        self._edited_at.pop(broadcast_id, None)
        self._locks.pop(broadcast_id, None)

    async def cancel(self, broadcast: Broadcast, by: int) -> Reply | None:
        """Stop a scheduled or running broadcast; what is not sent yet is never sent. Returns
        the report for whoever cancelled it, or None if it had already finished."""
        job = job_of(broadcast.id)
        if broadcast.status == "running":
            await self.deps.messenger.cancel_bulk(job)  # type: ignore[attr-defined]
        lock = self._locks.setdefault(broadcast.id, asyncio.Lock())
        async with lock:
            async with self.deps.db.transaction() as tx:
                counts = await tx.outbox.get_job_counts(job)
                ok = await tx.broadcasts.update_cancelled(
                    broadcast.id, by, counts.delivered, counts.not_allowed, counts.failed,
                    unix(self.deps.clock))
                fresh = await tx.broadcasts.get_broadcast(broadcast.id, None)
        if not ok or fresh is None:
            return None
        if broadcast.status == "scheduled":
            return Reply(self.deps.texts.render("broadcasts.cancelled_scheduled", id=broadcast.id),
                         template="broadcasts.cancelled_scheduled")
        report = await self._report("broadcasts.report_cancelled", fresh, counts)
        await self._close_status(fresh, counts, cancelled=True)
        self._forget(broadcast.id)
        return report
