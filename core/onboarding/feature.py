"""The first conversation: greeting, the role choice (typed or pressed), an invitation code
typed anywhere, and the greeting for whatever else a newcomer writes first."""

from __future__ import annotations

from core.kernel.menu import ASK_ROLE
from core.kernel.payloads import Start
from core.kernel.registry import Feature
from core.kernel.routes import Command, InState, Newcomer, Press, Route, Test
from core.kernel.ui import Reply
from core.kernel.conversation import Conversation
from core.onboarding import payloads as ui
from core.onboarding import service as onboarding


async def start(conv: Conversation) -> list[Reply]:
    if conv.person.role is None:
        return await onboarding.greet(conv)
    return await onboarding.welcome_back(conv)


def _role_typed(conv: Conversation) -> str | None:
    """A role label typed as text while the person is asked for a role."""
    if conv.incoming.payload is not None:
        return None
    return onboarding.role_typed(conv, conv.incoming.text)


def _role_screen(conv: Conversation) -> list[Reply]:
    return [onboarding.ask_role_screen(conv)]


FEATURE = Feature(
    name="onboarding",
    routes={
        "buttons": [
            Route(Press(ui.PickRole),
                  lambda conv, payload: onboarding.choose_role(conv, payload.role), name="role"),
            Route((InState(onboarding.ASK_ROLE), Test(_role_typed, name="role")),
                  onboarding.choose_role, name="role_typed"),
            Route(Press(ui.AskRole), onboarding.ask_role, name="change_role"),
            Route(Command("cmd.start"), start, name="start_typed"),
            Route(Press(Start), start),
        ],
        # anything a newcomer writes first (the FAQ, placed before, answers a real question)
        "newcomers": [Route(Newcomer(), onboarding.greet, name="newcomer")],
    },
    screens={"": _role_screen, "start": _role_screen},
    continuations={ASK_ROLE: onboarding.ask_role,
                   # an FAQ answer to a newcomer's first message also asks «кто Вы?»
                   "onboarding.with_role_choice": onboarding.with_role_choice,
                   # a code that is nobody's, as the very first message: the greeting after it
                   "onboarding.greet": onboarding.greet},
)
