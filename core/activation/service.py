"""The 8-step profile activation (seed 001, «Схема активации профиля и регистрации сотрудников»):
the organisation admin's path. Staff: ``core.staff_registration``; coordinators:
``core.coordination``; consent and «Мои данные»: ``core.personal_data``.

The whole flow is the tables below: FORM (the application, step 1), STEPS (the organisation's
steps 1..8, 9 = activated) and APP_FLOW (the application statuses that move steps 1..3).

States of the admin (users.state):
    activation:consent   the consent is shown; «Даю согласие» -> activation:form
    activation:form      the application form; application_drafts.data["field"] is the field asked
    activation:step      on the organisation's step: organisations.step (STEPS)

Progress lives in SQLite (organisations.step, application_drafts, applications), so it survives
restarts. Every change re-reads the organisation inside its transaction: a button of an earlier
step (an old message, a second device, a colleague) is answered politely and not applied.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from core.kernel import dates
from core.kernel.clock import unix
from core.kernel.conversation import Conversation
from core.kernel.menu import main_menu, menu_button
from core.kernel.outgoing import Outgoing
from core.kernel.ui import Button, Keyboard, Reply, prefixed
from core.kernel.untrusted import relayed
from core.activation.payloads import (
    ActOpen,
    ChooseStructure,
    FormBack,
    FormKeep,
    FormKind,
    FormMunicipality,
    FormPage,
    FormRestart,
    FormSkip,
    FormSubmit,
    InviteText,
    PassProblem,
    Platform,
    StaffList,
    StepBack,
    StepDone,
    StepHelp,
    WhereAmI,
)
from storage import Tx

# ------------------------------------------------------------------------------------------------
# The tables
# ------------------------------------------------------------------------------------------------

TOTAL_STEPS = 8
ACTIVATED = 9
ORG_KINDS = ("school", "college", "extra", "preschool", "office", "method")


@dataclass(frozen=True)
class Step:
    """One step of the scheme. Texts: activation.steps.<key>.{title,text,help}."""

    number: int
    key: str
    actor: Literal["admin", "coordinator"]
    done: str | None = None          # label of «Готово»; None: nothing for the admin to press
    requires: tuple[str, ...] = ()   # organisation fields that must be set before «Готово»
    back: int | None = None          # where «Назад» leads
    next: int = 0
    extras: tuple[str, ...] = ()     # step-specific button rows (see _extra_rows)


STEPS: dict[int, Step] = {
    1: Step(1, "application", "admin", next=2),                        # the form; «Отправить»
    2: Step(2, "handover", "coordinator", next=3, extras=("status",)),  # coordinators act
    3: Step(3, "informed", "admin", done="btn.act_done", next=4),
    4: Step(4, "register", "admin", done="btn.act_registered", back=3, next=5,
            extras=("sferum",)),
    5: Step(5, "structure", "admin", done="btn.act_done", requires=("structure", "registration_link"),
            back=4, next=6, extras=("structure",)),
    6: Step(6, "staff", "admin", done="btn.act_done", requires=("staff_deadline", "invite_code"),
            back=5, next=7, extras=("staff",)),
    7: Step(7, "app", "admin", done="btn.act_done", back=6, next=8, extras=("platforms", "web")),
    8: Step(8, "chats", "admin", done="btn.act_done", back=7, next=ACTIVATED),
}


@dataclass(frozen=True)
class AppStatus:
    """An application status: where it puts the organisation and where it may go next."""

    name: str
    org_step: int
    next: frozenset[str]


# «новая» -> «передана федеральным координаторам» -> «профиль создан» / «отклонена».
APP_FLOW: dict[str, AppStatus] = {
    "new": AppStatus("new", 2, frozenset({"sent", "created", "rejected"})),
    "sent": AppStatus("sent", 2, frozenset({"created", "rejected"})),
    "created": AppStatus("created", 3, frozenset()),
    "rejected": AppStatus("rejected", 1, frozenset()),
}

# The application form (step 1), asked in this order after the consent.
FORM: tuple[str, ...] = ("org_name", "kind", "municipality", "full_name", "phone", "email",
                         "confirm")
REQUIRED = ("org_name", "kind", "municipality_id", "full_name", "phone")

# ------------------------------------------------------------------------------------------------
# Pure checks of what people type (unit-tested in tests/test_activation_logic.py)
# ------------------------------------------------------------------------------------------------

Parsed = tuple[Any, str | None]  # (value, None) or (None, error code)


def parse_phone(text: str) -> Parsed:
    """A Russian mobile number in any usual spelling -> "+7XXXXXXXXXX"."""
    raw = text.strip()
    if not raw or re.search(r"[^\d\s()+\-.]", raw):
        return None, "phone_letters"
    if raw.count("+") > 1 or ("+" in raw and not raw.startswith("+")):
        return None, "phone_letters"
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+"):
        if digits.startswith("8") and len(digits) == 11:
            digits = "7" + digits[1:]
        elif not digits.startswith("7"):
            return None, "phone_foreign"
    elif len(digits) == 11 and digits[0] in "78":
        digits = "7" + digits[1:]
    elif len(digits) == 10 and digits.startswith("9"):
        digits = "7" + digits
    if len(digits) < 11:
        return None, "phone_short"
    if len(digits) > 11:
        return None, "phone_long"
    if not digits.startswith("7"):
        return None, "phone_foreign"
    if digits[1] != "9":
        return None, "phone_not_mobile"
    return "+" + digits, None


_NAME_WORD = re.compile(r"^[^\W\d_]+(?:[-'’.][^\W\d_]*)*\.?$")


def parse_full_name(text: str) -> Parsed:
    words = text.split()
    if not 2 <= len(words) <= 5 or len(text) > 150:
        return None, "name_format"
    if not all(_NAME_WORD.match(w) for w in words):
        return None, "name_format"
    return " ".join(words), None


def parse_org_name(text: str) -> Parsed:
    name = " ".join(text.split())
    if len(name) < 3 or not any(c.isalpha() for c in name):
        return None, "org_name_short"
    if len(name) > 300:
        return None, "org_name_long"
    return name, None


_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"'.]{2,}$")


def parse_email(text: str) -> Parsed:
    email = text.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        return None, "email_format"
    return email, None


# Direct registration links: the seeds show https://sferum.ru and https://web.vk.me/; Sferum runs
# on VK, so VK's domains are accepted too. The site's front page is not a direct link.
ALLOWED_LINK_DOMAINS = ("sferum.ru", "vk.com", "vk.me", "vk.ru")
LINK_MAX = 500
_LINKISH = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|(?:[\w-]+\.)+[a-z]{2,}(?:[/?#]|$))", re.I)


def find_links(text: str) -> list[str]:
    """Words of the text that look like web addresses (with or without a scheme)."""
    return [w.strip(".,;:!?()«»\"'<>") for w in text.split() if _LINKISH.match(w.strip("«»\"'<>("))]


def check_link(candidate: str, own_group_id: int | None = None) -> Parsed:
    link = candidate.strip()
    if "://" not in link:
        link = "https://" + link
    if len(link) > LINK_MAX:
        return None, "link_format"
    try:
        parts = urlsplit(link)
        port = parts.port
    except ValueError:
        return None, "link_format"
    if parts.scheme.lower() == "http":
        return None, "link_not_https"
    if parts.scheme.lower() != "https" or not parts.hostname:
        return None, "link_format"
    if parts.username or parts.password or port not in (None, 443):
        return None, "link_domain"
    host = parts.hostname.lower().rstrip(".")
    if not any(host == d or host.endswith("." + d) for d in ALLOWED_LINK_DOMAINS):
        return None, "link_domain"
    if parts.path in ("", "/") and not parts.query and not parts.fragment:
        return None, "link_site_root"
    if own_group_id is not None and host == "vk.me" and \
            parts.path.rstrip("/").lower() == f"/club{own_group_id}":
        return None, "link_own_invite"
    return link, None


def parse_links(text: str, own_group_id: int | None = None) -> Parsed:
    """All links of a message (a full structure may have one per department), each checked."""
    found = find_links(text)
    if not found:
        return None, "link_format"
    links: list[str] = []
    for candidate in found:
        link, error = check_link(candidate, own_group_id)
        if error:
            return None, error
        if link not in links:
            links.append(link)
    return links[:10], None


_DATE = re.compile(r"^\s*(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2}|\d{4}))?\s*$")
_DATE_TAIL = re.compile(r"(?<=\d)[^\d]*$")  # «15.12.2026 г.», «15.12.2026 года»
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
DEADLINE_MAX_DAYS = 366


def looks_like_date(text: str) -> bool:
    """Digits that try to be a date («31.02.2027»): answered as a wrong date, not as a question."""
    text = _DATE_TAIL.sub("", text.strip())
    return bool(_DATE.match(text) or _ISO_DATE.match(text))


def parse_deadline(text: str, today: date, words: dates.Words) -> Parsed:
    """A staff deadline, today or later: «15.12.2026», «15.12», «до 15 декабря», «через неделю»,
    «в пятницу»… (core.dates; a day and month whose date has passed this year mean next year)."""
    phrase = dates.parse(text, today, words)
    if phrase is None or not phrase.day_given:
        return None, "date_format"
    if phrase.day < today:
        return None, "date_past"
    if phrase.day > today + timedelta(days=DEADLINE_MAX_DAYS):
        return None, "date_far"
    return phrase.day, None


# Invite codes use letters that look the same in Latin and Cyrillic, and no 0/O or 1/I, so a code
# read aloud or typed on a Russian keyboard still works.
CODE_ALPHABET = "ACEHKMPTXY23456789"
CODE_LENGTH = 7
# Cyrillic А С Е Н К М Р Т Х У В О (upper and lower case) -> their Latin look-alikes.
_TWIN_CODES = (0x410, 0x421, 0x415, 0x41D, 0x41A, 0x41C, 0x420, 0x422, 0x425, 0x423, 0x412, 0x41E)
_CYRILLIC_TWINS = str.maketrans(
    "".join(chr(c) for c in _TWIN_CODES) + "".join(chr(c + 0x20) for c in _TWIN_CODES),
    "ACEHKMPTXYB0" * 2)


def new_invite_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def twins_to_latin(text: str) -> str:
    """Cyrillic letters that look like the Latin ones of codes, as those Latin letters."""
    return text.translate(_CYRILLIC_TWINS)


def normalise_code(text: str) -> str | None:
    code = re.sub(r"[\s\-–—_]", "", text.strip().translate(_CYRILLIC_TWINS).upper())
    if len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code):
        return code
    return None


def invite_link(group_id: int, code: str) -> str:
    """VK passes ``ref`` with the first message written from this link (users.ref keeps it)."""
    return f"https://vk.me/club{group_id}?ref={code}"


def normalise_words(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.lower().replace("ё", "е")).split())


def has_phrase(text: str, phrases: list[str]) -> bool:
    padded = f" {normalise_words(text)} "
    return any(f" {p} " in padded for p in phrases if p)


def means_only(text: str, phrases: list[str], filler: list[str]) -> bool:
    """The whole message is these phrases, with only filler words around them: «я уже
    зарегистрировался», «готово, зарегистрировалась» — but not «Кто зарегистрировался» or
    «как узнать, кто зарегистрировался». Shortcuts that move a flow on need this."""
    rest = normalise_words(text).split()
    options = sorted((p.split() for p in phrases if p), key=len, reverse=True)
    found = False
    while rest:
        match = next((o for o in options if rest[:len(o)] == o), None)
        if match is not None:
            rest, found = rest[len(match):], True
        elif rest[0] in filler:
            rest = rest[1:]
        else:
            return False
    return found


# ------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------

STATE_CONSENT = "activation:consent"
STATE_FORM = "activation:form"
STATE_STEP = "activation:step"
MUNICIPALITIES_PAGE = 8


def t(conv: Conversation, key: str, **values: Any) -> str:
    return conv.deps.texts.render(key, **values)


def label(conv: Conversation, key: str, **values: Any) -> str:
    return conv.deps.texts.label(key, **values)


def reply(conv: Conversation, key: str, keyboard: Keyboard | None = None, **values: Any) -> Reply:
    return Reply(t(conv, key, **values), keyboard, template=key)


def words(conv: Conversation, kind: str) -> list[str]:
    """Phrases a person may type for an action (content/texts/activation.toml, [activation.words])."""
    raw = t(conv, f"activation.words.{kind}")
    return [normalise_words(w) for w in raw.split(",") if w.strip()]


def zone(conv: Conversation) -> ZoneInfo:
    return ZoneInfo(conv.deps.settings.region.timezone)


def today(conv: Conversation) -> date:
    return conv.deps.clock.now().astimezone(zone(conv)).date()


def date_words(conv: Conversation) -> dates.Words:
    return dates.words_of(conv.deps.texts)


def date_examples(conv: Conversation) -> dict[str, str]:
    """Example dates for the texts (``example`` «14.12.2026», ``example_words`` «14 декабря»),
    computed from today so they are never in the past."""
    found = dates.examples(conv.deps.clock.now(), conv.deps.settings.region.timezone,
                           date_words(conv))
    return {"example": found["date"], "example_words": found["words"]}


def local_date(conv: Conversation, stamp: int | None) -> str:
    if not stamp:
        return ""
    return datetime.fromtimestamp(stamp, zone(conv)).strftime("%d.%m.%Y")


def local_time(conv: Conversation, stamp: int | None) -> str:
    if not stamp:
        return ""
    return datetime.fromtimestamp(stamp, zone(conv)).strftime("%d.%m.%Y %H:%M")


def show_date(iso: str | None) -> str:
    return date.fromisoformat(iso).strftime("%d.%m.%Y") if iso else ""


def step_title(conv: Conversation, number: int) -> str:
    return t(conv, f"activation.steps.{STEPS[number].key}.title")


def kind_label(conv: Conversation, kind: str) -> str:
    return label(conv, f"btn.kind_{kind}")


async def set_state(conv: Conversation, tx: Tx, state: str, data: dict[str, Any] | None = None) -> None:
    await tx.users.update_state(conv.person.vk_id, state, data or {}, unix(conv.deps.clock))


async def own_org(tx: Tx, vk_id: int) -> Any:
    """The organisation this person is the admin of (re-read inside the caller's transaction)."""
    person = await tx.users.get_user(vk_id)
    org = await tx.activation.get_org(person.org_id if person else None)
    return org if org is not None and org.admin_vk_id == vk_id else None


def menu_entries(conv: Conversation) -> list[list[Button]]:
    """The feature's rows in the main menu, by role."""
    rows: list[list[Button]] = []
    if conv.person.role == "org_admin":
        rows.append([Button(label(conv, "btn.act_open"), ActOpen().dump(), "primary")])
    if conv.person.role == "staff":
        from core.activation.payloads import StaffOpen

        rows.append([Button(label(conv, "btn.stf_open"), StaffOpen().dump(), "primary")])
    if conv.access.coordinator:
        from core.coordination.payloads import Panel

        rows.append([Button(label(conv, "btn.crd_open"), Panel().dump())])
    return rows


def privacy_entries(conv: Conversation) -> list[list[Button]]:
    from core.personal_data.payloads import MyData

    return [[Button(label(conv, "btn.pd_open"), MyData().dump())]]


# ------------------------------------------------------------------------------------------------
# Entry and the screen of "activation:*"
# ------------------------------------------------------------------------------------------------


async def open_flow(conv: Conversation) -> list[Reply]:
    """«Активация профиля»: wherever the admin is — consent, the form, or their step."""
    from core.personal_data.service import ask_consent

    async with conv.deps.db.transaction() as tx:
        org = await own_org(tx, conv.person.vk_id)
        if org is not None:
            await set_state(conv, tx, STATE_STEP)
            return await _step_screen(conv, tx, org)
        consent = await tx.personal.get_consent(conv.person.vk_id)
        if consent is not None:
            draft = await tx.activation.get_draft(conv.person.vk_id)
            if draft is None:
                draft = {"field": FORM[0]}
                await tx.activation.upsert_draft(conv.person.vk_id, draft, unix(conv.deps.clock))
            await set_state(conv, tx, STATE_FORM)
            intro = "activation.form.resume" if len(draft) > 1 else "activation.form.intro"
            return prefixed(t(conv, intro), await _form_screen(conv, tx, draft))
    return await ask_consent(conv, "act")


async def start_form(conv: Conversation) -> list[Reply]:
    """Right after the consent was given."""
    return await open_flow(conv)


async def screen(conv: Conversation) -> list[Reply]:
    """What an admin in "activation:*" is looking at (shown again after a detour)."""
    if conv.person.state == STATE_CONSENT:
        from core.personal_data.service import consent_screen

        return consent_screen(conv, "act", full=False)
    async with conv.deps.db.read() as tx:
        if conv.person.state == STATE_FORM:
            draft = await tx.activation.get_draft(conv.person.vk_id)
            if draft is not None:
                return await _form_screen(conv, tx, draft)
        org = await own_org(tx, conv.person.vk_id)
        if org is not None:
            return await _step_screen(conv, tx, org)
    return [main_menu(conv)]


async def stale(conv: Conversation, key: str = "activation.stale") -> list[Reply]:
    from core.kernel.screens import current_screen

    return prefixed(t(conv, key), await current_screen(conv))


class StaleButton(Exception):
    """A button that no longer fits (an old message, a second device). Raised inside a
    transaction, which rolls back; answered outside it, where the screen can be read again."""


Handler = TypeVar("Handler", bound=Callable[..., Awaitable[list[Reply]]])


def answers_stale(func: Handler) -> Handler:
    @functools.wraps(func)
    async def wrapper(conv: Conversation, *args: Any, **kwargs: Any) -> list[Reply]:
        try:
            return await func(conv, *args, **kwargs)
        except StaleButton:
            return await stale(conv)

    return wrapper  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------------
# Step 1: the application form
# ------------------------------------------------------------------------------------------------


async def _municipalities(tx: Tx) -> list[Any]:
    return await tx.territory.list_municipalities()


def _form_keyboard(conv: Conversation, field: str, draft: dict[str, Any],
                   municipalities: list[Any]) -> Keyboard:
    rows: list[list[Button]] = []
    if field == "kind":
        kinds = [Button(kind_label(conv, k), FormKind(kind=k).dump()) for k in ORG_KINDS]  # type: ignore[arg-type]
        rows += [kinds[i:i + 2] for i in range(0, len(kinds), 2)]
    elif field == "municipality":
        pages = max(1, -(-len(municipalities) // MUNICIPALITIES_PAGE))
        page = min(int(draft.get("page", 0)), pages - 1)
        shown = municipalities[page * MUNICIPALITIES_PAGE:(page + 1) * MUNICIPALITIES_PAGE]
        buttons = [Button(m.name if len(m.name) <= 40 else m.name[:39] + "…",
                          FormMunicipality(id=m.id).dump()) for m in shown]
        rows += [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
        if pages > 1:
            rows.append([Button(label(conv, "btn.act_more"), FormPage(page=(page + 1) % pages).dump())])
    elif field == "email":
        rows.append([Button(label(conv, "btn.act_skip"), FormSkip().dump())])
    elif field == "confirm":
        rows.append([Button(label(conv, "btn.act_submit"), FormSubmit().dump(), "positive")])
        rows.append([Button(label(conv, "btn.act_fix"), FormRestart().dump())])
    if field != "confirm" and _has_value(draft, field):
        rows.append([Button(label(conv, "btn.act_keep"), FormKeep(field=field).dump(), "primary")])
    last = []
    if FORM.index(field) > 0:
        last.append(Button(label(conv, "btn.back"), FormBack(field=field).dump()))
    last.append(menu_button(conv))
    rows.append(last)
    return Keyboard.of(*rows)


def _has_value(draft: dict[str, Any], field: str) -> bool:
    key = "municipality_id" if field == "municipality" else field
    return draft.get(key) not in (None, "")


async def _form_values(conv: Conversation, tx: Tx, draft: dict[str, Any]) -> dict[str, Any]:
    municipality = None
    if draft.get("municipality_id"):
        found = await tx.territory.get_municipality(int(draft["municipality_id"]))
        municipality = found.name if found else None
    return {
        "org_name": draft.get("org_name"),
        "kind": kind_label(conv, draft["kind"]) if draft.get("kind") else None,
        "municipality": municipality,
        "full_name": draft.get("full_name"),
        "phone": draft.get("phone"),
        "email": draft.get("email"),
    }


async def _form_screen(conv: Conversation, tx: Tx, draft: dict[str, Any]) -> list[Reply]:
    field = draft.get("field") or FORM[0]
    municipalities = await _municipalities(tx) if field == "municipality" else []
    values = await _form_values(conv, tx, draft)
    key = f"activation.form.{field}"
    current = values.get(field) if field != "confirm" else None
    text = t(conv, key, number=FORM.index(field) + 1, total=len(FORM) - 1, current=current,
             **({"v": values} if field == "confirm" else {}))
    return [Reply(text, _form_keyboard(conv, field, draft, municipalities), template=key)]


async def _form_draft(conv: Conversation, tx: Tx) -> dict[str, Any] | None:
    """The draft, if the person is filling the form right now."""
    person = await tx.users.get_user(conv.person.vk_id)
    if person is None or person.state != STATE_FORM:
        return None
    return await tx.activation.get_draft(conv.person.vk_id)


async def _advance(conv: Conversation, tx: Tx, draft: dict[str, Any], field: str,
                   value: Any = None, store: bool = True, note: str | None = None) -> list[Reply]:
    """Store a field's value and ask the next field (or the summary)."""
    if store:
        draft["municipality_id" if field == "municipality" else field] = value
    draft["field"] = FORM[FORM.index(field) + 1]
    draft.pop("page", None)
    await tx.activation.upsert_draft(conv.person.vk_id, draft, unix(conv.deps.clock))
    screen_ = await _form_screen(conv, tx, draft)
    return prefixed(t(conv, note), screen_) if note else screen_


FIELD_PARSERS: dict[str, Callable[[str], Parsed]] = {
    "org_name": parse_org_name,
    "full_name": parse_full_name,
    "phone": parse_phone,
    "email": parse_email,
}


@answers_stale
async def form_text(conv: Conversation, text: str) -> list[Reply]:
    """Whatever is typed while the form asks a field."""
    async with conv.deps.db.transaction() as tx:
        draft = await _form_draft(conv, tx)
        if draft is None:
            raise StaleButton
        field = draft.get("field") or FORM[0]
        # «нет», «без почты» — the whole message; «olga@school.ru, другой нет» is an address
        if field == "email" and means_only(text, words(conv, "skip"), words(conv, "filler")):
            return await _advance(conv, tx, draft, field, None)
        if field in FIELD_PARSERS:
            value, error = FIELD_PARSERS[field](text)
            if error:
                return prefixed(t(conv, f"activation.errors.{error}"), await _form_screen(conv, tx, draft))
            return await _advance(conv, tx, draft, field, value)
        if field == "kind":
            typed = normalise_words(text)
            found = [k for k in ORG_KINDS if typed and typed in normalise_words(kind_label(conv, k))]
            if len(found) == 1:
                return await _advance(conv, tx, draft, field, found[0])
        if field == "municipality":
            typed = normalise_words(text)
            options = await _municipalities(tx)
            exact = [m for m in options if normalise_words(m.name) == typed]
            found = exact or [m for m in options if typed and typed in normalise_words(m.name)]
            if len(found) == 1:
                return await _advance(conv, tx, draft, field, found[0].id)
        key = "activation.errors.use_buttons" if field != "confirm" else "activation.errors.confirm"
        return prefixed(t(conv, key), await _form_screen(conv, tx, draft))


@answers_stale
async def form_choice(conv: Conversation, field: str, value: Any) -> list[Reply]:
    """A kind or municipality button; valid only while that field is asked."""
    async with conv.deps.db.transaction() as tx:
        draft = await _form_draft(conv, tx)
        if draft is None or draft.get("field") != field:
            raise StaleButton
        if field == "municipality" and await tx.territory.get_municipality(value) is None:
            raise StaleButton
        return await _advance(conv, tx, draft, field, value)


@answers_stale
async def form_keep(conv: Conversation, field: str) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        draft = await _form_draft(conv, tx)
        if draft is None or draft.get("field") != field or not _has_value(draft, field):
            raise StaleButton
        return await _advance(conv, tx, draft, field, store=False)


@answers_stale
async def form_skip(conv: Conversation) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        draft = await _form_draft(conv, tx)
        if draft is None or draft.get("field") != "email":
            raise StaleButton
        return await _advance(conv, tx, draft, "email", None)


@answers_stale
async def form_page(conv: Conversation, page: int) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        draft = await _form_draft(conv, tx)
        if draft is None or draft.get("field") != "municipality":
            raise StaleButton
        draft["page"] = max(0, page)
        await tx.activation.upsert_draft(conv.person.vk_id, draft, unix(conv.deps.clock))
        return await _form_screen(conv, tx, draft)


@answers_stale
async def form_back(conv: Conversation, field: str) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        draft = await _form_draft(conv, tx)
        if draft is None or draft.get("field") != field or FORM.index(field) == 0:
            raise StaleButton
        draft["field"] = FORM[FORM.index(field) - 1]
        await tx.activation.upsert_draft(conv.person.vk_id, draft, unix(conv.deps.clock))
        return await _form_screen(conv, tx, draft)


@answers_stale
async def form_restart(conv: Conversation) -> list[Reply]:
    """«Исправить»: from the summary, or after a rejection — the form again, values kept."""
    from core.personal_data.service import ask_consent

    async with conv.deps.db.transaction() as tx:
        if await tx.personal.get_consent(conv.person.vk_id) is not None:
            draft = await _form_draft(conv, tx)
            org = await own_org(tx, conv.person.vk_id)
            if draft is None and org is not None and org.step == 1:
                app = await tx.activation.get_latest_application(org.id)
                draft = {"org_id": org.id, "org_name": org.name, "kind": org.kind,
                         "municipality_id": org.municipality_id}
                if app is not None:
                    draft.update(full_name=app.admin_full_name or None,
                                 phone=app.admin_phone or None, email=app.admin_email)
            elif draft is None or draft.get("field") != "confirm":
                raise StaleButton
            draft["field"] = FORM[0]
            await tx.activation.upsert_draft(conv.person.vk_id, draft, unix(conv.deps.clock))
            await set_state(conv, tx, STATE_FORM)
            return prefixed(t(conv, "activation.form.fix"), await _form_screen(conv, tx, draft))
    return await ask_consent(conv, "act")  # the consent was withdrawn since: ask it first


@answers_stale
async def form_submit(conv: Conversation) -> list[Reply]:
    deps = conv.deps
    now = unix(deps.clock)
    async with deps.db.transaction() as tx:
        draft = await _form_draft(conv, tx)
        if draft is None or draft.get("field") != "confirm":
            raise StaleButton
        missing = [f for f in REQUIRED if not draft.get(f)]
        if missing:
            draft["field"] = "municipality" if missing[0] == "municipality_id" else missing[0]
            await tx.activation.upsert_draft(conv.person.vk_id, draft, now)
            return prefixed(t(conv, "activation.errors.incomplete"), await _form_screen(conv, tx, draft))
        previous = await own_org(tx, conv.person.vk_id)
        org_id = previous.id if previous is not None and previous.step == 1 else None
        org = await tx.activation.upsert_org(org_id, draft["org_name"], draft["kind"],
                                             int(draft["municipality_id"]), conv.person.vk_id,
                                             APP_FLOW["new"].org_step, now)
        app_id = await tx.activation.insert_application(
            org.id, conv.person.vk_id, draft["full_name"], draft["phone"], draft.get("email"), now)
        await tx.users.update_org(conv.person.vk_id, org.id, now)
        await tx.activation.delete_draft(conv.person.vk_id)
        await set_state(conv, tx, STATE_STEP)
        coordinators = set(await tx.tickets.list_coordinators(org.municipality_id))
        municipality = await tx.territory.get_municipality(org.municipality_id)
        duplicates = await twins(tx, org.id, org.name, org.municipality_id)
        screen_ = await _step_screen(conv, tx, org)
    coordinators |= set(deps.settings.access.coordinators) | set(deps.settings.access.admins)
    coordinators.discard(conv.person.vk_id)
    await _notify_coordinators(conv, sorted(coordinators), app_id, org.name,
                               municipality.name if municipality else "", duplicates,
                               draft["full_name"], draft["phone"])
    return prefixed(t(conv, "activation.form.submitted", id=app_id), screen_)


_NOT_WORD = re.compile(r"[^\w]+")


def name_key(name: str) -> str:
    """An organisation's name as compared for duplicates: case, «ё», quotes, «№» and
    punctuation do not matter («МБОУ «СОШ № 17»» = «мбоу сош №17»)."""
    return " ".join(_NOT_WORD.sub(" ", name.casefold().replace("ё", "е")).replace("_", " ").split())


async def twins(tx: Tx, org_id: int, name: str, municipality_id: int) -> list[Any]:
    """Other organisations of the same municipality with the same name: a second application
    for one school (by mistake, or by someone posing as its administrator)."""
    key = name_key(name)
    return [o for o in await tx.territory.list_organisations(municipality_id)
            if o.id != org_id and name_key(o.name) == key]


async def _notify_coordinators(conv: Conversation, coordinators: list[int], app_id: int,
                               org_name: str, municipality: str,
                               duplicates: list[Any] | None = None, full_name: str = "",
                               phone: str = "") -> None:
    from core.coordination.payloads import Applications

    if not coordinators:
        return
    notice = Reply(t(conv, "coord.new_application", id=app_id, org=relayed(org_name),
                     municipality=municipality, full_name=full_name, phone=phone,
                     link=f"vk.com/id{conv.person.vk_id}",
                     twins=[{"id": o.id, "name": o.name} for o in duplicates or []]),
                   Keyboard.of([Button(label(conv, "btn.crd_apps"), Applications().dump())],
                               inline=True),
                   template="coord.new_application")
    await conv.deps.messenger.send(
        [Outgoing(c, notice, "notice", f"app-new:{app_id}", about=conv.person.vk_id)
         for c in coordinators])


# ------------------------------------------------------------------------------------------------
# Steps 2..8 and the activated organisation
# ------------------------------------------------------------------------------------------------


def _extra_rows(conv: Conversation, org: Any, step: Step) -> list[list[Button]]:
    rows: list[list[Button]] = []
    for extra in step.extras:
        if extra == "status":
            rows.append([Button(label(conv, "btn.act_status"), ActOpen().dump())])
        elif extra == "sferum":
            rows.append([Button(label(conv, "btn.act_sferum"), link="https://sferum.ru")])
        elif extra == "structure":
            rows.append([Button(label(conv, "btn.act_single"),
                                ChooseStructure(structure="single").dump(),
                                "primary" if org.structure == "single" else "secondary"),
                         Button(label(conv, "btn.act_full"),
                                ChooseStructure(structure="full").dump(),
                                "primary" if org.structure == "full" else "secondary")])
        elif extra == "staff" and org.invite_code:
            rows.append([Button(label(conv, "btn.act_staff"), StaffList().dump()),
                         Button(label(conv, "btn.act_invite"), InviteText().dump())])
        elif extra == "platforms":
            rows.append([Button(label(conv, "btn.act_phone"), Platform(platform="phone").dump()),
                         Button(label(conv, "btn.act_computer"),
                                Platform(platform="computer").dump())])
        elif extra == "web":
            rows.append([Button(label(conv, "btn.act_web"), link="https://web.vk.me/")])
    return rows


def step_keyboard(conv: Conversation, org: Any) -> Keyboard:
    if org.step >= ACTIVATED:
        return Keyboard.of([Button(label(conv, "btn.act_staff"), StaffList().dump()),
                            Button(label(conv, "btn.act_invite"), InviteText().dump())]
                           if org.invite_code else [],
                           [menu_button(conv)])
    step = STEPS[org.step]
    if org.step == 1:
        return Keyboard.of([Button(label(conv, "btn.act_refill"), FormRestart().dump(), "primary")],
                           [Button(label(conv, "btn.act_where"), WhereAmI().dump()),
                            menu_button(conv)])
    rows = _extra_rows(conv, org, step)
    if step.done:
        rows.append([Button(label(conv, step.done), StepDone(step=step.number).dump(), "positive")])
    rows.append([Button(label(conv, "btn.act_problem"), StepHelp(step=step.number).dump()),
                 Button(label(conv, "btn.act_where"), WhereAmI().dump())])
    last = []
    if step.back:
        last.append(Button(label(conv, "btn.back"), StepBack(step=step.number).dump()))
    last.append(menu_button(conv))
    rows.append(last)
    return Keyboard.of(*rows)


async def _staff_counts(tx: Tx, org_id: int) -> dict[str, int]:
    staff = await tx.activation.list_staff(org_id)
    return {"joined": len(staff), "confirmed": sum(1 for s in staff if s.confirmed_at)}


async def _step_values(conv: Conversation, tx: Tx, org: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"org": org.name, "n": org.step, "total": TOTAL_STEPS}
    if org.step in (1, 2, 3):
        app = await tx.activation.get_latest_application(org.id)
        values.update(app_id=app.id if app else 0,
                      app_date=local_date(conv, app.created_at) if app else "",
                      status=t(conv, f"coord.status.{app.status}") if app else "",
                      reason=(app.reject_reason or "") if app else "")
    if org.step == 5:
        values.update(structure=t(conv, f"activation.structure.{org.structure}")
                      if org.structure else "", links=org.links)
    if org.step >= 6:
        values.update(deadline=show_date(org.staff_deadline), code=org.invite_code or "",
                      link=invite_link(conv.deps.settings.vk.group_id, org.invite_code)
                      if org.invite_code else "",
                      **date_examples(conv),
                      **await _staff_counts(tx, org.id))
    return values


async def _step_screen(conv: Conversation, tx: Tx, org: Any,
                       just_completed: bool = False) -> list[Reply]:
    values = await _step_values(conv, tx, org)
    values["just_completed"] = just_completed
    if org.step >= ACTIVATED:
        key = "activation.activated"
    elif org.step == 1:
        key = "activation.steps.application.rejected"
    else:
        key = f"activation.steps.{STEPS[org.step].key}.text"
    text = t(conv, key, **values)
    if 1 < org.step < ACTIVATED:
        text = t(conv, "activation.step_header", n=org.step, total=TOTAL_STEPS,
                 title=step_title(conv, org.step)) + "\n" + text
    return [Reply(text, step_keyboard(conv, org), template=key)]


def _short(conv: Conversation, org: Any, text: str, key: str) -> list[Reply]:
    """A short answer on a step: the step's text is already above, its keyboard stays."""
    return [Reply(text, step_keyboard(conv, org), template=key)]


def _step5_next(conv: Conversation, org: Any) -> str:
    """What is still missing on step 5 (structure, then the link), or «Готово»."""
    if not org.structure:
        return t(conv, "activation.missing.structure")
    if not org.links:
        return t(conv, "activation.missing.registration_link")
    return t(conv, "activation.ready")


async def _with_org(conv: Conversation, tx: Tx, step: int | None) -> tuple[Any, list[Reply] | None]:
    """The admin's organisation, or the polite answer when there is none / the step is stale."""
    org = await own_org(tx, conv.person.vk_id)
    if org is None:
        return None, prefixed(t(conv, "activation.no_org"), [main_menu(conv)])
    if step is not None and org.step != step:
        key = "activation.stale_step" if org.step > step else "activation.early_step"
        await set_state(conv, tx, STATE_STEP)
        return org, prefixed(t(conv, key, step=step), await _step_screen(conv, tx, org))
    return org, None


async def step_done(conv: Conversation, step: int) -> list[Reply]:
    now = unix(conv.deps.clock)
    async with conv.deps.db.transaction() as tx:
        org, refusal = await _with_org(conv, tx, step)
        if refusal:
            return refusal
        await set_state(conv, tx, STATE_STEP)
        spec = STEPS[step]
        if spec.done is None:
            key = f"activation.steps.{spec.key}.wait"
            return _short(conv, org, t(conv, key), key)
        missing = [field for field in spec.requires if not getattr(org, field)]
        if missing:
            key = f"activation.missing.{missing[0]}"
            return _short(conv, org, t(conv, key, **date_examples(conv)), key)
        await tx.activation.update_step(org.id, spec.next, now)
        org = await tx.activation.get_org(org.id)
        if spec.next == ACTIVATED:
            return await _step_screen(conv, tx, org, just_completed=True)
        note = t(conv, "activation.step_passed", n=step, title=step_title(conv, step))
        if step == 6:
            note += "\n" + t(conv, "activation.approve_reminder")
        return prefixed(note, await _step_screen(conv, tx, org))


async def step_back(conv: Conversation, step: int) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        org, refusal = await _with_org(conv, tx, step)
        if refusal:
            return refusal
        back = STEPS[step].back
        if back is None:
            return await _step_screen(conv, tx, org)
        await tx.activation.update_step(org.id, back, unix(conv.deps.clock))
        await set_state(conv, tx, STATE_STEP)
        org = await tx.activation.get_org(org.id)
        return prefixed(t(conv, "activation.went_back", n=back), await _step_screen(conv, tx, org))


async def step_help(conv: Conversation, step: int, problem: str | None = None) -> list[Reply]:
    """«Не получается»: the step's help, then an offer to pass the problem to a coordinator."""
    from core.tickets.service import ask_button

    async with conv.deps.db.transaction() as tx:
        org, refusal = await _with_org(conv, tx, None)
        if refusal:
            return refusal
        step = org.step if step not in STEPS else step
        data = {"problem": problem[:2000]} if problem else {}
        await set_state(conv, tx, STATE_STEP, data)
    source = f"activation:step{step}"
    button = (Button(label(conv, "btn.act_pass"), PassProblem(step=step).dump(), "primary")
              if problem else ask_button(conv, source))
    key = f"activation.steps.{STEPS[step].key}.help"
    return [Reply(t(conv, key) + "\n\n" + t(conv, "activation.help_offer"),
                  Keyboard.of([button], inline=True), template=key)]


async def pass_problem(conv: Conversation, step: int) -> list[Reply]:
    """«Передать координатору» under the help for a problem the admin already described."""
    from core.tickets.service import ask, open_ticket

    problem = conv.person.state_data.get("problem")
    source = f"activation:step{step}"
    if not problem:
        return await ask(conv, source)
    async with conv.deps.db.transaction() as tx:
        await set_state(conv, tx, STATE_STEP)  # the problem is sent: forget it
        person = await tx.users.get_user(conv.person.vk_id)
    assert person is not None
    conv.person = person
    return await open_ticket(conv, source, str(problem))


async def where_am_i(conv: Conversation) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        org = await own_org(tx, conv.person.vk_id)
        current = org.step if org is not None else 1
        marks = [(n, step_title(conv, n), "done" if n < current else "now" if n == current else "todo")
                 for n in STEPS]
        todo = (t(conv, f"activation.steps.{STEPS[current].key}.todo")
                if org is not None and current < ACTIVATED else "")
        text = t(conv, "activation.where", n=min(current, TOTAL_STEPS), total=TOTAL_STEPS,
                 steps=marks, activated=current >= ACTIVATED, applied=org is not None, todo=todo)
        if org is not None:
            await set_state(conv, tx, STATE_STEP)
            return _short(conv, org, text, "activation.where")
    return prefixed(text, await open_flow(conv))


async def choose_structure(conv: Conversation, structure: str) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        org, refusal = await _with_org(conv, tx, 5)
        if refusal:
            return refusal
        await tx.activation.update_structure(org.id, structure)
        await set_state(conv, tx, STATE_STEP)
        org = await tx.activation.get_org(org.id)
        key = f"activation.structure_saved.{structure}"
        return _short(conv, org, t(conv, key) + " " + _step5_next(conv, org), key)


async def save_links(conv: Conversation, text: str) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        org, refusal = await _with_org(conv, tx, 5)
        if refusal:
            return refusal
        links, error = parse_links(text, conv.deps.settings.vk.group_id)
        if error:
            key = f"activation.errors.{error}"
            return _short(conv, org, t(conv, key), key)
        await tx.activation.update_links(org.id, links)
        org = await tx.activation.get_org(org.id)
        return _short(conv, org, t(conv, "activation.links_saved", links=links) + " "
                      + _step5_next(conv, org), "activation.links_saved")


async def save_deadline(conv: Conversation, text: str) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        org, refusal = await _with_org(conv, tx, 6)
        if refusal:
            return refusal
        value, error = parse_deadline(text, today(conv), date_words(conv))
        if error:
            key = f"activation.errors.{error}"
            return _short(conv, org, t(conv, key, today=today(conv).strftime("%d.%m.%Y"),
                                       **date_examples(conv)), key)
        await tx.activation.update_deadline(org.id, value.isoformat())
        org = await tx.activation.get_org(org.id)  # a changed deadline is shown as changed
        while not org.invite_code:
            await tx.activation.update_invite_code(org.id, new_invite_code())
            org = await tx.activation.get_org(org.id)
        invite = await _invite_reply(conv, org)
        screen_ = await _step_screen(conv, tx, org)
    # The invitation is a message of its own, so the admin can forward it to the staff as it is.
    return [reply(conv, "activation.deadline_saved", deadline=show_date(org.staff_deadline)),
            invite, *screen_]


async def _invite_reply(conv: Conversation, org: Any) -> Reply:
    return reply(conv, "activation.invite_text", org=org.name,
                 deadline=show_date(org.staff_deadline), code=org.invite_code,
                 link=invite_link(conv.deps.settings.vk.group_id, org.invite_code))


async def invite(conv: Conversation) -> list[Reply]:
    async with conv.deps.db.read() as tx:
        org, refusal = await _with_org(conv, tx, None)
        if refusal:
            return refusal
        if not org.invite_code:
            return _short(conv, org, t(conv, "activation.missing.invite_code",
                                       **date_examples(conv)), "activation.missing.invite_code")
    return [reply(conv, "activation.invite_intro"), await _invite_reply(conv, org)]


async def platform_help(conv: Conversation, platform: str) -> list[Reply]:
    return [reply(conv, f"activation.platform.{platform}")]


async def staff_list(conv: Conversation) -> list[Reply]:
    """Who joined by the invite, who confirmed registration; a reminder to approve them."""
    async with conv.deps.db.read() as tx:
        org, refusal = await _with_org(conv, tx, None)
        if refusal:
            return refusal
        staff = await tx.activation.list_staff(org.id)
    nameless = [s.vk_id for s in staff if not (s.first_name or s.last_name) or s.sex is None]
    if nameless:  # names and sex from VK, kept for next time
        from core.kernel.people import people as remember_people

        await remember_people(conv.deps, nameless)
        async with conv.deps.db.read() as tx:
            staff = await tx.activation.list_staff(org.id)
    people = [{"name": f"{s.first_name} {s.last_name}".strip() or f"vk.com/id{s.vk_id}",
               "sex": s.sex or 0, "confirmed": local_date(conv, s.confirmed_at), "app": bool(s.app_at),
               "chat": bool(s.chat_at), "joined": local_date(conv, s.joined_at)} for s in staff]
    return [reply(conv, "activation.staff_list", org=org.name, people=people,
                  confirmed=sum(1 for s in staff if s.confirmed_at), total=len(staff),
                  deadline=show_date(org.staff_deadline))]


# ------------------------------------------------------------------------------------------------
# Free text inside a step
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intent:
    kind: Literal["problem", "links", "deadline", "done"]
    text: str = ""


async def interpret(conv: Conversation, text: str) -> Intent | None:
    """What typed text means on the admin's current step; None when it means nothing here
    (then the FAQ may answer it, and the fallback shows the step again)."""
    async with conv.deps.db.read() as tx:
        org = await own_org(tx, conv.person.vk_id)
    if org is None or org.step >= ACTIVATED:
        return None
    if has_phrase(text, words(conv, "problem")):
        return Intent("problem", text)
    if org.step == 5 and find_links(text):
        return Intent("links", text)
    if org.step == 6 and (looks_like_date(text) or re.fullmatch(r"\s*\d[\d\s./-]*", text)
                          or dates.parse(text, today(conv), date_words(conv)) is not None):
        return Intent("deadline", text)
    # moving on needs the whole message to say so: «Кто зарегистрировался» is not «готово»
    if STEPS[org.step].done and means_only(text, words(conv, "done") + words(conv, "registered"),
                                           words(conv, "filler")):
        return Intent("done", text)
    return None


async def step_text(conv: Conversation, intent: Intent) -> list[Reply]:
    async with conv.deps.db.read() as tx:
        org = await own_org(tx, conv.person.vk_id)
    if org is None:
        return await stale(conv)
    if intent.kind == "problem":
        return await step_help(conv, org.step, intent.text)
    if intent.kind == "links":
        return await save_links(conv, intent.text)
    if intent.kind == "deadline":
        return await save_deadline(conv, intent.text)
    return await step_done(conv, org.step)


async def not_allowed(conv: Conversation) -> list[Reply]:
    from core.kernel.screens import current_screen

    return prefixed(t(conv, "input.not_allowed"), await current_screen(conv))
