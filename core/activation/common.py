"""What the activation's modules share: catalog texts, dates in the region's zone, the admin's
state and organisation, and the one answer to a button that no longer fits."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from core.activation.checks import name_key, normalise_words
from core.kernel import dates, display
from core.kernel.clock import unix
from core.kernel.conversation import Conversation
from core.kernel.menu import main_menu
from core.kernel.screens import current_screen
from core.kernel.ui import Keyboard, Reply, prefixed
from storage import Tx

# States of the organisation admin (users.state)
STATE_CONSENT = "activation:consent"  # the consent is shown; «Даю согласие» -> the form
STATE_FORM = "activation:form"        # the application form (step 1)
STATE_STEP = "activation:step"        # on the organisation's step (organisations.step)


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
    return display.local_date(conv.deps.settings.region.timezone, stamp)


def local_time(conv: Conversation, stamp: int | None) -> str:
    return display.local_time(conv.deps.settings.region.timezone, stamp)


def show_date(iso: str | None) -> str:
    return date.fromisoformat(iso).strftime("%d.%m.%Y") if iso else ""


def kind_label(conv: Conversation, kind: str) -> str:
    return label(conv, f"btn.kind_{kind}")


async def set_state(conv: Conversation, tx: Tx, state: str, data: dict[str, Any] | None = None) -> None:
    await tx.users.update_state(conv.person.vk_id, state, data or {}, unix(conv.deps.clock))


async def own_org(tx: Tx, vk_id: int) -> Any:
    """The organisation this person is the admin of (re-read inside the caller's transaction)."""
    person = await tx.users.get_user(vk_id)
    org = await tx.activation.get_org(person.org_id if person else None)
    return org if org is not None and org.admin_vk_id == vk_id else None


async def twins(tx: Tx, org_id: int, name: str, municipality_id: int) -> list[Any]:
    """Other organisations of the same municipality with the same name: a second application
    for one school (by mistake, or by someone posing as its administrator)."""
    key = name_key(name)
    return [o for o in await tx.territory.list_organisations(municipality_id)
            if o.id != org_id and name_key(o.name) == key]


# ------------------------------------------------------------------------------------------------
# A button that no longer fits (an old message, a second device, a colleague who moved on)
# ------------------------------------------------------------------------------------------------


class StaleButton(Exception):
    """Raised inside a transaction, which rolls back; answered by ``answers_stale`` outside it,
    where the screen can be read again: ``key`` said above the screen the person is on (the
    main menu when ``to_menu``), after their state became ``state`` (if given)."""

    def __init__(self, key: str = "activation.stale", values: dict[str, Any] | None = None,
                 state: str | None = None, to_menu: bool = False) -> None:
        super().__init__(key)
        self.key, self.values, self.state, self.to_menu = key, values or {}, state, to_menu


async def stale(conv: Conversation, found: StaleButton | None = None) -> list[Reply]:
    """The one answer to an outdated button: why, then the screen again."""
    found = found or StaleButton()
    if found.state is not None:
        async with conv.deps.db.transaction() as tx:
            await set_state(conv, tx, found.state)
            person = await tx.users.get_user(conv.person.vk_id)
        if person is not None:
            conv.person = person
    screen = [main_menu(conv)] if found.to_menu else await current_screen(conv)
    return prefixed(t(conv, found.key, **found.values), screen)


Handler = TypeVar("Handler", bound=Callable[..., Awaitable[list[Reply]]])


def answers_stale(func: Handler) -> Handler:
    @functools.wraps(func)
    async def wrapper(conv: Conversation, *args: Any, **kwargs: Any) -> list[Reply]:
        try:
            return await func(conv, *args, **kwargs)
        except StaleButton as found:
            return await stale(conv, found)

    return wrapper  # type: ignore[return-value]


async def admin_org(conv: Conversation, tx: Tx, step: int | None = None) -> Any:
    """The admin's organisation, on ``step`` if one is given; StaleButton when there is none,
    or when the button is of another step (an earlier one: «уже пройден»; a later one: «ещё
    не открыт»)."""
    org = await own_org(tx, conv.person.vk_id)
    if org is None:
        raise StaleButton("activation.no_org", to_menu=True)
    if step is not None and org.step != step:
        raise StaleButton("activation.stale_step" if org.step > step else "activation.early_step",
                          {"step": step}, state=STATE_STEP)
    return org
