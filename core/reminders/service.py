"""Weekly reminders about what is left of the activation, the switch that turns reminders (and
surveys) off and on, and the consent to weekly messages asked after the role choice.

Who gets a reminder (read from the activation contract: organisations.step / step_updated_at /
admin_vk_id, staff.confirmed_at), with reminders on:
- the admin of an organisation stuck on a step (1..8) for ``stuck_after_days`` -- except steps
  where the admin has nothing to do (step 2: federal coordinators create the profile);
- staff who joined ``unconfirmed_after_days`` ago and have not confirmed their registration;
- the admin of an organisation with such staff.
One message per person and week lists everything that is left, with «Продолжить» and
«Не напоминать»; a person with nothing left to do gets nothing.

| event                                        | effect                                          |
|----------------------------------------------|-------------------------------------------------|
| RemindOff («Не напоминать», typed command)   | reminders_on = 0; «Напоминать снова» offered    |
| RemindOn («Напоминать снова», typed command) | reminders_on = 1, newsletter_ok = 1 (consent)   |
| Subscribe(yes) («Да» after the role choice)  | reminders_on = newsletter_ok = 1                |
| Subscribe(no) («Нет»)                        | reminders_on = 0                                |
| RemindersOpen («Напоминания», typed command) | status, the switch, «Опрос недели» if open      |
| RemindContinue («Продолжить»)                | the flow the person was in, else the main menu  |
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from core.activation.payloads import ActOpen, StaffOpen
from core.kernel.calendar import person_week
from core.kernel.conversation import Conversation
from core.kernel.domain import STEP_NAMES, TOTAL_STEPS, WAITING_STEPS, WEEKLY_ROLES
from core.kernel.menu import open_menu
from core.kernel.normalise import command_text as _normal
from core.kernel.screens import current_screen
from core.kernel.ui import Button, Keyboard, Reply
from core.reminders.payloads import RemindOff, RemindOn, Subscribe
from core.surveys.payloads import SurveyOpen
from storage import Tx
from storage.schedule import ALL_PEOPLE, PeopleRange

if TYPE_CHECKING:
    from core.kernel.deps import Deps
# ``settings`` below is deps.settings (typed Any as in Deps: core/ never imports the config).

DAY = 24 * 3600
COMMANDS = ("off", "on", "open")  # texts: reminders.cmd.<name>, forms separated by «|»


# --------------------------------------------------------------------------------------------
# Who needs a reminder and what it says
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    kind: Literal["stuck", "staff", "unconfirmed"]
    org: str
    municipality_id: int
    step: int = 0
    since: int = 0
    count: int = 0


ORDER = {"stuck": 0, "staff": 1, "unconfirmed": 2}


async def collect(tx: Tx, settings: Any, now: int,
                  people: PeopleRange = ALL_PEOPLE) -> dict[int, list[Item]]:
    """Everyone (with an id in ``people``) with something left to do, and what:
    person -> items (in a stable order)."""
    schedule = settings.schedule
    found: dict[int, list[Item]] = defaultdict(list)
    stuck_before = now - schedule.stuck_after_days * DAY
    for org in await tx.schedule.list_stuck_organisations(stuck_before, WAITING_STEPS, people):
        found[org.admin_vk_id].append(
            Item("stuck", org.name, org.municipality_id, step=org.step, since=org.since))
    joined_before = now - schedule.unconfirmed_after_days * DAY
    for admin in await tx.schedule.list_admins_with_unconfirmed(joined_before, people):
        found[admin.admin_vk_id].append(
            Item("staff", admin.name, admin.municipality_id, count=admin.count))
    for member in await tx.schedule.list_unconfirmed_staff(joined_before, people):
        found[member.vk_id].append(Item("unconfirmed", member.name, member.municipality_id))
    return {peer: sorted(items, key=lambda i: (ORDER[i.kind], i.org))
            for peer, items in found.items()}


def reminder_reply(deps: "Deps", items: list[Item], tz: ZoneInfo) -> Reply:
    texts = deps.texts
    go, off = texts.label("btn.remind_continue"), texts.label("btn.remind_off")
    parts = [texts.render("reminders.greeting")]
    for item in items:
        if item.kind == "stuck":
            since = datetime.fromtimestamp(item.since, timezone.utc).astimezone(tz)
            title, todo = step_texts(deps, item.step)
            parts.append(texts.render("reminders.stuck", org=item.org, step=item.step,
                                      total=TOTAL_STEPS, title=title, todo=todo,
                                      since=since.strftime("%d.%m.%Y")))
        elif item.kind == "staff":
            parts.append(texts.render("reminders.staff", org=item.org, count=item.count))
        else:
            parts.append(texts.render("reminders.unconfirmed", org=item.org, go=go))
    parts.append(texts.render("reminders.footer", go=go, off=off))
    keyboard = Keyboard.of([Button(go, continue_payload(items[0].kind), "primary")],
                           [Button(off, RemindOff().dump())], inline=True)
    return Reply("\n\n".join(parts), keyboard, template="reminders.greeting")


def step_texts(deps: "Deps", step: int) -> tuple[str, str]:
    """(title, what is left to do) of an activation step, in the activation feature's own words
    (the same the admin sees on that step); a generic line if they are missing."""
    texts = deps.texts
    key = STEP_NAMES.get(step, "")
    title, todo = f"activation.steps.{key}.title", f"activation.steps.{key}.todo"
    if not (key and texts.has(title) and texts.has(todo)):
        return "", texts.render("reminders.todo_generic", step=step)
    done = texts.render(todo)
    return texts.render(title), done if done.endswith((".", "!", "?")) else done + "."


def continue_payload(kind: str) -> dict[str, object]:
    """«Продолжить» opens the activation feature's own entry: the admin's steps (stuck, staff to
    confirm), the staff member's registration (unconfirmed)."""
    return (ActOpen() if kind in ("stuck", "staff") else StaffOpen()).dump()


# --------------------------------------------------------------------------------------------
# The switch, the consent, the screen
# --------------------------------------------------------------------------------------------
def weekly_roles(settings: Any) -> tuple[str, ...]:
    return WEEKLY_ROLES + (("parent",) if settings.schedule.survey_parents else ())


def subscription_offer(conv: Conversation) -> list[Reply]:
    """Asked once, after the role choice, of people who will get weekly messages: VK lets a
    community write to someone more than 24 hours after their last message only with consent."""
    person = conv.person
    if person.role not in weekly_roles(conv.deps.settings):
        return []
    if person.newsletter_ok or not person.reminders_on:
        return []  # already agreed, or already said no
    texts = conv.deps.texts
    keyboard = Keyboard.of([Button(texts.label("btn.subscribe_yes"), Subscribe(yes=True).dump(),
                                   "positive"),
                            Button(texts.label("btn.subscribe_no"), Subscribe(yes=False).dump())],
                           inline=True)
    return [Reply(texts.render("reminders.subscribe.ask"), keyboard,
                  template="reminders.subscribe.ask")]


async def _set(conv: Conversation, **flags: bool) -> None:
    async with conv.deps.db.transaction() as tx:
        await tx.users.update_flags(conv.person.vk_id, **flags)
        fresh = await tx.users.get_user(conv.person.vk_id)
    assert fresh is not None
    conv.person = fresh


async def subscribe(conv: Conversation, yes: bool) -> list[Reply]:
    texts = conv.deps.texts
    if yes:
        await _set(conv, reminders_on=True, newsletter_ok=True)
    else:
        await _set(conv, reminders_on=False)
    key = "reminders.subscribe.yes" if yes else "reminders.subscribe.no"
    return [Reply(texts.render(key, reminders=texts.label("btn.reminders")), template=key)]


def _on_button(conv: Conversation) -> Button:
    return Button(conv.deps.texts.label("btn.remind_on"), RemindOn().dump(), "positive")


def _off_button(conv: Conversation) -> Button:
    return Button(conv.deps.texts.label("btn.remind_off"), RemindOff().dump())


async def turn_off(conv: Conversation) -> list[Reply]:
    await _set(conv, reminders_on=False)
    texts = conv.deps.texts
    text = texts.render("reminders.settings.turned_off", on=texts.label("btn.remind_on"))
    return [Reply(text, Keyboard.of([_on_button(conv)], inline=True),
                  template="reminders.settings.turned_off")]


async def turn_on(conv: Conversation) -> list[Reply]:
    # Pressing «Напоминать снова» is an explicit consent to weekly messages.
    await _set(conv, reminders_on=True, newsletter_ok=True)
    texts = conv.deps.texts
    text = texts.render("reminders.settings.turned_on", off=texts.label("btn.remind_off"))
    return [Reply(text, Keyboard.of([_off_button(conv)], inline=True),
                  template="reminders.settings.turned_on")]


async def settings_screen(conv: Conversation) -> list[Reply]:
    """«Напоминания» in the menu: whether they are on, the switch, and this week's survey."""
    texts = conv.deps.texts
    rows: list[list[Button]] = []
    if conv.person.reminders_on:
        key = "reminders.settings.on"
        text = texts.render(key)
        survey = await resume_button(conv)
        if survey is not None:
            rows.append([survey])
        rows.append([_off_button(conv)])
    else:
        key = "reminders.settings.off"
        text = texts.render(key, on=texts.label("btn.remind_on"))
        rows.append([_on_button(conv)])
    return [Reply(text, Keyboard.of(*rows, inline=True), template=key)]


async def resume_button(conv: Conversation) -> Button | None:
    """«Опрос недели», when this week's survey was sent to the person and is not finished yet."""
    deps = conv.deps
    async with deps.db.read() as tx:
        week = await person_week(tx, deps.settings, deps.clock.now(), conv.person.vk_id)
        sent = await tx.schedule.get_run("survey", week, conv.person.vk_id)
        answer = await tx.surveys.get_answer(week, conv.person.vk_id)
    if not sent or (answer is not None and answer.completed):
        return None
    return Button(deps.texts.label("btn.survey_resume"), SurveyOpen(w=week).dump(), "primary")


async def continue_flow(conv: Conversation) -> list[Reply]:
    """«Продолжить» under a reminder: back to the flow the person was in (its screen is
    registered in core.screens), or the main menu, which leads to every flow."""
    prefix = conv.person.state.split(":", 1)[0]
    if prefix in ("", "menu", "start", "survey"):
        return await open_menu(conv)
    return await current_screen(conv)


def typed_command(conv: Conversation) -> str | None:
    """'off' / 'on' / 'open' when the person typed one of the reminder commands."""
    if conv.incoming.payload is not None or conv.incoming.bad_payload:
        return None
    said = _normal(conv.incoming.text)
    if not said:
        return None
    for name in COMMANDS:
        forms = conv.deps.texts.render(f"reminders.cmd.{name}").split("|")
        if said in {_normal(f) for f in forms}:
            return name
    return None


async def command(conv: Conversation, name: str) -> list[Reply]:
    if name == "off":
        return await turn_off(conv)
    if name == "on":
        return await turn_on(conv)
    return await settings_screen(conv)
