"""The order of the labelers is policy: the first handler whose rules match takes the event.
Buttons of a feature come before free text; the fallback is always last."""

from vkbottle.bot import BotLabeler

from handlers import faq, fallback, menu, start, tickets

LABELERS: list[BotLabeler] = [
    start.labeler,
    menu.labeler,
    tickets.labeler,
    faq.labeler,
    # free text that no flow state took: a question for the FAQ
    faq.questions,
    start.newcomers,
    fallback.labeler,
]
