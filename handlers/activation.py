"""The 8-step activation: the organisation admin's buttons and typed answers, the staff member's
path, the coordinators' queue and commands. Buttons first, then commands, then free text by
state (only what the state understands; other text goes on to the FAQ and the fallback, which
show the step again). The funnel («воронка» /funnel and the panel's «Воронка» button) is
core.admin's (handlers/admin.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from vkbottle.bot import BotLabeler, Message

from core.activation import service as act
from core.coordination import service as crd
from core.activation import staff as stf
from core.kernel.conversation import Conversation
from handlers.rules import (ConversationRule, FreeText, HasRole, InState, IsCoordinator, PayloadIs,
                            TextCommand)

labeler = BotLabeler()


class Interprets(ConversationRule):
    """Typed text the state understands; the interpretation goes to the handler as ``intent``."""

    def __init__(self, interpret: Callable[[Conversation, str], Awaitable[Any]]) -> None:
        self.interpret = interpret

    async def check(self, event: Message, conv: Conversation) -> dict[str, Any] | bool:
        intent = await self.interpret(conv, conv.incoming.text)
        return {"intent": intent} if intent is not None else False


class IsNotCoordinator(ConversationRule):
    async def check(self, event: Message, conv: Conversation) -> bool:
        return not conv.access.coordinator


ADMIN = HasRole("org_admin")
STAFF = HasRole("staff")

# -- the organisation admin --------------------------------------------------------------------


@labeler.private_message(ADMIN, PayloadIs(act.ActOpen))
async def on_activation_open(message: Message, conv: Conversation) -> None:
    await conv.say(*await act.open_flow(conv))


@labeler.private_message(ADMIN, PayloadIs(act.FormKind))
async def on_activation_kind(message: Message, conv: Conversation, payload: act.FormKind) -> None:
    await conv.say(*await act.form_choice(conv, "kind", payload.kind))


@labeler.private_message(ADMIN, PayloadIs(act.FormMunicipality))
async def on_activation_municipality(message: Message, conv: Conversation,
                                     payload: act.FormMunicipality) -> None:
    await conv.say(*await act.form_choice(conv, "municipality", payload.id))


@labeler.private_message(ADMIN, PayloadIs(act.FormPage))
async def on_activation_page(message: Message, conv: Conversation, payload: act.FormPage) -> None:
    await conv.say(*await act.form_page(conv, payload.page))


@labeler.private_message(ADMIN, PayloadIs(act.FormKeep))
async def on_activation_keep(message: Message, conv: Conversation, payload: act.FormKeep) -> None:
    await conv.say(*await act.form_keep(conv, payload.field))


@labeler.private_message(ADMIN, PayloadIs(act.FormSkip))
async def on_activation_skip(message: Message, conv: Conversation) -> None:
    await conv.say(*await act.form_skip(conv))


@labeler.private_message(ADMIN, PayloadIs(act.FormBack))
async def on_activation_form_back(message: Message, conv: Conversation,
                                  payload: act.FormBack) -> None:
    await conv.say(*await act.form_back(conv, payload.field))


@labeler.private_message(ADMIN, PayloadIs(act.FormSubmit))
async def on_activation_submit(message: Message, conv: Conversation) -> None:
    await conv.say(*await act.form_submit(conv))


@labeler.private_message(ADMIN, PayloadIs(act.FormRestart))
async def on_activation_refill(message: Message, conv: Conversation) -> None:
    await conv.say(*await act.form_restart(conv))


@labeler.private_message(ADMIN, PayloadIs(act.StepDone))
async def on_activation_done(message: Message, conv: Conversation, payload: act.StepDone) -> None:
    await conv.say(*await act.step_done(conv, payload.step))


@labeler.private_message(ADMIN, PayloadIs(act.StepHelp))
async def on_activation_help(message: Message, conv: Conversation, payload: act.StepHelp) -> None:
    await conv.say(*await act.step_help(conv, payload.step))


@labeler.private_message(ADMIN, PayloadIs(act.StepBack))
async def on_activation_back(message: Message, conv: Conversation, payload: act.StepBack) -> None:
    await conv.say(*await act.step_back(conv, payload.step))


@labeler.private_message(ADMIN, PayloadIs(act.PassProblem))
async def on_activation_pass(message: Message, conv: Conversation,
                             payload: act.PassProblem) -> None:
    await conv.say(*await act.pass_problem(conv, payload.step))


@labeler.private_message(ADMIN, PayloadIs(act.WhereAmI))
async def on_activation_where(message: Message, conv: Conversation) -> None:
    await conv.say(*await act.where_am_i(conv))


@labeler.private_message(ADMIN, PayloadIs(act.ChooseStructure))
async def on_activation_structure(message: Message, conv: Conversation,
                                  payload: act.ChooseStructure) -> None:
    await conv.say(*await act.choose_structure(conv, payload.structure))


@labeler.private_message(ADMIN, PayloadIs(act.Platform))
async def on_activation_platform(message: Message, conv: Conversation,
                                 payload: act.Platform) -> None:
    await conv.say(*await act.platform_help(conv, payload.platform))


@labeler.private_message(ADMIN, PayloadIs(act.StaffList))
async def on_activation_staff(message: Message, conv: Conversation) -> None:
    await conv.say(*await act.staff_list(conv))


@labeler.private_message(ADMIN, PayloadIs(act.InviteText))
async def on_activation_invite(message: Message, conv: Conversation) -> None:
    await conv.say(*await act.invite(conv))


@labeler.private_message(PayloadIs(*act.ADMIN_PAYLOADS))
async def on_activation_not_admin(message: Message, conv: Conversation) -> None:
    """An admin's button from someone who is not an organisation admin (forged or outdated)."""
    await conv.say(*await act.not_allowed(conv))


# -- the staff member --------------------------------------------------------------------------


@labeler.private_message(STAFF, PayloadIs(stf.StaffOpen))
async def on_activation_staff_open(message: Message, conv: Conversation) -> None:
    await conv.say(*await stf.open_flow(conv))


@labeler.private_message(STAFF, PayloadIs(stf.StaffJoin))
async def on_activation_staff_join(message: Message, conv: Conversation,
                                   payload: stf.StaffJoin) -> None:
    await conv.say(*await stf.join(conv, payload.code))


@labeler.private_message(STAFF, PayloadIs(stf.StaffDone))
async def on_activation_staff_done(message: Message, conv: Conversation,
                                   payload: stf.StaffDone) -> None:
    await conv.say(*await stf.done(conv, payload.item))


@labeler.private_message(STAFF, PayloadIs(stf.StaffHelp))
async def on_activation_staff_help(message: Message, conv: Conversation,
                                   payload: stf.StaffHelp) -> None:
    await conv.say(*await stf.help_(conv, payload.item))


@labeler.private_message(STAFF, PayloadIs(stf.StaffPass))
async def on_activation_staff_pass(message: Message, conv: Conversation,
                                   payload: stf.StaffPass) -> None:
    await conv.say(*await stf.pass_problem(conv, payload.item))


@labeler.private_message(STAFF, PayloadIs(stf.StaffWhere))
async def on_activation_staff_where(message: Message, conv: Conversation) -> None:
    await conv.say(*await stf.where(conv))


@labeler.private_message(PayloadIs(*stf.STAFF_PAYLOADS))
async def on_activation_not_staff(message: Message, conv: Conversation) -> None:
    await conv.say(*await act.not_allowed(conv))


# -- coordinators ------------------------------------------------------------------------------


@labeler.private_message(IsNotCoordinator(), PayloadIs(*crd.COORDINATOR_PAYLOADS))
async def on_activation_not_coordinator(message: Message, conv: Conversation) -> None:
    await conv.say(*await crd.not_allowed(conv))


@labeler.private_message(PayloadIs(crd.Panel))
async def on_activation_panel(message: Message, conv: Conversation) -> None:
    await conv.say(*await crd.panel(conv))


@labeler.private_message(PayloadIs(crd.Applications))
async def on_activation_applications(message: Message, conv: Conversation) -> None:
    await conv.say(*await crd.applications(conv))


@labeler.private_message(PayloadIs(crd.SetStatus))
async def on_activation_status(message: Message, conv: Conversation,
                               payload: crd.SetStatus) -> None:
    await conv.say(*await crd.set_status(conv, payload.app, payload.status))


@labeler.private_message(PayloadIs(crd.CancelReject))
async def on_activation_cancel_reject(message: Message, conv: Conversation) -> None:
    await conv.say(*await crd.cancel_reject(conv))


@labeler.private_message(PayloadIs(crd.Export))
async def on_activation_export(message: Message, conv: Conversation) -> None:
    await conv.say(*await crd.export(conv))


@labeler.private_message(PayloadIs(crd.MarkSent))
async def on_activation_mark_sent(message: Message, conv: Conversation,
                                  payload: crd.MarkSent) -> None:
    await conv.say(*await crd.mark_sent(conv, payload.upto))


@labeler.private_message(PayloadIs(crd.Stuck))
async def on_activation_stuck(message: Message, conv: Conversation) -> None:
    await conv.say(*await crd.stuck(conv))


@labeler.private_message(IsCoordinator(), TextCommand("cmd.coord"))
async def on_activation_panel_command(message: Message, conv: Conversation) -> None:
    await conv.say(*await crd.panel(conv))


@labeler.private_message(IsCoordinator(), TextCommand("cmd.applications"))
async def on_activation_applications_command(message: Message, conv: Conversation) -> None:
    await conv.say(*await crd.applications(conv))


@labeler.private_message(IsCoordinator(), TextCommand("cmd.export"))
async def on_activation_export_command(message: Message, conv: Conversation) -> None:
    await conv.say(*await crd.export(conv))


@labeler.private_message(IsCoordinator(), TextCommand("cmd.stuck"))
async def on_activation_stuck_command(message: Message, conv: Conversation) -> None:
    await conv.say(*await crd.stuck(conv))


@labeler.private_message(IsCoordinator(), InState(crd.STATE_REJECT), FreeText())
async def on_activation_reject_reason(message: Message, conv: Conversation) -> None:
    await conv.say(*await crd.reject_reason(conv, conv.incoming.text))


# -- «Где я?» typed, and free text inside the flows ---------------------------------------------


@labeler.private_message(ADMIN, TextCommand("cmd.where"))
async def on_activation_where_command(message: Message, conv: Conversation) -> None:
    await conv.say(*await act.where_am_i(conv))


@labeler.private_message(STAFF, TextCommand("cmd.where"))
async def on_activation_staff_where_command(message: Message, conv: Conversation) -> None:
    await conv.say(*await stf.where(conv))


@labeler.private_message(ADMIN, InState(act.STATE_FORM), FreeText())
async def on_activation_form_text(message: Message, conv: Conversation) -> None:
    await conv.say(*await act.form_text(conv, conv.incoming.text))


@labeler.private_message(ADMIN, InState(act.STATE_STEP), FreeText(), Interprets(act.interpret))
async def on_activation_step_text(message: Message, conv: Conversation,
                                  intent: act.Intent) -> None:
    await conv.say(*await act.step_text(conv, intent))


@labeler.private_message(STAFF, InState("staff:"), FreeText(), Interprets(stf.interpret))
async def on_activation_staff_text(message: Message, conv: Conversation,
                                   intent: tuple[str, str]) -> None:
    await conv.say(*await stf.free_text(conv, *intent))
