"""Labeler rules shared by the feature modules: payload type, conversation state, rights.

Rules read the ``conv`` (a core Conversation) that the conversation middleware puts into the
context; a rule that matches a payload hands the parsed model to the handler as ``payload``.
"""

from __future__ import annotations

from typing import Any

from vkbottle.bot import Message
from vkbottle.dispatch.handlers import FromFuncHandler
from vkbottle.dispatch.rules import ABCRule
from vkbottle.dispatch.rules.base import PeerRule
from vkbottle.tools.magic import magic_bundle

from core.kernel.conversation import Conversation
from core.kernel.payloads import Payload


class ConversationRule(ABCRule[Message]):
    """A rule that decides from the core Conversation alone: ``check(event, conv)``."""


class ConversationHandler(FromFuncHandler):
    """vkbottle's handler, with rule checks called directly instead of through its signature
    introspection (``magic_bundle`` per rule per message was the bot's largest CPU cost under
    load: a message is checked against every handler before one matches)."""

    @classmethod
    def of(cls, handler: FromFuncHandler) -> "ConversationHandler":
        return cls(handler.handler, *handler.rules, blocking=handler.blocking)

    async def filter(self, event: Any, context: dict[str, Any] | None = None) -> dict[str, Any] | bool:
        rule_context = dict(context or {})
        conv = rule_context.get("conv")
        for rule in self.rules:
            if isinstance(rule, ConversationRule) and conv is not None:
                result = await rule.check(event, conv)
            elif isinstance(rule, PeerRule):
                result = await rule.check(event)
            else:
                result = await rule.check(event, **magic_bundle(rule.check, rule_context))
            if result is False or result is None:
                return False
            if isinstance(result, dict):
                rule_context.update(result)
        return rule_context


class PayloadIs(ConversationRule):
    def __init__(self, *models: type[Payload]) -> None:
        self.models = models

    async def check(self, event: Message, conv: Conversation) -> dict[str, Any] | bool:
        payload = conv.incoming.payload
        if payload is not None and isinstance(payload, self.models):
            return {"payload": payload}
        return False


class InState(ConversationRule):
    """The person's stored state starts with one of the prefixes (e.g. "activation:")."""

    def __init__(self, *prefixes: str) -> None:
        self.prefixes = prefixes

    async def check(self, event: Message, conv: Conversation) -> bool:
        return conv.person.state.startswith(self.prefixes)


class Newcomer(ConversationRule):
    """Has not chosen a role yet."""

    async def check(self, event: Message, conv: Conversation) -> bool:
        return conv.person.role is None


class HasRole(ConversationRule):
    def __init__(self, *roles: str) -> None:
        self.roles = roles

    async def check(self, event: Message, conv: Conversation) -> bool:
        return conv.person.role in self.roles


class IsCoordinator(ConversationRule):
    async def check(self, event: Message, conv: Conversation) -> bool:
        return conv.access.coordinator


class IsBotAdmin(ConversationRule):
    async def check(self, event: Message, conv: Conversation) -> bool:
        return conv.access.bot_admin


class FreeText(ConversationRule):
    """Typed text (no button payload), not empty."""

    async def check(self, event: Message, conv: Conversation) -> bool:
        return conv.incoming.payload is None and not conv.incoming.bad_payload \
            and bool(conv.incoming.text.strip())


def _normalise_command(text: str) -> str:
    return " ".join(text.lower().replace("ё", "е").strip(" .!?\t\n").split())


class TextCommand(ConversationRule):
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


class RoleTyped(ConversationRule):
    """A role label typed as text while the person is asked for a role."""

    async def check(self, event: Message, conv: Conversation) -> dict[str, Any] | bool:
        from core.onboarding.service import role_typed

        if conv.incoming.payload is not None:
            return False
        role = role_typed(conv, conv.incoming.text)
        return {"role": role} if role else False
