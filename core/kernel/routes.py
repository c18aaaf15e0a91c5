"""Routes as data: what an event must look like (``match``), what runs (``call``) and who may
use it (``need``). Features declare lists of routes; the order of those lists is in one place
(``core/features.py``); a transport adapter (``handlers/``) hands every event to ``dispatch``.

A route matches when all its conditions hold; the first matching route takes the event. Its
``need`` is checked after the match and before the feature runs, so rights never depend on the
order of the list: a teacher who presses (or forges) a coordinator's button is refused by the
route itself. ``need.refusal`` says how: ``"screen"`` (a polite «нет прав» and the screen the
person is on), ``"command"`` (the refusal of a coordinator's command) or ``None`` for typed words
that only mean a command to those who have the right (for anyone else the text goes on to the
next routes: «заявки» from a parent is a question for the FAQ, not an attempt).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from core.kernel.conversation import Conversation
from core.kernel.normalise import command_text, command_words
from core.kernel.payloads import Payload
from core.kernel.ui import Reply

Refusal = Literal["screen", "command"] | None


@dataclass(frozen=True)
class Need:
    """Who may use a route: anyone, people of some roles, coordinators, bot admins."""

    kind: Literal["anyone", "role", "coordinator", "bot_admin"] = "anyone"
    roles: tuple[str, ...] = ()
    refusal: Refusal = "screen"

    def allows(self, conv: Conversation) -> bool:
        if self.kind == "anyone":
            return True
        if self.kind == "role":
            return conv.person.role in self.roles
        if self.kind == "coordinator":
            return conv.access.coordinator
        return conv.access.bot_admin

    def refusing(self, refusal: Refusal) -> "Need":
        return Need(self.kind, self.roles, refusal)

    @property
    def privileged(self) -> bool:
        return self.kind in ("coordinator", "bot_admin")


ANYONE = Need()
COORDINATOR = Need("coordinator", refusal="command")
BOT_ADMIN = Need("bot_admin", refusal="command")


def role(*roles: str, refusal: Refusal = "screen") -> Need:
    return Need("role", roles, refusal)


# -- conditions ---------------------------------------------------------------------------------

Found = dict[str, Any] | bool | None


class Condition:
    """One thing an event must satisfy; a dict result hands named values to the call."""

    async def check(self, conv: Conversation) -> Found:  # pragma: no cover - interface
        raise NotImplementedError


class Press(Condition):
    """A button of one of these payload models (hands over ``payload``)."""

    def __init__(self, *models: type[Payload]) -> None:
        self.models = models

    async def check(self, conv: Conversation) -> Found:
        payload = conv.incoming.payload
        if payload is not None and isinstance(payload, self.models):
            return {"payload": payload}
        return False


class InState(Condition):
    """The person's stored state starts with one of the prefixes (e.g. "activation:")."""

    def __init__(self, *prefixes: str) -> None:
        self.prefixes = prefixes

    async def check(self, conv: Conversation) -> Found:
        return conv.person.state.startswith(self.prefixes)


class HasRole(Condition):
    """The person has one of these roles — which route applies, not a right (see ``Need``)."""

    def __init__(self, *roles: str) -> None:
        self.roles = roles

    async def check(self, conv: Conversation) -> Found:
        return conv.person.role in self.roles


class Newcomer(Condition):
    """Has not chosen a role yet."""

    async def check(self, conv: Conversation) -> Found:
        return conv.person.role is None


class FreeText(Condition):
    """Typed text (no button payload), not empty."""

    async def check(self, conv: Conversation) -> Found:
        incoming = conv.incoming
        return incoming.payload is None and not incoming.bad_payload and bool(incoming.text.strip())


class Typed(Condition):
    """Typed text or an attachment, not a button."""

    async def check(self, conv: Conversation) -> Found:
        incoming = conv.incoming
        return incoming.payload is None and not incoming.bad_payload \
            and bool(incoming.text.strip() or incoming.attachments)


class Command(Condition):
    """A typed command, exactly (case-insensitive). Its words are the catalog text of ``key``,
    e.g. ``menu = "главное меню | меню | /menu"``, so a methodist can add a word without
    touching code. With ``with_args`` the words after the command are handed over as ``args``."""

    def __init__(self, *keys: str, with_args: bool = False) -> None:
        self.keys = keys
        self.with_args = with_args

    def words(self, conv: Conversation) -> list[str]:
        return [word for key in self.keys for word in command_words(conv.deps.texts.render(key))]

    async def check(self, conv: Conversation) -> Found:
        incoming = conv.incoming
        if incoming.payload is not None:
            return False
        text = conv.once("command_text", lambda: command_text(incoming.text))
        for name in self.words(conv):
            if text == name:
                return {"args": ""}
            if self.with_args and text.startswith(name + " "):
                return {"args": conv.incoming.text.strip()[len(name) + 1:].strip()}
        return False


class Test(Condition):
    """A feature's own test of the event: ``test(conv)`` returns the named values it found
    (a dict), True, or None/False when the event is not for this route."""

    def __init__(self, test: Callable[[Conversation], Awaitable[Found] | Found],
                 name: str | None = None) -> None:
        self.test = test
        self.name = name  # when set, a non-dict result is handed over under this name

    async def check(self, conv: Conversation) -> Found:
        found = self.test(conv)
        if inspect.isawaitable(found):
            found = await found
        if found is None or found is False:
            return False
        if self.name is not None and not isinstance(found, dict):
            return {self.name: found}
        return found


class Always(Condition):
    async def check(self, conv: Conversation) -> Found:
        return True


# -- routes -------------------------------------------------------------------------------------

Call = Callable[..., Awaitable[list[Reply] | Reply] | list[Reply] | Reply]


@dataclass(frozen=True)
class Route:
    """``match``: conditions that must all hold (in order; later ones are not checked once one
    fails); ``call(conv, **found)`` gets the values the conditions found that it names;
    ``need``: who may use it."""

    match: tuple[Condition, ...]
    call: Call
    need: Need = ANYONE
    name: str = ""
    _accepts: frozenset[str] | None = field(default=None, compare=False, repr=False)
    # The payload models of a route that starts with ``Press``: dispatch skips it without
    # awaiting anything when the event is not such a button (most routes, most messages).
    _press: tuple[type[Payload], ...] | None = field(default=None, compare=False, repr=False)

    def __init__(self, match: Condition | Sequence[Condition], call: Call, need: Need = ANYONE,
                 name: str = "") -> None:
        conditions = (match,) if isinstance(match, Condition) else tuple(match)
        object.__setattr__(self, "match", conditions)
        object.__setattr__(self, "call", call)
        object.__setattr__(self, "need", need)
        object.__setattr__(self, "name", name or getattr(call, "__name__", "route"))
        # which named values the call takes: worked out once, not per event
        parameters = list(inspect.signature(call).parameters.values())[1:]
        takes_all = any(p.kind is p.VAR_KEYWORD for p in parameters)
        object.__setattr__(self, "_accepts",
                           None if takes_all else frozenset(p.name for p in parameters))
        first = conditions[0] if conditions else None
        object.__setattr__(self, "_press", first.models if isinstance(first, Press) else None)

    @property
    def payloads(self) -> tuple[type[Payload], ...]:
        return tuple(model for condition in self.match if isinstance(condition, Press)
                     for model in condition.models)

    async def matches(self, conv: Conversation) -> dict[str, Any] | None:
        found: dict[str, Any] = {}
        for condition in self.match:
            result = await condition.check(conv)
            if result is False or result is None:
                return None
            if isinstance(result, dict):
                found.update(result)
        return found

    async def run(self, conv: Conversation, found: dict[str, Any]) -> list[Reply]:
        if self._accepts is not None:
            found = {k: v for k, v in found.items() if k in self._accepts}
        result = self.call(conv, **found)
        if inspect.isawaitable(result):
            result = await result
        if result is None:
            return []
        return [result] if isinstance(result, Reply) else list(result)


Refuse = Callable[[Conversation, Refusal], Awaitable[list[Reply]]]


async def dispatch(conv: Conversation, routes: Sequence[Route], refuse: Refuse) -> list[Reply]:
    """The first route that matches takes the event; its ``need`` is enforced here, before the
    feature runs. Returns what to say (the caller says it)."""
    for route in routes:
        if route._press is not None and not isinstance(conv.incoming.payload, route._press):
            continue  # what Press.check would say first, without a coroutine per route
        found = await route.matches(conv)
        if found is None:
            continue
        if not route.need.allows(conv):
            if route.need.refusal is None:
                continue  # typed words that are a command only for those with the right
            return await refuse(conv, route.need.refusal)
        return await route.run(conv, found)
    return []
