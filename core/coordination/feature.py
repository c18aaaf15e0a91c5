"""The coordinators' panel and applications queue: buttons, typed commands, the reason typed
for a rejection."""

from __future__ import annotations

from core.coordination import payloads as ui
from core.coordination import service as crd
from core.kernel.routes import COORDINATOR, Command, FreeText, InState, Press, Route
from core.kernel.registry import CommandInfo, Feature

BUTTON = COORDINATOR.refusing("screen")  # «нет прав» and the screen the person is on
TYPED = COORDINATOR.refusing(None)       # «заявки» from anyone else is a question, not a command

ROUTES = [
    Route(Press(ui.Panel), crd.panel, BUTTON),
    Route(Press(ui.Applications), crd.applications, BUTTON),
    Route(Press(ui.SetStatus), lambda conv, payload: crd.set_status(conv, payload.app,
                                                                     payload.status),
          BUTTON, name="set_status"),
    Route(Press(ui.CancelReject), crd.cancel_reject, BUTTON),
    Route(Press(ui.Export), crd.export, BUTTON),
    Route(Press(ui.MarkSent), lambda conv, payload: crd.mark_sent(conv, payload.upto), BUTTON,
          name="mark_sent"),
    Route(Press(ui.Stuck), crd.stuck, BUTTON),
    Route(Command("cmd.coord"), crd.panel, TYPED, name="panel_typed"),
    Route(Command("cmd.applications"), crd.applications, TYPED, name="applications_typed"),
    Route(Command("cmd.export"), crd.export, TYPED, name="export_typed"),
    Route(Command("cmd.stuck"), crd.stuck, TYPED, name="stuck_typed"),
    Route((InState(crd.STATE_REJECT), FreeText()),
          lambda conv: crd.reject_reason(conv, conv.incoming.text), TYPED, name="reject_reason"),
]

FEATURE = Feature(
    name="coordination",
    routes={"routes": ROUTES},
    screens={"coord": crd.screen},
    privileged_states=("coord:",),
    commands=[CommandInfo("coord", 40, TYPED, listed_only=True),
              CommandInfo("applications", 50, TYPED, listed_only=True),
              CommandInfo("export", 60, TYPED, listed_only=True),
              CommandInfo("stuck", 80, TYPED, listed_only=True)],
)
