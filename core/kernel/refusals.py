"""How the bot says «нет», the same way for every feature.

``refuse(conv, kind)`` is what a route whose ``need`` the person lacks answers: ``"screen"`` —
the polite «нет прав» in front of the screen they are on (an outdated or forged button);
``"command"`` — the refusal of a coordinator's or admin's command, which says nothing about
what it would have shown. A service that raises ``NotAllowed`` is answered by
``core.kernel.menu.refused`` (rights revoked in the middle of a dialog)."""

from __future__ import annotations

from core.kernel.conversation import Conversation
from core.kernel.routes import Refusal
from core.kernel.screens import current_screen
from core.kernel.ui import Reply, prefixed


async def refuse(conv: Conversation, kind: Refusal) -> list[Reply]:
    texts = conv.deps.texts
    if kind == "command":
        return [Reply(texts.render("admin.refused"), template="admin.refused")]
    return prefixed(texts.render("input.not_allowed"), await current_screen(conv))
