"""How the bot says «нет», the same way for every feature.

``refuse(conv, kind)`` is what a route whose ``need`` the person lacks answers: ``"screen"`` —
the polite «нет прав» in front of the screen they are on (an outdated or forged button);
``"command"`` — the refusal of a coordinator's or admin's command, which says nothing about
what it would have shown. A service that raises ``NotAllowed`` is answered by
``core.kernel.menu.refused`` (rights revoked in the middle of a dialog). ``not_understood``
answers input no feature understood (the fallback feature, last in the order, and a flow that
finds a button or text out of place)."""

from __future__ import annotations

from core.kernel.conversation import Conversation
from core.kernel.routes import Refusal
from core.kernel.screens import current_screen
from core.kernel.ui import Reply, prefixed


async def refuse(conv: Conversation, kind: Refusal) -> list[Reply]:
    texts = conv.deps.texts
    # «напишите вопрос своими словами» answers typed words, not a pressed button: a button is
    # refused with the screen the person is on, whatever the route's refusal
    if kind == "command" and conv.incoming.payload is None:
        return [Reply(texts.render("admin.refused"), template="admin.refused")]
    return prefixed(texts.render("input.not_allowed"), await current_screen(conv))


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


async def not_understood(conv: Conversation) -> list[Reply]:
    """Garbage gets a polite answer and the current screen again, so nothing a person did is
    lost and they always see what they can do next."""
    text = conv.deps.texts.render(explain_key(conv), length=conv.incoming.length)
    return prefixed(text, await current_screen(conv))
