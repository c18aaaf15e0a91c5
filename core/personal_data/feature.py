"""Personal data: the consent buttons, «Мои данные», withdrawing consent and erasing."""

from __future__ import annotations

from core.kernel.conversation import Conversation
from core.kernel.registry import Feature, MenuEntry
from core.kernel.routes import Command, Press, Route
from core.kernel.ui import Button
from core.personal_data import payloads as ui
from core.personal_data import service as pd


def _rows(conv: Conversation) -> list[list[Button]]:
    return [[Button(conv.deps.texts.label("btn.pd_open"), ui.MyData().dump())]]


FEATURE = Feature(
    name="personal_data",
    routes={"routes": [
        Route(Press(ui.GiveConsent),
              lambda conv, payload: pd.answer_consent(conv, payload.agree, payload.then),
              name="consent"),
        Route(Press(ui.FullConsent), lambda conv, payload: pd.full_text(conv, payload.then),
              name="consent_full_text"),
        Route(Press(ui.MyData), pd.my_data),
        Route(Press(ui.EraseAsk), pd.erase_ask),
        Route(Press(ui.EraseConfirm), pd.erase),
        Route(Command("cmd.mydata"), pd.my_data, name="my_data_typed"),
        Route(Command("cmd.forget"), pd.erase_ask, name="erase_typed"),
    ]},
    screens={"mydata": pd.screen},
    menu=[MenuEntry(60, _rows)],
    # a flow that needs the consent asks it (and shows the question again after a detour);
    # «Даю согласие» resumes that flow (the continuation "consent.given", with ``then``)
    continuations={"personal_data.ask_consent": pd.ask_consent,
                   "personal_data.consent_screen": pd.question_screen},
)
