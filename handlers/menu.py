"""Main menu and help."""

from vkbottle.bot import BotLabeler, Message

from core.kernel.conversation import Conversation
from core.kernel.menu import Help, help_screen, open_menu
from core.kernel.payloads import Menu
from handlers.rules import PayloadIs, TextCommand

labeler = BotLabeler()


@labeler.private_message(TextCommand("cmd.menu"))
@labeler.private_message(PayloadIs(Menu))
async def on_menu_open(message: Message, conv: Conversation) -> None:
    await conv.say(*await open_menu(conv))


@labeler.private_message(TextCommand("cmd.help"))
@labeler.private_message(PayloadIs(Help))
async def on_menu_help(message: Message, conv: Conversation) -> None:
    await conv.say(help_screen(conv))
