"""Personal data (152-ФЗ): the consent, «Мои данные», withdrawing consent and erasing.

The consent is a separate act, asked before the first personal field (the application form of
an organisation admin; joining an organisation as a staff member, whose VK name and progress the
admin then sees). Its full text is ``content/consent/v<N>.md`` (a Jinja2 template); the highest N
is the version in force, and ``consents`` records who agreed to which version and when. People
are shown its short summary ``v<N>.summary.md`` (who, what data, why, how to withdraw) with the
full text one press away («Полный текст»); what they agree to and what is recorded is the full
text's version.

The flow that needs the consent asks it through the registry ("personal_data.ask_consent":
``then`` names the flow, ``state`` is its own state while the question is shown, e.g.
"activation:consent"); «Даю согласие» resumes that flow: the continuation "consent.given"
with ``then``, registered by the feature whose flows ask.
This feature knows nothing of what follows the consent.

States: the asking flow's (see above), "mydata:view" (what is stored is shown), "mydata:erase"
(erasing asked, waits for «Да»).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Template, TemplateSyntaxError

from core.kernel.clock import unix
from core.kernel.display import format_phone, local_date, local_time
from core.kernel.conversation import Conversation
from core.kernel.domain import ROLES
from core.kernel.menu import main_menu, menu_button
from core.kernel.screens import current_screen
from core.kernel.payloads import Start
from core.kernel.texts import TextsError, content_root, make_environment
from core.kernel.ui import Button, Keyboard, Reply, prefixed
from core.personal_data.payloads import EraseAsk, EraseConfirm, FullConsent, GiveConsent, MyData, Then

_VERSION_FILE = re.compile(r"^v(\d+)(\.summary)?\.md$")
STATE_VIEW = "mydata:view"
STATE_ERASE = "mydata:erase"
ASKED = "consent_for"  # state_data: which flow's consent is being asked
CONSENT_GIVEN = "consent.given"  # the continuation «Даю согласие» resumes (with ``then``)


@dataclass(frozen=True)
class ConsentBook:
    versions: dict[str, Template]
    current: str
    summaries: dict[str, Template]

    def render(self, region: str, version: str | None = None, messenger: str = "vk") -> str:
        """The document; ``messenger`` is where the person writes from: the data a messenger
        gives (VK: name, sex, page id; MAX: profile name, account number) differ."""
        return self.versions[version or self.current].render(
            region=region, messenger=messenger).strip()

    def summary(self, region: str, messenger: str = "vk") -> str:
        """The short form of the version in force."""
        return self.summaries[self.current].render(region=region, messenger=messenger).strip()


def consent_folder(override: Path | None) -> Path:
    """content/consent of the configured content folder, else the packaged one."""
    folder = content_root(override) / "consent"
    return folder if folder.is_dir() else content_root(None) / "consent"


def load_consents(folder: Path) -> ConsentBook:
    env = make_environment()
    versions: dict[str, Template] = {}
    summaries: dict[str, Template] = {}
    numbers: dict[str, int] = {}
    for path in sorted(folder.glob("*.md")):
        match = _VERSION_FILE.match(path.name)
        if match is None:
            raise TextsError(f"{path}: consent files are named v<N>.md and v<N>.summary.md")
        version = f"v{int(match[1])}"
        try:
            template = env.from_string(path.read_text(encoding="utf-8"))
        except TemplateSyntaxError as exc:
            raise TextsError(f"{path}: template error: {exc}") from None
        if match[2]:
            summaries[version] = template
        else:
            versions[version] = template
            numbers[version] = int(match[1])
    if not versions:
        raise TextsError(f"{folder}: no consent text (v1.md)")
    book = ConsentBook(versions, max(numbers, key=numbers.__getitem__), summaries)
    if book.current not in summaries:
        raise TextsError(f"{folder}: no short form of the consent in force ({book.current}.summary.md)")
    for messenger in ("vk", "max"):  # a missing variable: an error at start, not in front of a person
        book.render("-", messenger=messenger)
        book.summary("-", messenger)
    return book


def _t(conv: Conversation, key: str, **values: Any) -> str:
    return conv.deps.texts.render(key, **values)


def _book(conv: Conversation) -> ConsentBook:
    return conv.deps.services["consent"]


def _asked(conv: Conversation, then: Then) -> bool:
    """The consent this button answers is the one being asked (not an old message's)."""
    return conv.person.state.endswith(":consent") and conv.person.state_data.get(ASKED, then) == then


def consent_screen(conv: Conversation, then: Then, full: bool = True,
                   document: bool = False) -> list[Reply]:
    """The consent's short form with the question and its buttons; ``document``: the full text
    first («Полный текст»); not ``full``: the question only (shown again after a detour)."""
    texts = conv.deps.texts
    book = _book(conv)
    region = conv.deps.settings.region.name
    rows = [[Button(texts.label("btn.pd_agree"), GiveConsent(agree=True, then=then).dump(),
                    "positive")]]
    if not document:
        rows.append([Button(texts.label("btn.pd_full"), FullConsent(then=then).dump())])
    rows += [[Button(texts.label("btn.pd_decline"), GiveConsent(agree=False, then=then).dump())],
             [menu_button(conv)]]
    key = f"pd.ask_{then}"
    question = _t(conv, key, full_shown=document)
    if document:
        return [Reply(book.render(region, messenger=conv.incoming.messenger),
                      template=f"consent.{book.current}"),
                Reply(question, Keyboard.of(*rows), template=key)]
    if full:
        question = book.summary(region, conv.incoming.messenger) + "\n\n" + question
    return [Reply(question, Keyboard.of(*rows), template=key)]


async def full_text(conv: Conversation, then: Then) -> list[Reply]:
    """«Полный текст»: the whole consent, then the same question."""
    if not _asked(conv, then):
        return prefixed(_t(conv, "input.bad_button"), await current_screen(conv))
    return consent_screen(conv, then, document=True)


async def ask_consent(conv: Conversation, then: Then, state: str,
                      data: dict[str, Any] | None = None) -> list[Reply]:
    """Ask for the flow ``then`` (the person is put in its ``state``, "<flow>:consent");
    ``data`` stays in state_data for the flow to go on with after «Даю согласие»."""
    async with conv.deps.db.transaction() as tx:
        await tx.users.update_state(conv.person.vk_id, state, {**(data or {}), ASKED: then},
                                    unix(conv.deps.clock))
    return consent_screen(conv, then)


async def question_screen(conv: Conversation, then: Then) -> list[Reply]:
    """The question alone, shown again after a detour (the asking flow's screen)."""
    return consent_screen(conv, then, full=False)


async def answer_consent(conv: Conversation, agree: bool, then: Then) -> list[Reply]:
    if not _asked(conv, then):
        return prefixed(_t(conv, "input.bad_button"), await current_screen(conv))
    async with conv.deps.db.transaction() as tx:
        now = unix(conv.deps.clock)
        if agree:
            await tx.personal.upsert_consent(conv.person.vk_id, _book(conv).current, now)
        else:
            await tx.users.update_state(conv.person.vk_id, "menu", {}, now)
        person = await tx.users.get_user(conv.person.vk_id)
    assert person is not None
    conv.person = person
    if not agree:
        return [Reply(_t(conv, f"pd.declined_{then}"), template=f"pd.declined_{then}"),
                main_menu(conv)]
    resume = conv.deps.registry.continuation(CONSENT_GIVEN)  # the flow that asked goes on
    return prefixed(_t(conv, "pd.thanks"), await resume(conv, then))


# ------------------------------------------------------------------------------------------------
# «Мои данные»
# ------------------------------------------------------------------------------------------------


def _zone(conv: Conversation) -> str:
    return conv.deps.settings.region.timezone


async def _collect(conv: Conversation) -> dict[str, Any]:
    vk_id = conv.person.vk_id
    async with conv.deps.db.read() as tx:
        person = await tx.users.get_user(vk_id)
        consent = await tx.personal.get_consent(vk_id)
        org = await tx.activation.get_org(person.org_id if person else None)
        apps = [await tx.activation.get_application(i)
                for i in await tx.personal.list_application_ids(vk_id)]
        staff = await tx.activation.get_staff(vk_id)
        draft = await tx.activation.get_draft(vk_id)
        surveys = await tx.personal.count_survey_answers(vk_id)
        tickets = await tx.personal.count_tickets(vk_id)
        account = await tx.accounts.get_external(vk_id)
    assert person is not None
    return {
        "vk_id": vk_id,
        # the number in their messenger (a MAX person's internal id is not their MAX id)
        "external_id": account[1] if account else vk_id,
        "name": f"{person.first_name} {person.last_name}".strip(),
        "sex": person.sex or 0,  # from the VK profile, for texts about them («сообщила»)
        "role": _t(conv, f"pd.roles.{person.role}") if person.role else "",
        "org": org.name if org else "",
        "org_step": org.step if org else 0,
        "applications": [{
            "id": a.id, "date": local_date(_zone(conv), a.created_at), "org": a.org_name,
            "kind": conv.deps.texts.label(f"btn.kind_{a.org_kind}"), "municipality": a.municipality,
            "full_name": a.admin_full_name, "phone": a.admin_phone, "email": a.admin_email or "",
            "status": _t(conv, f"coord.status.{a.status}")} for a in apps if a is not None],
        "draft": bool(draft and len(draft) > 1),
        "staff": {"joined": local_date(_zone(conv), staff.joined_at),
                  "confirmed": local_date(_zone(conv), staff.confirmed_at),
                  "app": local_date(_zone(conv), staff.app_at),
                  "chat": local_date(_zone(conv), staff.chat_at)} if staff else None,
        "consent": {"version": consent.version, "at": local_time(_zone(conv), consent.given_at)}
        if consent else None,
        "ref": person.ref or "",
        "reminders": person.reminders_on,
        "broadcasts": person.broadcasts_on,
        "surveys": surveys,
        "tickets": tickets,
    }


def _view_keyboard(conv: Conversation) -> Keyboard:
    texts = conv.deps.texts
    return Keyboard.of([Button(texts.label("btn.pd_erase"), EraseAsk().dump(), "negative")],
                       [menu_button(conv)])


ROW_MAX = 300  # characters of one stored row shown


def _value(conv: Conversation, column: str, value: Any) -> str:
    if isinstance(value, int) and (column.endswith("_at") or column in ("at", "blocked_until")):
        return local_time(_zone(conv), value)
    if column == "role" and value in ROLES:
        return _t(conv, f"pd.roles.{value}")
    if column == "sex" and value in (0, 1, 2):
        return _t(conv, f"pd.sex.{value}")
    if column == "admin_phone":
        return format_phone(value)
    if column == "keyboard":  # a MAX menu (max_menus): its buttons' labels, not its JSON
        return ", ".join(_labels(value))
    return " ".join(str(value).split())


def _labels(keyboard: Any) -> list[str]:
    try:
        rows = json.loads(keyboard)["rows"]
        return [str(b["label"]) for row in rows for b in row]
    except (ValueError, KeyError, TypeError):
        return []


def _field(conv: Conversation, column: str, value: Any) -> str:
    return _t(conv, f"pd.col.{column}") + ": " + _value(conv, column, value)


async def _stored(conv: Conversation) -> Reply:
    """Everything stored about the person, read through the registry that erasure uses."""
    async with conv.deps.db.read() as tx:
        found = await tx.personal.list_stored(conv.person.vk_id)
    places = []
    for place, total, rows in found:
        lines = []
        for row in rows:
            line = " · ".join(_field(conv, k, v) for k, v in row.items()
                              if v not in (None, "", "{}"))
            lines.append(line[:ROW_MAX] + ("…" if len(line) > ROW_MAX else ""))
        kept = ""
        if place.erase == "keep":
            kept = _t(conv, "pd.kept_consent" if place.table == "consents" else "pd.kept_official")
        places.append({"label": _t(conv, place.label_key), "total": total, "rows": lines,
                       "more": total - len(rows), "kept": kept})
    return Reply(_t(conv, "pd.stored", places=places), template="pd.stored")


async def my_data(conv: Conversation) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        await tx.users.update_state(conv.person.vk_id, STATE_VIEW, {}, unix(conv.deps.clock))
    return [await _stored(conv),
            Reply(_t(conv, "pd.summary", **await _collect(conv)), _view_keyboard(conv),
                  template="pd.summary")]


def _erase_screen(conv: Conversation) -> list[Reply]:
    texts = conv.deps.texts
    keyboard = Keyboard.of(
        [Button(texts.label("btn.pd_erase_yes"), EraseConfirm().dump(), "negative")],
        [Button(texts.label("btn.pd_keep"), MyData().dump())])
    return [Reply(_t(conv, "pd.erase_confirm"), keyboard, template="pd.erase_confirm")]


async def erase_ask(conv: Conversation) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        await tx.users.update_state(conv.person.vk_id, STATE_ERASE, {}, unix(conv.deps.clock))
    return _erase_screen(conv)


async def erase(conv: Conversation) -> list[Reply]:
    """Only right after «Удалить?» was asked: an old «Да» button asks again."""
    async with conv.deps.db.transaction() as tx:
        person = await tx.users.get_user(conv.person.vk_id)
        if person is None or person.state != STATE_ERASE:
            await tx.users.update_state(conv.person.vk_id, STATE_ERASE, {}, unix(conv.deps.clock))
            return prefixed(_t(conv, "pd.erase_again"), _erase_screen(conv))
        await tx.personal.delete_person(conv.person.vk_id, unix(conv.deps.clock))
    # Bulk messages already loaded for sending are dropped too, not only the queued rows.
    conv.deps.messenger.forget(conv.person.vk_id)
    # Old page images with the person's data stay in the WAL until a checkpoint.
    await conv.deps.db.checkpoint()
    keyboard = Keyboard.of([Button(conv.deps.texts.label("btn.pd_start"), Start().dump(), "primary")])
    return [Reply(_t(conv, "pd.erased"), keyboard, template="pd.erased")]


async def screen(conv: Conversation) -> list[Reply]:
    if conv.person.state == STATE_ERASE:
        return _erase_screen(conv)
    return [Reply(_t(conv, "pd.summary", **await _collect(conv)), _view_keyboard(conv),
                  template="pd.summary")]
