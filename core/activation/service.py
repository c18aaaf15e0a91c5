"""The 8-step profile activation (seed 001, «Схема активации профиля и регистрации сотрудников»):
the organisation admin's path — the entry, the application form (step 1), and the buttons and
typed text on the steps. The steps themselves (who acts, what «Готово» and «Назад» do, what
each step's screen has, the only writer of organisations.step) are the table in
``core/activation/steps.py``; staff: ``staff.py``; coordinators' queue: ``queue.py``; pure checks
of typed values: ``checks.py``. The consent is asked by the personal_data feature (through the
registry) and resumes here (``FEATURE.continuations``).

The whole flow is tables: FORM (the application, step 1), ``steps.STEPS`` (the organisation's
steps 1..8, then ACTIVATED) and ``steps.APP_FLOW`` (the application statuses that move steps 1..3).

States of the admin (users.state):
    activation:consent   the consent is shown; «Даю согласие» -> activation:form
    activation:form      the application form; application_drafts.data["field"] is the field asked
    activation:step      on the organisation's step: organisations.step (STEPS)

Progress lives in SQLite (organisations.step, application_drafts, applications), so it survives
restarts. Every change re-reads the organisation inside its transaction: a button of an earlier
step (an old message, a second device, a colleague) is answered politely and not applied
(``common.StaleButton``).
"""

from __future__ import annotations

from typing import Any

from core.activation.checks import FIELD_PARSERS, means_only, normalise_words
from core.activation.common import (
    STATE_CONSENT,
    STATE_FORM,
    STATE_STEP,
    StaleButton,
    admin_org,
    answers_stale,
    date_examples,
    kind_label,
    label,
    local_date,
    own_org,
    reply,
    set_state,
    show_date,
    stale,
    t,
    twins,
    words,
)
from core.activation.payloads import (
    ActOpen,
    Applications,
    FormBack,
    FormKeep,
    FormKind,
    FormMunicipality,
    FormPage,
    FormRestart,
    FormSkip,
    FormSubmit,
    Panel,
    PassProblem,
    StaffOpen,
)
from core.activation import staff, steps
from core.activation.steps import (
    STEPS,
    Intent,
    invite_reply,
    step_done,
    step_keyboard,
    step_screen,
    step_title,
    understood,
)
from core.kernel.clock import unix
from core.kernel.conversation import Conversation
from core.kernel.domain import ACTIVATED, TOTAL_STEPS
from core.kernel.menu import main_menu, menu_button
from core.kernel.outgoing import Outgoing
from core.kernel.people import people as remember_people
from core.kernel.people import profile_link
from core.kernel.ui import Button, Keyboard, Reply, prefixed
from core.kernel.untrusted import relayed
from storage import Tx

ORG_KINDS = ("school", "college", "extra", "preschool", "office", "method")
# The application form (step 1), asked in this order after the consent.
FORM: tuple[str, ...] = ("org_name", "kind", "municipality", "full_name", "phone", "email",
                         "confirm")
REQUIRED = ("org_name", "kind", "municipality_id", "full_name", "phone")
MUNICIPALITIES_PAGE = 8
CONSENT = "act"  # what the admin's consent buttons carry (``then``); «Даю согласие»: start_form


def menu_entries(conv: Conversation) -> list[list[Button]]:
    """The feature's rows in the main menu, by role."""
    rows: list[list[Button]] = []
    if conv.person.role == "org_admin":
        rows.append([Button(label(conv, "btn.act_open"), ActOpen().dump(), "primary")])
    if conv.person.role == "staff":
        rows.append([Button(label(conv, "btn.stf_open"), StaffOpen().dump(), "primary")])
    if conv.access.coordinator:
        rows.append([Button(label(conv, "btn.crd_open"), Panel().dump())])
    return rows


async def ask_consent(conv: Conversation, then: str, state: str,
                      data: dict[str, Any] | None = None) -> list[Reply]:
    """The personal_data feature asks the consent; «Даю согласие» resumes ``consent_given``."""
    return await conv.deps.registry.continuation("personal_data.ask_consent")(
        conv, then, state, data)


async def consent_screen(conv: Conversation, then: str) -> list[Reply]:
    """The consent question again (after a detour), as the personal_data feature shows it."""
    return await conv.deps.registry.continuation("personal_data.consent_screen")(conv, then)


# ------------------------------------------------------------------------------------------------
# Entry and the screen of "activation:*"
# ------------------------------------------------------------------------------------------------


async def open_flow(conv: Conversation) -> list[Reply]:
    """«Активация профиля»: wherever the admin is — consent, the form, or their step."""
    async with conv.deps.db.transaction() as tx:
        org = await own_org(tx, conv.person.vk_id)
        if org is not None:
            await set_state(conv, tx, STATE_STEP)
            return await step_screen(conv, tx, org)
        consent = await tx.personal.get_consent(conv.person.vk_id)
        if consent is not None:
            draft = await tx.activation.get_draft(conv.person.vk_id)
            if draft is None:
                draft = {"field": FORM[0]}
                await tx.activation.upsert_draft(conv.person.vk_id, draft, unix(conv.deps.clock))
            await set_state(conv, tx, STATE_FORM)
            intro = "activation.form.resume" if len(draft) > 1 else "activation.form.intro"
            return prefixed(t(conv, intro), await _form_screen(conv, tx, draft))
    return await ask_consent(conv, CONSENT, STATE_CONSENT)


async def start_form(conv: Conversation) -> list[Reply]:
    """Right after the consent was given for the form."""
    return await open_flow(conv)


async def consent_given(conv: Conversation, then: str) -> list[Reply]:
    """«Даю согласие» (the continuation "consent.given"): the flow that asked goes on — the
    admin's form, or joining an organisation as staff."""
    resume = {CONSENT: start_form, staff.CONSENT: staff.after_consent}[then]
    return await resume(conv)


async def screen(conv: Conversation) -> list[Reply]:
    """What an admin in "activation:*" is looking at (shown again after a detour)."""
    if conv.person.state == STATE_CONSENT:
        return await consent_screen(conv, CONSENT)
    async with conv.deps.db.read() as tx:
        if conv.person.state == STATE_FORM:
            draft = await tx.activation.get_draft(conv.person.vk_id)
            if draft is not None:
                return await _form_screen(conv, tx, draft)
        org = await own_org(tx, conv.person.vk_id)
        if org is not None:
            return await step_screen(conv, tx, org)
    return [main_menu(conv)]


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
    return await ask_consent(conv, CONSENT, STATE_CONSENT)  # withdrawn since: ask it first


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
                                             1, now)  # a new one starts on step 1
        await steps.follow_application(tx, org.id, org.step, "new", now)  # the application moves it
        org = await tx.activation.get_org(org.id)
        app_id = await tx.activation.insert_application(
            org.id, conv.person.vk_id, draft["full_name"], draft["phone"], draft.get("email"), now)
        await tx.users.update_org(conv.person.vk_id, org.id, now)
        await tx.activation.delete_draft(conv.person.vk_id)
        await set_state(conv, tx, STATE_STEP)
        coordinators = set(await tx.tickets.list_coordinators(org.municipality_id))
        municipality = await tx.territory.get_municipality(org.municipality_id)
        duplicates = await twins(tx, org.id, org.name, org.municipality_id)
        screen_ = await step_screen(conv, tx, org)
    coordinators |= set(deps.settings.access.coordinators) | set(deps.settings.access.admins)
    coordinators.discard(conv.person.vk_id)
    await _notify_coordinators(conv, sorted(coordinators), app_id, org.name,
                               municipality.name if municipality else "", duplicates,
                               draft["full_name"], draft["phone"])
    return prefixed(t(conv, "activation.form.submitted", id=app_id), screen_)


async def _notify_coordinators(conv: Conversation, coordinators: list[int], app_id: int,
                               org_name: str, municipality: str,
                               duplicates: list[Any] | None = None, full_name: str = "",
                               phone: str = "") -> None:
    if not coordinators:
        return
    notice = Reply(t(conv, "coord.new_application", id=app_id, org=relayed(org_name),
                     municipality=municipality, full_name=full_name, phone=phone,
                     link=profile_link(conv.deps.texts, conv.person.vk_id),
                     twins=[{"id": o.id, "name": o.name} for o in duplicates or []]),
                   Keyboard.of([Button(label(conv, "btn.crd_apps"), Applications().dump())],
                               inline=True),
                   template="coord.new_application")
    await conv.deps.messenger.send(
        [Outgoing(c, notice, "notice", f"app-new:{app_id}", about=conv.person.vk_id)
         for c in coordinators])


# ------------------------------------------------------------------------------------------------
# On a step: help, where am I, the invitation, the staff list
# ------------------------------------------------------------------------------------------------


@answers_stale
async def step_help(conv: Conversation, step: int, problem: str | None = None) -> list[Reply]:
    """«Не получается»: the step's help, then an offer to pass the problem to a coordinator."""
    async with conv.deps.db.transaction() as tx:
        org = await admin_org(conv, tx)
        step = org.step if step not in STEPS else step
        data = {"problem": problem[:2000]} if problem else {}
        await set_state(conv, tx, STATE_STEP, data)
    source = f"activation:step{step}"
    button = (Button(label(conv, "btn.act_pass"), PassProblem(step=step).dump(), "primary")
              if problem else await conv.deps.registry.continuation("tickets.ask_button")(conv, source))
    key = f"activation.steps.{STEPS[step].key}.help"
    return [Reply(t(conv, key) + "\n\n" + t(conv, "activation.help_offer"),
                  Keyboard.of([button], inline=True), template=key)]


async def pass_problem(conv: Conversation, step: int) -> list[Reply]:
    """«Передать координатору» under the help for a problem the admin already described."""
    problem = conv.person.state_data.get("problem")
    source = f"activation:step{step}"
    if not problem:
        return await conv.deps.registry.continuation("tickets.ask")(conv, source)
    async with conv.deps.db.transaction() as tx:
        await set_state(conv, tx, STATE_STEP)  # the problem is sent: forget it
        person = await tx.users.get_user(conv.person.vk_id)
    assert person is not None
    conv.person = person
    return await conv.deps.registry.continuation("tickets.open_ticket")(conv, source, str(problem))


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
            return [Reply(text, step_keyboard(conv, org), template="activation.where")]
    return prefixed(text, await open_flow(conv))


@answers_stale
async def invite(conv: Conversation) -> list[Reply]:
    async with conv.deps.db.read() as tx:
        org = await admin_org(conv, tx)
    if not org.invite_code:
        return [Reply(t(conv, "activation.missing.invite_code", **date_examples(conv)),
                      step_keyboard(conv, org), template="activation.missing.invite_code")]
    return [reply(conv, "activation.invite_intro"), invite_reply(conv, org)]


async def platform_help(conv: Conversation, platform: str) -> list[Reply]:
    return [reply(conv, f"activation.platform.{platform}")]


@answers_stale
async def staff_list(conv: Conversation) -> list[Reply]:
    """Who joined by the invite, who confirmed registration; a reminder to approve them."""
    async with conv.deps.db.read() as tx:
        org = await admin_org(conv, tx)
        staff = await tx.activation.list_staff(org.id)
    nameless = [s.vk_id for s in staff if not (s.first_name or s.last_name) or s.sex is None]
    if nameless:  # names and sex from VK, kept for next time
        await remember_people(conv.deps, nameless)
        async with conv.deps.db.read() as tx:
            staff = await tx.activation.list_staff(org.id)
    people = [{"name": f"{s.first_name} {s.last_name}".strip()
               or profile_link(conv.deps.texts, s.vk_id),
               "sex": s.sex or 0, "confirmed": local_date(conv, s.confirmed_at), "app": bool(s.app_at),
               "chat": bool(s.chat_at), "joined": local_date(conv, s.joined_at)} for s in staff]
    return [reply(conv, "activation.staff_list", org=org.name, people=people,
                  confirmed=sum(1 for s in staff if s.confirmed_at), total=len(staff),
                  deadline=show_date(org.staff_deadline))]


# ------------------------------------------------------------------------------------------------
# Free text inside a step
# ------------------------------------------------------------------------------------------------


async def interpret(conv: Conversation, text: str) -> Intent | None:
    """What typed text means on the admin's current step (the step's row says); None when it
    means nothing here (then the FAQ may answer it, and the fallback shows the step again)."""
    async with conv.deps.db.read() as tx:
        org = await own_org(tx, conv.person.vk_id)
    if org is None or org.step >= ACTIVATED:
        return None
    return understood(conv, STEPS[org.step], text)


async def step_text(conv: Conversation, intent: Intent) -> list[Reply]:
    async with conv.deps.db.read() as tx:
        org = await own_org(tx, conv.person.vk_id)
    if org is None:
        return await stale(conv)
    if intent.kind == "problem":
        return await step_help(conv, org.step, intent.text)
    if intent.answer is not None:
        return await intent.answer(conv, intent.text)
    return await step_done(conv, org.step)
