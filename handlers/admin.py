"""Commands of coordinators and bot admins (core/admin/service.py), the help that lists them, and the
refusal of any coordinator/admin command or button to someone without the right."""

from __future__ import annotations

from typing import Any

from vkbottle.bot import BotLabeler, Message

from core.admin import service as admin
from core.broadcasts import service as broadcasts
from core.faq import dialog as faq_dialog
from core.status import service as status
from core.kernel.conversation import Conversation
from handlers.rules import ConversationRule, IsBotAdmin, IsCoordinator, PayloadIs

labeler = BotLabeler()


class Cmd(ConversationRule):
    """A typed command of core.admin.COMMANDS, whoever types it; the rest of the text is
    handed to the handler as ``args``."""

    def __init__(self, *names: str) -> None:
        unknown = set(names) - set(admin.BY_NAME)
        if unknown:
            raise ValueError(f"unknown commands {unknown}")
        self.names = names

    async def check(self, event: Message, conv: Conversation) -> dict[str, Any] | bool:
        if conv.incoming.payload is not None or conv.incoming.bad_payload:
            return False
        found = admin.match_command(conv.deps, conv.incoming.text)
        if found is not None and found[0].name in self.names:
            return {"args": found[1]}
        return False


class Typed(ConversationRule):
    """Typed text or an attachment, not a button."""

    async def check(self, event: Message, conv: Conversation) -> bool:
        incoming = conv.incoming
        return incoming.payload is None and not incoming.bad_payload \
            and bool(incoming.text.strip() or incoming.attachments)


PRIVILEGED_PAYLOADS = (*broadcasts.COORDINATOR_PAYLOADS, *admin.COORDINATOR_PAYLOADS,
                       faq_dialog.FaqMisses)
ADMIN_PAYLOADS = (faq_dialog.FaqReload,)


class NotAllowed(ConversationRule):
    """A command or a coordinator's button from someone who may not use it."""

    async def check(self, event: Message, conv: Conversation) -> bool:
        incoming = conv.incoming
        if incoming.payload is not None:
            if isinstance(incoming.payload, ADMIN_PAYLOADS):
                return not conv.access.bot_admin
            return isinstance(incoming.payload, PRIVILEGED_PAYLOADS) and not conv.access.coordinator
        if incoming.bad_payload:
            return False
        found = admin.match_command(conv.deps, incoming.text)
        return found is not None and not admin.allowed(conv.access, found[0].need)


@labeler.private_message(Cmd("help"))
async def on_admin_help(message: Message, conv: Conversation) -> None:
    await conv.say(*admin.help_screen(conv))


@labeler.private_message(IsCoordinator(), Cmd("summary"))
async def on_admin_summary(message: Message, conv: Conversation, args: str) -> None:
    await conv.say(*await admin.summary(conv, args))


@labeler.private_message(IsCoordinator(), PayloadIs(admin.SummaryFile))
async def on_admin_summary_file(message: Message, conv: Conversation,
                                payload: admin.SummaryFile) -> None:
    await conv.say(*await admin.summary_file(conv, payload))


@labeler.private_message(IsCoordinator(), PayloadIs(admin.SummaryView))
async def on_admin_summary_view(message: Message, conv: Conversation,
                                payload: admin.SummaryView) -> None:
    await conv.say(*await admin.summary_view(conv, payload))


@labeler.private_message(IsCoordinator(), PayloadIs(admin.SummaryPlaces))
async def on_admin_summary_places(message: Message, conv: Conversation,
                                  payload: admin.SummaryPlaces) -> None:
    await conv.say(*await admin.summary_places(conv, payload))


@labeler.private_message(IsCoordinator(), Cmd("funnel"))
async def on_admin_funnel(message: Message, conv: Conversation, args: str) -> None:
    await conv.say(*await admin.funnel(conv, args))


@labeler.private_message(IsCoordinator(), PayloadIs(admin.FunnelView))
async def on_admin_funnel_button(message: Message, conv: Conversation) -> None:
    await conv.say(*await admin.funnel(conv, ""))


@labeler.private_message(IsCoordinator(), PayloadIs(admin.FunnelChart))
async def on_admin_funnel_chart(message: Message, conv: Conversation,
                                payload: admin.FunnelChart) -> None:
    await conv.say(*await admin.funnel_chart(conv, payload))


@labeler.private_message(IsCoordinator(), Cmd("audit"))
async def on_admin_audit(message: Message, conv: Conversation) -> None:
    await conv.say(*await admin.audit_log(conv))


@labeler.private_message(IsCoordinator(), PayloadIs(admin.AuditView))
async def on_admin_audit_button(message: Message, conv: Conversation) -> None:
    await conv.say(*await admin.audit_log(conv))


@labeler.private_message(IsBotAdmin(), Cmd("grant"))
async def on_admin_grant(message: Message, conv: Conversation, args: str) -> None:
    await conv.say(*await admin.grant(conv, args))


@labeler.private_message(IsBotAdmin(), Cmd("revoke"))
async def on_admin_revoke(message: Message, conv: Conversation, args: str) -> None:
    await conv.say(*await admin.revoke(conv, args))


@labeler.private_message(IsBotAdmin(), Cmd("status"))
async def on_admin_status(message: Message, conv: Conversation) -> None:
    await conv.say(*await status.status(conv))


@labeler.private_message(PayloadIs(status.StatusOpen))
async def on_admin_status_button(message: Message, conv: Conversation) -> None:
    await conv.say(*await status.status(conv))  # the service checks the right itself


@labeler.private_message(NotAllowed())
async def on_admin_refused(message: Message, conv: Conversation) -> None:
    await conv.say(*admin.refuse(conv))
