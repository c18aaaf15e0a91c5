"""Questions to coordinators and the relayed answers."""

from vkbottle.bot import BotLabeler, Message

from core.tickets import service as tickets
from core.kernel.conversation import Conversation
from handlers.rules import FreeText, InState, IsCoordinator, PayloadIs, TextCommand

labeler = BotLabeler()


@labeler.private_message(PayloadIs(tickets.AskCoordinator))
async def on_tickets_ask(message: Message, conv: Conversation, payload: tickets.AskCoordinator) -> None:
    await conv.say(*await tickets.ask(conv, payload.src))


@labeler.private_message(PayloadIs(tickets.CancelTicket))
async def on_tickets_cancel(message: Message, conv: Conversation) -> None:
    await conv.say(*await tickets.cancel(conv))


@labeler.private_message(InState("ticket:write"), FreeText())
async def on_tickets_written(message: Message, conv: Conversation) -> None:
    await conv.say(*await tickets.written(conv, conv.incoming.text))


@labeler.private_message(IsCoordinator(), PayloadIs(tickets.AnswerTicket))
async def on_tickets_answer(message: Message, conv: Conversation, payload: tickets.AnswerTicket) -> None:
    await conv.say(*await tickets.start_answer(conv, payload.id))


@labeler.private_message(IsCoordinator(), InState("ticket:answer"), FreeText())
async def on_tickets_answered(message: Message, conv: Conversation) -> None:
    await conv.say(*await tickets.answered(conv, conv.incoming.text))


@labeler.private_message(IsCoordinator(), PayloadIs(tickets.ListTickets))
async def on_tickets_list(message: Message, conv: Conversation) -> None:
    await conv.say(*await tickets.list_open(conv))


@labeler.private_message(IsCoordinator(), TextCommand("cmd.tickets"))
async def on_tickets_list_command(message: Message, conv: Conversation) -> None:
    await conv.say(*await tickets.list_open(conv))
