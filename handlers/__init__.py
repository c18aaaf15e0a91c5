"""The order of the labelers is policy: the first handler whose rules match takes the event.
Buttons of a feature come before free text; the fallback is always last."""

from vkbottle.bot import BotLabeler

from handlers import (activation, admin, broadcasts, faq, fallback, menu, personal_data,
                      reminders, start, surveys, tickets)

LABELERS: list[BotLabeler] = [
    start.labeler,
    menu.labeler,
    tickets.labeler,
    # typed commands and the broadcast dialog come before FAQ free text; refusals of
    # coordinator-only commands and buttons are at the end of admin.labeler
    broadcasts.labeler,
    admin.labeler,
    # weekly reminders and the survey (text typed while a survey question is open)
    reminders.labeler,
    surveys.labeler,
    # the 8-step activation (admin, staff, coordinators' queue), then «Мои данные» and consent
    activation.labeler,
    personal_data.labeler,
    faq.labeler,
    # free text that no flow state took: a question for the FAQ
    faq.questions,
    start.newcomers,
    fallback.labeler,
]
