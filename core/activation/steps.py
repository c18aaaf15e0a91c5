"""The organisation's steps (seed 001) as one table: each row says who acts, what «Готово» and
«Назад» lead to, what must be set first, which buttons and values its screen has, which typed
answers it understands and what is said when it is passed. ``move`` is the only code that
changes an organisation's step (organisations.step); a button of another step is answered by
``common.admin_org`` / ``common.stale``, the one way.

Steps 1..3 follow the application (APP_FLOW: its status moves them); 3..8 are the admin's
(«Готово»); ACTIVATED (core.kernel.domain) is the row ``ACTIVE``, after the last step.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from core.activation.checks import (
    find_links,
    has_phrase,
    invite_link,
    max_invite_link,
    looks_like_date,
    means_only,
    new_invite_code,
    parse_deadline,
    parse_links,
)
from core.activation.common import (
    STATE_STEP,
    admin_org,
    answers_stale,
    date_examples,
    date_words,
    label,
    local_date,
    reply,
    set_state,
    show_date,
    t,
    today,
    words,
)
from core.activation.payloads import (
    ActOpen,
    ChooseStructure,
    FormRestart,
    InviteText,
    Platform,
    StaffList,
    StepBack,
    StepDone,
    StepHelp,
    WhereAmI,
)
from core.kernel import dates
from core.kernel.clock import unix
from core.kernel.conversation import Conversation
from core.kernel.domain import ACTIVATED, TOTAL_STEPS
from core.kernel.menu import menu_button
from core.kernel.ui import Button, Keyboard, Reply, prefixed
from storage import Tx

Rows = Callable[[Conversation, Any], list[list[Button]]]
Values = Callable[[Conversation, Tx, Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Typed:
    """Typed text a step understands besides «готово» and a problem: ``means`` tells it apart,
    ``answer`` handles it (and checks the step again itself)."""

    kind: str
    means: Callable[[Conversation, str], bool]
    answer: Callable[[Conversation, str], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Step:
    """One step of the scheme. Texts: activation.steps.<key>.{title,text,help,todo}."""

    number: int
    key: str
    actor: Literal["admin", "coordinator"]
    done: str | None = None          # label of «Готово»; None: nothing for the admin to press
    requires: tuple[str, ...] = ()   # organisation fields that must be set before «Готово»
    back: int | None = None          # where «Назад» leads
    next: int = 0                    # where «Готово» leads
    rows: tuple[Rows, ...] = ()      # its own button rows, above «Готово»
    values: tuple[Values, ...] = ()  # what its text shows besides the organisation and the step
    typed: tuple[Typed, ...] = ()    # typed answers it understands
    passed: tuple[str, ...] = ()     # texts said when it is passed, after «шаг N пройден»
    follows_application: bool = False  # moved by the application's status (APP_FLOW)
    text: str = ""                   # its screen's text; "" = activation.steps.<key>.text
    keyboard: Callable[[Conversation, Any], Keyboard] | None = None  # instead of the usual one
    header: bool = True              # «Шаг N из 8 · …» above the text

    @property
    def text_key(self) -> str:
        return self.text or f"activation.steps.{self.key}.text"


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

# ------------------------------------------------------------------------------------------------
# What a step's screen shows: its values and its own button rows
# ------------------------------------------------------------------------------------------------


async def _application(conv: Conversation, tx: Tx, org: Any) -> dict[str, Any]:
    app = await tx.activation.get_latest_application(org.id)
    return {"app_id": app.id if app else 0,
            "app_date": local_date(conv, app.created_at) if app else "",
            "status": t(conv, f"coord.status.{app.status}") if app else "",
            "reason": (app.reject_reason or "") if app else ""}


async def _structure(conv: Conversation, tx: Tx, org: Any) -> dict[str, Any]:
    return {"structure": t(conv, f"activation.structure.{org.structure}") if org.structure else "",
            "links": org.links}


async def _staff(conv: Conversation, tx: Tx, org: Any) -> dict[str, Any]:
    staff = await tx.activation.list_staff(org.id)
    return {"deadline": show_date(org.staff_deadline), "code": org.invite_code or "",
            "link": vk_invite_link(conv, org.invite_code),
            "max_link": max_invite_link(conv.deps, org.invite_code),
            **date_examples(conv),
            "joined": len(staff), "confirmed": sum(1 for s in staff if s.confirmed_at)}


def _status_row(conv: Conversation, org: Any) -> list[list[Button]]:
    return [[Button(label(conv, "btn.act_status"), ActOpen().dump())]]


def _sferum_row(conv: Conversation, org: Any) -> list[list[Button]]:
    return [[Button(label(conv, "btn.act_sferum"), link="https://sferum.ru")]]


def _structure_row(conv: Conversation, org: Any) -> list[list[Button]]:
    return [[Button(label(conv, "btn.act_single"), ChooseStructure(structure="single").dump(),
                    "primary" if org.structure == "single" else "secondary"),
             Button(label(conv, "btn.act_full"), ChooseStructure(structure="full").dump(),
                    "primary" if org.structure == "full" else "secondary")]]


def _staff_row(conv: Conversation, org: Any) -> list[list[Button]]:
    if not org.invite_code:
        return []
    return [[Button(label(conv, "btn.act_staff"), StaffList().dump()),
             Button(label(conv, "btn.act_invite"), InviteText().dump())]]


def _platform_row(conv: Conversation, org: Any) -> list[list[Button]]:
    return [[Button(label(conv, "btn.act_phone"), Platform(platform="phone").dump()),
             Button(label(conv, "btn.act_computer"), Platform(platform="computer").dump())]]


def _web_row(conv: Conversation, org: Any) -> list[list[Button]]:
    url = t(conv, "activation.web_url")  # the messenger's web version; none: no button
    return [[Button(label(conv, "btn.act_web"), link=url)]] if url else []


def _rejected_keyboard(conv: Conversation, org: Any) -> Keyboard:
    """Step 1 again (the application was rejected): fill it in again."""
    return Keyboard.of([Button(label(conv, "btn.act_refill"), FormRestart().dump(), "primary")],
                       [Button(label(conv, "btn.act_where"), WhereAmI().dump()),
                        menu_button(conv)])


def _activated_keyboard(conv: Conversation, org: Any) -> Keyboard:
    return Keyboard.of(*_staff_row(conv, org), [menu_button(conv)])


# ------------------------------------------------------------------------------------------------
# Typed answers of steps 5 and 6
# ------------------------------------------------------------------------------------------------


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


@answers_stale
async def choose_structure(conv: Conversation, structure: str) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        org = await admin_org(conv, tx, 5)
        await tx.activation.update_structure(org.id, structure)
        await set_state(conv, tx, STATE_STEP)
        org = await tx.activation.get_org(org.id)
        key = f"activation.structure_saved.{structure}"
        return _short(conv, org, t(conv, key) + " " + _step5_next(conv, org), key)


@answers_stale
async def save_links(conv: Conversation, text: str) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        org = await admin_org(conv, tx, 5)
        vk = conv.deps.settings.vk
        links, error = parse_links(text, vk.group_id if vk is not None else None)
        if error:
            key = f"activation.errors.{error}"
            return _short(conv, org, t(conv, key), key)
        await tx.activation.update_links(org.id, links)
        org = await tx.activation.get_org(org.id)
        return _short(conv, org, t(conv, "activation.links_saved", links=links) + " "
                      + _step5_next(conv, org), "activation.links_saved")


def vk_invite_link(conv: Conversation, code: str | None) -> str:
    """The invitation in VK; empty for a bot without VK (then only MAX's link is given)."""
    vk = conv.deps.settings.vk
    return invite_link(vk.group_id, code) if vk is not None and code else ""


def invite_reply(conv: Conversation, org: Any) -> Reply:
    return reply(conv, "activation.invite_text", org=org.name,
                 deadline=show_date(org.staff_deadline), code=org.invite_code,
                 link=vk_invite_link(conv, org.invite_code),
                 max_link=max_invite_link(conv.deps, org.invite_code))


@answers_stale
async def save_deadline(conv: Conversation, text: str) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        org = await admin_org(conv, tx, 6)
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
        screen_ = await step_screen(conv, tx, org)
    # The invitation is a message of its own, so the admin can forward it to the staff as it is.
    return [reply(conv, "activation.deadline_saved", deadline=show_date(org.staff_deadline)),
            invite_reply(conv, org), *screen_]


def _has_links(conv: Conversation, text: str) -> bool:
    return bool(find_links(text))


def _has_date(conv: Conversation, text: str) -> bool:
    return (looks_like_date(text) or re.fullmatch(r"\s*\d[\d\s./-]*", text) is not None
            or dates.parse(text, today(conv), date_words(conv)) is not None)


# ------------------------------------------------------------------------------------------------
# The table
# ------------------------------------------------------------------------------------------------

STAFF_VALUES = (_staff,)  # steps 6..8 and the activated organisation show the staff's progress

STEPS: dict[int, Step] = {
    # the form («Отправить»); back here after a rejection
    1: Step(1, "application", "admin", next=2, values=(_application,), follows_application=True,
            text="activation.steps.application.rejected", keyboard=_rejected_keyboard,
            header=False),
    # coordinators act
    2: Step(2, "handover", "coordinator", next=3, rows=(_status_row,), values=(_application,),
            follows_application=True),
    3: Step(3, "informed", "admin", done="btn.act_done", next=4, values=(_application,),
            follows_application=True),
    4: Step(4, "register", "admin", done="btn.act_registered", back=3, next=5,
            rows=(_sferum_row,)),
    5: Step(5, "structure", "admin", done="btn.act_done", requires=("structure", "registration_link"),
            back=4, next=6, rows=(_structure_row,), values=(_structure,),
            typed=(Typed("links", _has_links, save_links),)),
    6: Step(6, "staff", "admin", done="btn.act_done", requires=("staff_deadline", "invite_code"),
            back=5, next=7, rows=(_staff_row,), values=STAFF_VALUES,
            typed=(Typed("deadline", _has_date, save_deadline),),
            passed=("activation.approve_reminder",)),
    7: Step(7, "app", "admin", done="btn.act_done", back=6, next=8,
            rows=(_platform_row, _web_row), values=STAFF_VALUES),
    8: Step(8, "chats", "admin", done="btn.act_done", back=7, next=ACTIVATED, values=STAFF_VALUES),
}
ACTIVE = Step(ACTIVATED, "activated", "admin", values=STAFF_VALUES, text="activation.activated",
              keyboard=_activated_keyboard, header=False)


def step_of(number: int) -> Step:
    return STEPS[number] if number in STEPS else ACTIVE


def step_title(conv: Conversation, number: int) -> str:
    return t(conv, f"activation.steps.{STEPS[number].key}.title")


# ------------------------------------------------------------------------------------------------
# The screen of a step
# ------------------------------------------------------------------------------------------------


def step_keyboard(conv: Conversation, org: Any) -> Keyboard:
    step = step_of(org.step)
    if step.keyboard is not None:
        return step.keyboard(conv, org)
    rows = [row for rows_of in step.rows for row in rows_of(conv, org)]
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


async def step_screen(conv: Conversation, tx: Tx, org: Any,
                      just_completed: bool = False) -> list[Reply]:
    step = step_of(org.step)
    values: dict[str, Any] = {"org": org.name, "n": org.step, "total": TOTAL_STEPS}
    for values_of in step.values:
        values.update(await values_of(conv, tx, org))
    values["just_completed"] = just_completed
    text = t(conv, step.text_key, **values)
    if step.header:
        text = t(conv, "activation.step_header", n=org.step, total=TOTAL_STEPS,
                 title=step_title(conv, org.step)) + "\n" + text
    return [Reply(text, step_keyboard(conv, org), template=step.text_key)]


# ------------------------------------------------------------------------------------------------
# Moving between steps: the only writer of organisations.step
# ------------------------------------------------------------------------------------------------


def moves(current: int) -> set[int]:
    """Where an organisation on ``current`` may go: «Готово», «Назад», and (on steps the
    application moves) the step of each application status."""
    step = step_of(current)
    found = {step.next} if step.next else set()
    if step.back:
        found.add(step.back)
    if step.follows_application:
        found |= {status.org_step for status in APP_FLOW.values()}
    return found


async def move(tx: Tx, org_id: int, current: int, to: int, now: int) -> None:
    """Put the organisation on step ``to`` (and remember when): the one place that writes
    organisations.step. A move the table does not allow is a bug, not a user's mistake."""
    if to not in moves(current):
        raise ValueError(f"organisation {org_id}: no move from step {current} to {to}")
    await tx.activation.update_step(org_id, to, now)


async def follow_application(tx: Tx, org_id: int, current: int, status: str, now: int) -> None:
    """An application got ``status``: the organisation's steps that follow the application
    move with it; later steps are the admin's and stay."""
    if step_of(current).follows_application:
        await move(tx, org_id, current, APP_FLOW[status].org_step, now)


@answers_stale
async def step_done(conv: Conversation, step: int) -> list[Reply]:
    now = unix(conv.deps.clock)
    async with conv.deps.db.transaction() as tx:
        org = await admin_org(conv, tx, step)
        await set_state(conv, tx, STATE_STEP)
        spec = STEPS[step]
        if spec.done is None:
            key = f"activation.steps.{spec.key}.wait"
            return _short(conv, org, t(conv, key), key)
        missing = [field for field in spec.requires if not getattr(org, field)]
        if missing:
            key = f"activation.missing.{missing[0]}"
            return _short(conv, org, t(conv, key, **date_examples(conv)), key)
        await move(tx, org.id, org.step, spec.next, now)
        org = await tx.activation.get_org(org.id)
        if spec.next == ACTIVATED:
            return await step_screen(conv, tx, org, just_completed=True)
        note = "\n".join([t(conv, "activation.step_passed", n=step, title=step_title(conv, step)),
                          *(t(conv, key) for key in spec.passed)])
        return prefixed(note, await step_screen(conv, tx, org))


@answers_stale
async def step_back(conv: Conversation, step: int) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        org = await admin_org(conv, tx, step)
        back = STEPS[step].back
        if back is None:
            return await step_screen(conv, tx, org)
        await move(tx, org.id, org.step, back, unix(conv.deps.clock))
        await set_state(conv, tx, STATE_STEP)
        org = await tx.activation.get_org(org.id)
        return prefixed(t(conv, "activation.went_back", n=back), await step_screen(conv, tx, org))


# ------------------------------------------------------------------------------------------------
# Typed text on a step
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intent:
    kind: str  # "problem", "done", or the kind of one of the step's typed answers
    text: str = ""
    answer: Callable[[Conversation, str], Awaitable[list[Reply]]] | None = None


def understood(conv: Conversation, step: Step, text: str) -> Intent | None:
    """What typed text means on this step; None when it means nothing here (then the FAQ may
    answer it, and the fallback shows the step again)."""
    if has_phrase(text, words(conv, "problem")):
        return Intent("problem", text)
    for typed in step.typed:
        if typed.means(conv, text):
            return Intent(typed.kind, text, typed.answer)
    # moving on needs the whole message to say so: «Кто зарегистрировался» is not «готово»
    if step.done and means_only(text, words(conv, "done") + words(conv, "registered"),
                                words(conv, "filler")):
        return Intent("done", text)
    return None
