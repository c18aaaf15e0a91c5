"""The weekly difficulty survey: its buttons, and text typed while a question is open."""

from __future__ import annotations

from core.kernel.registry import Feature
from core.kernel.routes import FreeText, InState, Press, Route
from core.surveys import service as surveys

FEATURE = Feature(
    name="surveys",
    routes={"routes": [
        Route(Press(surveys.SurveyOpen),
              lambda conv, payload: surveys.open_survey(conv, payload.w, payload.again),
              name="open"),
        Route(Press(surveys.SurveyPick),
              lambda conv, payload: surveys.pick(conv, payload.q, payload.opt), name="pick"),
        Route(Press(surveys.SurveyNext), surveys.next_step),
        Route(Press(surveys.SurveySkip), surveys.skip),
        Route(Press(surveys.SurveyLater), surveys.later),
        Route((InState(surveys.STATE + ":"), FreeText()),
              lambda conv: surveys.typed(conv, conv.incoming.text), name="typed"),
    ]},
    screens={"survey": surveys.screen},
)
