"""Answers for input no feature understood: empty, attachments only, outdated buttons, anything."""

from __future__ import annotations

from core.kernel.conversation import Conversation
from core.kernel.screens import current_screen
from core.kernel.ui import Reply, prefixed


def explain_key(conv: Conversation) -> str:
    incoming = conv.incoming
    if incoming.bad_payload or incoming.payload is not None:
        # A forged button, or a real one that does not apply here (old step, no rights).
        return "input.bad_button"
    if not incoming.text.strip():
        return "input.attachment" if incoming.attachments else "input.empty"
    if incoming.length > len(incoming.text):
        return "input.too_long"
    return "input.not_understood"


async def answer(conv: Conversation) -> list[Reply]:
    text = conv.deps.texts.render(explain_key(conv), length=conv.incoming.length)
    return prefixed(text, await current_screen(conv))
