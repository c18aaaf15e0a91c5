"""The staff member's path through steps 6–8 of the scheme (seed 001): join the organisation by
its invite code (typed) or deep link (``ref``), register in Sferum by the organisation's direct
link before the deadline, install VK Messenger / open web.vk.me, join the staff chat.

States (users.state):
    staff:consent   the consent is shown (personal_data asks; «Даю согласие» -> join; when
                    «Присоединиться» or a typed code asked for it, state_data["code"] joins
                    that organisation right away)
    staff:code      waiting for the invite code (or «Присоединиться» when a ref brought them;
                    right after the role choice too, see invite_offer)
    staff:step      joined: the next item of STAFF_STEPS not yet marked in the staff row
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.activation.payloads import (
    StaffDone,
    StaffHelp,
    StaffJoin,
    StaffList,
    StaffPass,
    StaffWhere,
)
from core.activation.checks import (
    CODE_ALPHABET,
    CODE_LENGTH,
    has_phrase,
    means_only,
    normalise_code,
    twins_to_latin,
)
from core.activation.common import label, local_date, local_time, show_date, t, today, words
from core.kernel.clock import unix
from core.kernel.conversation import Conversation
from core.kernel.menu import main_menu, menu_button, menu_keyboard
from core.kernel.outgoing import Outgoing
from core.kernel.people import people, profile_link
from core.kernel.screens import current_screen
from core.kernel.ui import Button, Keyboard, Reply, prefixed
from storage import Tx


Rows = Callable[[Conversation, Any], list[list[Button]]]


@dataclass(frozen=True)
class StaffStep:
    """One item of a staff member's own path. Texts: staff.items.<item>.{title,text,help}.
    A staff member sees their own numbering («Шаг 1 из 3»), not the organisation's 8 steps."""

    item: str
    mark: str            # the staff column it sets
    number: int          # its place on the staff member's path
    done: str            # label of its «Готово»
    next: str | None
    rows: tuple[Rows, ...] = ()  # its own button rows (of the organisation), above «Готово»
    tells_admin: bool = False    # its «Готово» goes into the admin's digest («подтвердили …»)


def _link_row(conv: Conversation, org: Any) -> list[list[Button]]:
    """The organisation's direct registration link, when it has exactly one."""
    if len(org.links) != 1:
        return []
    return [[Button(label(conv, "btn.stf_link"), link=org.links[0])]]


def _web_row(conv: Conversation, org: Any) -> list[list[Button]]:
    url = t(conv, "activation.web_url")  # the messenger's web version; none: no button
    return [[Button(label(conv, "btn.act_web"), link=url)]] if url else []


STAFF_STEPS: dict[str, StaffStep] = {
    "reg": StaffStep("reg", "confirmed_at", 1, "btn.act_registered", next="app",
                     rows=(_link_row,), tells_admin=True),
    "app": StaffStep("app", "app_at", 2, "btn.stf_app", next="chat", rows=(_web_row,)),
    "chat": StaffStep("chat", "chat_at", 3, "btn.stf_chat", next=None),
}
STAFF_TOTAL = len(STAFF_STEPS)
FIRST_ITEM = "reg"
STATE_CONSENT = "staff:consent"
STATE_CODE = "staff:code"
STATE_STEP = "staff:step"
CONSENT = "stf"  # what the staff member's consent buttons carry; «Даю согласие»: after_consent


async def ask_consent(conv: Conversation, data: dict[str, Any] | None = None) -> list[Reply]:
    """The personal_data feature asks the consent; «Даю согласие» resumes after_consent."""
    return await conv.deps.registry.continuation("personal_data.ask_consent")(
        conv, CONSENT, STATE_CONSENT, data)


async def subscription_offer(conv: Conversation) -> list[Reply]:
    """«Присылать напоминания и опросы?» of the reminders feature (asked once)."""
    return await conv.deps.registry.continuation("reminders.subscription_offer")(conv)


def next_item(staff: Any) -> str | None:
    """The first item of the path not yet marked."""
    item: str | None = FIRST_ITEM
    while item is not None and getattr(staff, STAFF_STEPS[item].mark):
        item = STAFF_STEPS[item].next
    return item


async def _set_state(conv: Conversation, tx: Tx, state: str, data: dict[str, Any] | None = None) -> None:
    await tx.users.update_state(conv.person.vk_id, state, data or {}, unix(conv.deps.clock))


async def _ref_org(conv: Conversation, tx: Tx) -> Any:
    """The organisation whose invite link brought this person, if any."""
    person = await tx.users.get_user(conv.person.vk_id)
    code = normalise_code(person.ref) if person and person.ref else None
    if code is None and conv.incoming.ref:
        code = normalise_code(conv.incoming.ref)
    return await tx.activation.get_org_by_code(code) if code else None


# ------------------------------------------------------------------------------------------------
# Entry, consent, joining
# ------------------------------------------------------------------------------------------------


async def open_flow(conv: Conversation) -> list[Reply]:
    """«Регистрация в Сферуме»."""
    async with conv.deps.db.transaction() as tx:
        if await tx.personal.get_consent(conv.person.vk_id) is None:
            consent_needed = True
        else:
            consent_needed = False
            staff = await tx.activation.get_staff(conv.person.vk_id)
            if staff is not None:
                await _set_state(conv, tx, STATE_STEP)
                return await _step_screen(conv, tx, staff)
            await _set_state(conv, tx, STATE_CODE)
            return await _code_screen(conv, tx)
    if consent_needed:
        return await ask_consent(conv)
    return []


async def after_consent(conv: Conversation) -> list[Reply]:
    """Right after «Даю согласие»: join the organisation whose code asked for the consent,
    else go on where «Регистрация в Сферуме» leads."""
    code = conv.person.state_data.get("code")
    if code:  # «Присылать напоминания?» is asked once the person has joined
        return [*await join(conv, str(code)), *await subscription_offer(conv)]
    return await open_flow(conv)


async def invite_offer(conv: Conversation) -> Reply | None:
    """Right after «Педагог или сотрудник»: the organisation whose invite link brought the
    person (users.ref), offered with one «Присоединиться» above the menu; None if there is
    no such organisation or they have already joined one."""
    async with conv.deps.db.transaction() as tx:
        if await tx.activation.get_staff(conv.person.vk_id) is not None:
            return None
        org = await _ref_org(conv, tx)
        if org is None:
            return None
        await _set_state(conv, tx, STATE_CODE)
    keyboard = Keyboard.of([_join_button(conv, org)], *menu_keyboard(conv).rows)
    return Reply(t(conv, "staff.join_offer", org=org.name), keyboard, template="staff.join_offer")


def _join_button(conv: Conversation, org: Any) -> Button:
    return Button(label(conv, "btn.stf_join"), StaffJoin(code=org.invite_code).dump(), "positive")


async def _code_screen(conv: Conversation, tx: Tx, note: str | None = None) -> list[Reply]:
    org = await _ref_org(conv, tx)
    rows: list[list[Button]] = []
    if org is not None:
        key = "staff.join_offer"
        rows.append([_join_button(conv, org)])
    else:
        key = "staff.ask_code"
    rows.append([menu_button(conv)])
    text = t(conv, key, org=org.name if org else "")
    if note:
        text = note + "\n\n" + text
    return [Reply(text, Keyboard.of(*rows), template=key)]


async def join(conv: Conversation, code_text: str) -> list[Reply]:
    """Join by a code: typed, or the one in the «Присоединиться» button of a ref link. An
    unknown code is said at once; a known one asks the consent first if there is none yet
    (the code is kept with it, so «Даю согласие» joins)."""
    deps = conv.deps
    now = unix(deps.clock)
    code = normalise_code(code_text)
    limits = deps.settings.limits
    async with deps.db.transaction() as tx:
        # Guessing codes is throttled per person: a wait after too many wrong ones in a row.
        blocked = await tx.limits.get_code_block(conv.person.vk_id, now)
        if blocked is not None:
            await _set_state(conv, tx, STATE_CODE)
            return [_code_wait(conv, blocked, now)]
        org = await tx.activation.get_org_by_code(code) if code else None
        if org is None:
            await _set_state(conv, tx, STATE_CODE)
            if code:
                blocked = await tx.limits.upsert_code_failure(
                    conv.person.vk_id, now, limits.code_window_minutes * 60,
                    limits.code_attempts, limits.code_block_minutes * 60)
                if blocked is not None:
                    return [_code_wait(conv, blocked, now)]
            return await _code_screen(conv, tx, code_refusal(conv, code_text))
        await tx.limits.delete_code_attempts(conv.person.vk_id)
        consent_needed = await tx.personal.get_consent(conv.person.vk_id) is None
        if not consent_needed:
            await tx.activation.upsert_staff(conv.person.vk_id, org.id, now)
            await tx.users.update_org(conv.person.vk_id, org.id, now)
            await _set_state(conv, tx, STATE_STEP)
    if consent_needed:
        return await ask_consent(conv, {"code": code})
    await people(deps, [conv.person.vk_id])  # the VK name and sex, for the admin's staff list
    async with deps.db.read() as tx:
        staff = await tx.activation.get_staff(conv.person.vk_id)
        screen_ = await _step_screen(conv, tx, staff)
    return prefixed(t(conv, "staff.joined", org=org.name), screen_)


def _code_wait(conv: Conversation, until: int, now: int) -> Reply:
    minutes = max(1, -(-(until - now) // 60))
    return Reply(t(conv, "staff.code_wait", until=local_time(conv, until), minutes=minutes),
                 Keyboard.of([menu_button(conv)]), template="staff.code_wait")


# ------------------------------------------------------------------------------------------------
# The staff member's steps
# ------------------------------------------------------------------------------------------------


async def _step_screen(conv: Conversation, tx: Tx, staff: Any) -> list[Reply]:
    org = await tx.activation.get_org(staff.org_id)
    if org is None:
        return [main_menu(conv)]
    item = next_item(staff)
    overdue = bool(org.staff_deadline and not staff.confirmed_at
                   and show_date(org.staff_deadline) and org.staff_deadline < today(conv).isoformat())
    values = {"org": org.name, "links": org.links, "deadline": show_date(org.staff_deadline),
              "overdue": overdue}
    rows: list[list[Button]] = []
    if item is None:
        key = "staff.all_done"
    else:
        key = f"staff.items.{item}.text"
        spec = STAFF_STEPS[item]
        rows += [row for rows_of in spec.rows for row in rows_of(conv, org)]
        rows.append([Button(label(conv, spec.done), StaffDone(item=item).dump(), "positive")])  # type: ignore[arg-type]
        rows.append([Button(label(conv, "btn.act_problem"), StaffHelp(item=item).dump()),  # type: ignore[arg-type]
                     Button(label(conv, "btn.act_where"), StaffWhere().dump())])
    rows.append([menu_button(conv)])
    text = t(conv, key, **values)
    if item is not None:
        spec = STAFF_STEPS[item]
        text = t(conv, "activation.step_header", n=spec.number, total=STAFF_TOTAL,
                 title=t(conv, f"staff.items.{item}.title")) + "\n" + text
    return [Reply(text, Keyboard.of(*rows), template=key)]


async def screen(conv: Conversation) -> list[Reply]:
    """What a staff member in "staff:*" is looking at."""
    if conv.person.state == STATE_CONSENT:
        return await conv.deps.registry.continuation("personal_data.consent_screen")(conv, CONSENT)
    async with conv.deps.db.read() as tx:
        staff = await tx.activation.get_staff(conv.person.vk_id)
        if staff is not None:
            return await _step_screen(conv, tx, staff)
        if conv.person.state == STATE_CODE:
            return await _code_screen(conv, tx)
    return [main_menu(conv)]


async def done(conv: Conversation, item: str) -> list[Reply]:
    deps = conv.deps
    now = unix(deps.clock)
    async with deps.db.transaction() as tx:
        staff = await tx.activation.get_staff(conv.person.vk_id)
        if staff is None:
            await _set_state(conv, tx, STATE_CODE)
            return await _code_screen(conv, tx, t(conv, "staff.not_joined"))
        await _set_state(conv, tx, STATE_STEP)
        expected = next_item(staff)
        if item != expected:
            key = "staff.already_done" if getattr(staff, STAFF_STEPS[item].mark) else "staff.not_yet"
            return prefixed(t(conv, key), await _step_screen(conv, tx, staff))
        await tx.activation.update_staff_mark(conv.person.vk_id, STAFF_STEPS[item].mark, now)
        staff = await tx.activation.get_staff(conv.person.vk_id)
        org = await tx.activation.get_org(staff.org_id)
        screen_ = await _step_screen(conv, tx, staff)
    if STAFF_STEPS[item].tells_admin and org is not None and org.admin_vk_id:
        # The admin hears in a digest (at most one per limits.staff_digest_minutes), not once
        # per person: the first confirmation after a quiet spell goes at once.
        async with deps.db.transaction() as tx:
            await tx.limits.upsert_digest_item(org.admin_vk_id, staff.vk_id, org.id, now)
        await deliver_digests(deps, org.admin_vk_id)
    return prefixed(t(conv, f"staff.items.{item}.thanks"), screen_)


DIGEST_NAMES = 20


async def deliver_digests(deps: Any, admin_vk_id: int | None = None) -> int:
    """Send every digest that is due (or only this admin's); returns how many were sent. The
    waiting items are in SQLite, so a restart delays a digest but never loses it."""
    now = unix(deps.clock)
    period = deps.settings.limits.staff_digest_minutes * 60
    async with deps.db.read() as tx:
        admins = await tx.limits.list_due_digests(now - period)
    sent = 0
    for admin in admins:
        if admin_vk_id is not None and admin != admin_vk_id:
            continue
        async with deps.db.transaction() as tx:
            items = await tx.limits.list_digest_items(admin)
            if not items:
                continue
            await tx.limits.delete_digest_items(admin, [i.staff_vk_id for i in items], now)
        found = await people(deps, [i.staff_vk_id for i in items])  # names and sex from VK
        named = [{"name": found[i.staff_vk_id].name or profile_link(deps.texts, i.staff_vk_id),
                  "sex": found[i.staff_vk_id].sex, "org": i.org_name} for i in items]
        notice = Reply(
            deps.texts.render("activation.staff_digest", people=named[:DIGEST_NAMES],
                              count=len(named), more=max(0, len(named) - DIGEST_NAMES)),
            Keyboard.of([Button(deps.texts.label("btn.act_staff"), StaffList().dump())],
                        inline=True),
            template="activation.staff_digest")
        key = f"staff-digest:{admin}:{now}:{min(i.staff_vk_id for i in items)}"
        await deps.messenger.send([Outgoing(admin, notice, "notice", key)])
        sent += 1
    return sent


class StaffDigestService:
    """Flushes digests that waited for their period (every minute while the bot runs; tests
    move the clock and call ``tick``)."""

    def __init__(self, deps: Any, every: float = 60.0) -> None:
        self.deps = deps
        self.every = every
        self._task: Any = None

    async def start(self) -> None:
        await self.tick()  # digests that came due while the bot was down
        self._task = asyncio.create_task(self._loop(), name="staff-digest")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.tick()
            except Exception:
                logging.getLogger(__name__).exception("staff digest failed")

    async def tick(self) -> int:
        return await deliver_digests(self.deps)


async def help_(conv: Conversation, item: str, problem: str | None = None) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        await _set_state(conv, tx, STATE_STEP, {"problem": problem[:2000]} if problem else {})
    button = (Button(label(conv, "btn.act_pass"), StaffPass(item=item).dump(), "primary")  # type: ignore[arg-type]
              if problem else await conv.deps.registry.continuation("tickets.ask_button")(
                  conv, f"staff:{item}"))
    key = f"staff.items.{item}.help"
    return [Reply(t(conv, key) + "\n\n" + t(conv, "activation.help_offer"),
                  Keyboard.of([button], inline=True), template=key)]


async def pass_problem(conv: Conversation, item: str) -> list[Reply]:
    problem = conv.person.state_data.get("problem")
    if not problem:
        return await conv.deps.registry.continuation("tickets.ask")(conv, f"staff:{item}")
    async with conv.deps.db.transaction() as tx:
        await _set_state(conv, tx, STATE_STEP)
        person = await tx.users.get_user(conv.person.vk_id)
    assert person is not None
    conv.person = person
    return await conv.deps.registry.continuation("tickets.open_ticket")(
        conv, f"staff:{item}", str(problem))


async def where(conv: Conversation) -> list[Reply]:
    async with conv.deps.db.read() as tx:
        staff = await tx.activation.get_staff(conv.person.vk_id)
        if staff is None:
            return prefixed(t(conv, "staff.not_joined"), await _code_screen(conv, tx))
        org = await tx.activation.get_org(staff.org_id)
        item = next_item(staff)
        marks = [(STAFF_STEPS[i].number, t(conv, f"staff.items.{i}.title"),
                  local_date(conv, getattr(staff, STAFF_STEPS[i].mark)))
                 for i in STAFF_STEPS]
        text = t(conv, "staff.where", org=org.name if org else "", items=marks,
                 n=STAFF_STEPS[item].number if item else STAFF_TOTAL, total=STAFF_TOTAL,
                 finished=item is None)
        return prefixed(text, await _step_screen(conv, tx, staff))


# ------------------------------------------------------------------------------------------------
# Free text
# ------------------------------------------------------------------------------------------------


async def interpret(conv: Conversation, text: str) -> tuple[str, str] | None:
    """(what, text) for typed text a staff member's state understands; None otherwise."""
    state = conv.person.state
    if state == STATE_CODE:
        if normalise_code(text) or (len(text.split()) == 1 and 4 <= len(text.strip()) <= 12
                                    and any(c.isdigit() for c in text)):
            return ("code", text)
        return None
    if state == STATE_STEP:
        if has_phrase(text, words(conv, "problem")):
            return ("problem", text)
        # moving on needs the whole message to say so («готово», «я зарегистрировалась»)
        if means_only(text, words(conv, "done") + words(conv, "registered"), words(conv, "filler")):
            return ("done", text)
    return None


async def free_text(conv: Conversation, what: str, text: str) -> list[Reply]:
    if what == "code":
        return await join(conv, text)
    async with conv.deps.db.read() as tx:
        staff = await tx.activation.get_staff(conv.person.vk_id)
    item = next_item(staff) if staff is not None else None
    if staff is None or item is None:
        return await screen(conv)
    if what == "problem":
        return await help_(conv, item, text)
    return await done(conv, item)


# ------------------------------------------------------------------------------------------------
# An invitation code typed anywhere (the first message, the menu, inside a sentence)
# ------------------------------------------------------------------------------------------------

# States whose typed text is somebody's content (a broadcast, a question to a coordinator, a
# survey answer, a field of the application, a rejection reason): a code in it is not a request
# to join.
CONTENT_STATES = ("broadcast:", "ticket:", "survey:", "activation:form", "coord:reject")
_WORD = re.compile(r"[^\W_]+")
_CODE_LIKE = re.compile(r"^(?=.*\d)(?=.*[^\W\d_])[^\W_]{5,10}$")


def code_refusal(conv: Conversation, typed: str) -> str:
    """Why a typed code is not one: which characters codes never contain, or its length, or
    that no organisation has it. The alphabet named is the one codes are made of."""
    code = re.sub(r"[\s\-–—_]", "", twins_to_latin(typed.strip()).upper())
    letters = " ".join(c for c in CODE_ALPHABET if c.isalpha())
    digits = [c for c in CODE_ALPHABET if c.isdigit()]
    bad = list(dict.fromkeys(c for c in code if c not in CODE_ALPHABET))
    key = "staff.code_format" if bad or len(code) != CODE_LENGTH else "staff.code_unknown"
    return t(conv, key, code=code, bad=bad, length=len(code), need=CODE_LENGTH, letters=letters,
             digits=f"{digits[0]}–{digits[-1]}")


async def typed_code(conv: Conversation) -> tuple[str, Any] | None:
    """An invitation code in typed text: ("join", organisation) for a code some organisation
    has (alone or inside a sentence); ("wrong", text) for a message that is clearly just a code
    but no organisation's; ("wait", until) for such a message while code guessing is throttled;
    None otherwise — an ordinary sentence with a code-like word in it is left to the FAQ.
    At most two words are looked up per message, and a sentence's well-formed code that nobody
    has counts as a wrong guess, so codes cannot be guessed past the limit inside sentences."""
    incoming = conv.incoming
    if incoming.payload is not None or incoming.bad_payload or len(incoming.text) > 500:
        return None
    if conv.person.state.startswith(CONTENT_STATES):
        return None
    text = incoming.text.strip()
    tokens = _WORD.findall(text)
    whole = normalise_code(text)
    candidates = list(dict.fromkeys(
        c for c in [whole, *(normalise_code(w) for w in tokens)] if c))[:2]
    if not candidates:
        alone = len(tokens) == 1 and _CODE_LIKE.match(tokens[0]) is not None
        return ("wrong", text) if alone else None
    deps = conv.deps
    now = unix(deps.clock)
    async with deps.db.read() as tx:
        blocked = await tx.limits.get_code_block(conv.person.vk_id, now)
        if blocked is None:
            for code in candidates:
                org = await tx.activation.get_org_by_code(code)
                if org is not None:
                    return ("join", org)
    if blocked is not None:
        return ("wait", blocked) if whole else None
    if whole:
        return ("wrong", text)
    limits = deps.settings.limits
    async with deps.db.transaction() as tx:
        await tx.limits.upsert_code_failure(
            conv.person.vk_id, now, limits.code_window_minutes * 60, limits.code_attempts,
            limits.code_block_minutes * 60)
    return None


async def code_typed(conv: Conversation, kind: str, found: Any) -> list[Reply]:
    """Answer a typed code: join that organisation (a code means the staff role; the consent
    is asked first if there is none), or say why the code is not one."""
    deps = conv.deps
    now = unix(deps.clock)
    if kind == "wait":
        return [_code_wait(conv, int(found), now)]
    if kind == "wrong":
        if normalise_code(str(found)):  # well-formed but nobody's: a wrong guess, throttled
            limits = deps.settings.limits
            async with deps.db.transaction() as tx:
                blocked = await tx.limits.upsert_code_failure(
                    conv.person.vk_id, now, limits.code_window_minutes * 60,
                    limits.code_attempts, limits.code_block_minutes * 60)
            if blocked is not None:
                return [_code_wait(conv, blocked, now)]
        if not conv.person.state:  # the very first message: the greeting with the role choice
            greet = conv.deps.registry.continuation("onboarding.greet")
            return prefixed(code_refusal(conv, str(found)), await greet(conv))
        return prefixed(code_refusal(conv, str(found)), await current_screen(conv))
    org = found
    async with deps.db.read() as tx:
        own = await tx.activation.get_org(conv.person.org_id) if conv.person.org_id else None
        staff = await tx.activation.get_staff(conv.person.vk_id)
    if conv.access.coordinator or (own is not None and own.admin_vk_id == conv.person.vk_id):
        # a coordinator or the organisation's admin checking a code: it is not theirs to use
        return prefixed(t(conv, "staff.code_is_invite", org=org.name), await current_screen(conv))
    if staff is not None and staff.org_id == org.id and conv.person.role == "staff":
        async with deps.db.transaction() as tx:
            await _set_state(conv, tx, STATE_STEP)
            screen_ = await _step_screen(conv, tx, staff)
        return prefixed(t(conv, "staff.already_joined", org=org.name), screen_)
    became_staff = conv.person.role != "staff"
    if became_staff:
        async with deps.db.transaction() as tx:
            await tx.users.update_role(conv.person.vk_id, "staff", unix(deps.clock))
            person = await tx.users.get_user(conv.person.vk_id)
        assert person is not None
        conv.person = person
    replies = await join(conv, org.invite_code)
    if not became_staff:
        return replies
    replies = prefixed(t(conv, "staff.code_as_staff", org=org.name), replies)
    async with deps.db.read() as tx:
        consent = await tx.personal.get_consent(conv.person.vk_id)
    if consent is None:
        return replies  # «Присылать напоминания?» comes after the consent, not beside it
    return [*replies, *await subscription_offer(conv)]
