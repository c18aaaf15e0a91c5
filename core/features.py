"""The features of the bot and the one order of their routes.

The order is policy: the first route that matches takes an event. Buttons and typed commands
come first, then text typed inside a flow (only what its state understands), then questions for
the FAQ, then the greeting of newcomers; the fallback is always last. Rights do not depend on
this order: each route enforces its own ``need``.
"""

from __future__ import annotations

from functools import cache

from core.activation.feature import FEATURE as ACTIVATION
from core.admin.feature import FEATURE as ADMIN
from core.broadcasts.feature import FEATURE as BROADCASTS
from core.fallback.feature import FEATURE as FALLBACK
from core.faq.feature import FEATURE as FAQ
from core.kernel.registry import Feature, Registry
from core.menu.feature import FEATURE as MENU
from core.onboarding.feature import FEATURE as ONBOARDING
from core.personal_data.feature import FEATURE as PERSONAL_DATA
from core.reminders.feature import FEATURE as REMINDERS
from core.status.feature import FEATURE as STATUS
from core.surveys.feature import FEATURE as SURVEYS
from core.tickets.feature import FEATURE as TICKETS

FEATURES: tuple[Feature, ...] = (ONBOARDING, MENU, TICKETS, BROADCASTS, ADMIN, STATUS, REMINDERS,
                                 SURVEYS, ACTIVATION, PERSONAL_DATA, FAQ, FALLBACK)

ORDER: tuple[str, ...] = (
    "activation.codes",        # an invitation code typed anywhere
    "onboarding.buttons",      # the role choice, «Начать»
    "menu.buttons",
    "tickets.routes",          # a question to a coordinator being written or answered
    "broadcasts.routes",       # typed commands and the broadcast dialog come before FAQ text
    "admin.routes",
    "status.routes",
    "reminders.routes",
    "surveys.routes",          # text typed while a survey question is open
    "activation.buttons",      # the organisation admin's and the staff member's buttons
    "activation.coordinators",  # the coordinators' queue of applications
    "activation.text",         # typed answers inside the 8 steps
    "personal_data.routes",
    "faq.buttons",
    "faq.questions",           # free text no flow took: a question for the FAQ
    "onboarding.newcomers",
    "fallback.last",
)


@cache
def registry() -> Registry:
    return Registry.of(FEATURES, ORDER)
