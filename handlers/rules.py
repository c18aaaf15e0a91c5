"""Labeler rules shared by the feature modules: payload type, conversation state, rights.

Rules read the ``conv`` (a core Conversation) that the conversation middleware puts into the
context; a rule that matches a payload hands the parsed model to the handler as ``payload``.
"""

from __future__ import annotations

from typing import Any

from vkbottle.bot import Message
from vkbottle.dispatch.rules import ABCRule

from core.conversation import Conversation
from core.payloads import Payload


class PayloadIs(ABCRule[Message]):
    def __init__(self, *models: type[Payload]) -> None:
        self.models = models

    async def check(self, event: Message, conv: Conversation) -> dict[str, Any] | bool:
        payload = conv.incoming.payload
        if payload is not None and isinstance(payload, self.models):
            return {"payload": payload}
        return False


class InState(ABCRule[Message]):
    """The person's stored state starts with one of the prefixes (e.g. "activation:")."""

    def __init__(self, *prefixes: str) -> None:
        self.prefixes = prefixes

    async def check(self, event: Message, conv: Conversation) -> bool:
        return conv.person.state.startswith(self.prefixes)


class Newcomer(ABCRule[Message]):
    """Has not chosen a role yet."""

    async def check(self, event: Message, conv: Conversation) -> bool:
        return conv.person.role is None


class HasRole(ABCRule[Message]):
    def __init__(self, *roles: str) -> None:
        self.roles = roles

    async def check(self, event: Message, conv: Conversation) -> bool:
        return conv.person.role in self.roles


class IsCoordinator(ABCRule[Message]):
    async def check(self, event: Message, conv: Conversation) -> bool:
        return conv.access.coordinator


class IsBotAdmin(ABCRule[Message]):
    async def check(self, event: Message, conv: Conversation) -> bool:
        return conv.access.bot_admin


class FreeText(ABCRule[Message]):
    """Typed text (no button payload), not empty."""

    async def check(self, event: Message, conv: Conversation) -> bool:
        return conv.incoming.payload is None and not conv.incoming.bad_payload \
            and bool(conv.incoming.text.strip())


def _normalise_command(text: str) -> str:
    return " ".join(text.lower().replace("ё", "е").strip(" .!?\t\n").split())


class TextCommand(ABCRule[Message]):
    """A typed command, exactly (case-insensitive). Commands are catalog keys under ``cmd.``
    whose text lists the accepted words, e.g. ``menu = "главное меню | меню | /menu"``, so a
    methodist can add a word without touching code. With ``with_args`` the words after the
    command are handed to the handler as ``args``."""

    def __init__(self, *keys: str, with_args: bool = False) -> None:
        self.keys = keys
        self.with_args = with_args

    def words(self, conv: Conversation) -> list[str]:
        return [_normalise_command(word) for key in self.keys
                for word in conv.deps.texts.render(key).split("|") if word.strip()]

    async def check(self, event: Message, conv: Conversation) -> dict[str, Any] | bool:
        if conv.incoming.payload is not None:
            return False
        text = _normalise_command(conv.incoming.text)
        for name in self.words(conv):
            if text == name:
                return {"args": ""}
            if self.with_args and text.startswith(name + " "):
                return {"args": conv.incoming.text.strip()[len(name) + 1:].strip()}
        return False


class RoleTyped(ABCRule[Message]):
    """A role label typed as text while the person is asked for a role."""

    async def check(self, event: Message, conv: Conversation) -> dict[str, Any] | bool:
        from core.onboarding import role_typed

        if conv.incoming.payload is not None:
            return False
        role = role_typed(conv, conv.incoming.text)
        return {"role": role} if role else False
