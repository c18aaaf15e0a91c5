"""Typed commands of the help («помощь»): which one a text is, and the route condition for it.
Features register them (``Feature.commands``); the words are catalog texts, so a methodist can
add a word without touching code."""

from __future__ import annotations

from core.kernel.conversation import Conversation
from core.kernel.normalise import command_text, command_words
from core.kernel.registry import CommandInfo
from core.kernel.routes import Condition, Found


def find_command(conv: Conversation) -> tuple[CommandInfo, str] | None:
    """The command a typed text is, with what follows it; the longest form wins. Worked out
    once per message (``Said`` routes ask it about ten times before one matches)."""
    return conv.once("command", lambda: _find_command(conv))


def _find_command(conv: Conversation) -> tuple[CommandInfo, str] | None:
    incoming = conv.incoming
    if incoming.payload is not None or incoming.bad_payload:
        return None
    typed = command_text(incoming.text)
    if not typed:
        return None
    best: tuple[int, CommandInfo, str] | None = None
    for command in conv.deps.registry.commands:
        if command.listed_only:
            continue
        for form in command_words(conv.deps.texts.render(f"admin.cmd.{command.name}")):
            if typed == form:
                found = (len(form), command, "")
            elif command.with_args and typed.startswith(form + " "):
                found = (len(form), command, typed[len(form) + 1:].strip())
            else:
                continue
            if best is None or found[0] > best[0]:
                best = found
    return None if best is None else (best[1], best[2])


class Said(Condition):
    """One of the help's commands was typed (hands over ``args``: the words after it)."""

    def __init__(self, *names: str) -> None:
        self.names = names

    async def check(self, conv: Conversation) -> Found:
        found = find_command(conv)
        if found is not None and found[0].name in self.names:
            return {"args": found[1]}
        return False


def commands_for(conv: Conversation) -> list[CommandInfo]:
    """The commands this person may use, in the help's order."""
    return [c for c in conv.deps.registry.commands if c.need.allows(conv)]
