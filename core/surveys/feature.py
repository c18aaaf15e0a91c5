"""The weekly difficulty survey: its buttons, and text typed while a question is open."""

from __future__ import annotations

from core.surveys.payloads import SurveyLater, SurveyNext, SurveyOpen, SurveyPick, SurveySkip
from core.kernel.registry import Feature
from core.kernel.routes import FreeText, InState, Press, Route
from core.surveys import service as surveys

FEATURE = Feature(
    name="surveys",
    routes={"routes": [
        Route(Press(SurveyOpen),
              lambda conv, payload: surveys.open_survey(conv, payload.w, payload.again),
              name="open"),
        Route(Press(SurveyPick),
              lambda conv, payload: surveys.pick(conv, payload.q, payload.opt), name="pick"),
        Route(Press(SurveyNext), surveys.next_step),
        Route(Press(SurveySkip), surveys.skip),
        Route(Press(SurveyLater), surveys.later),
        Route((InState(surveys.STATE + ":"), FreeText()),
              lambda conv: surveys.typed(conv, conv.incoming.text), name="typed"),
    ]},
    screens={"survey": surveys.screen},
)
