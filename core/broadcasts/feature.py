"""Coordinator broadcasts: the compose dialog, cancel and history; «не присылать рассылки»
for everyone."""

from __future__ import annotations

from core.broadcasts import service as broadcasts
from core.broadcasts.payloads import (BroadcastsOff, BroadcastsOn, CancelBroadcast, DifficultyPage,
                                      EditText, Later, ListBroadcasts, NewBroadcast, PickKind,
                                      PickMessenger, PickValue, QuitDraft, SendAt, SendNow)
from core.kernel.commands import Said
from core.kernel.registry import CommandInfo, Feature
from core.kernel.routes import COORDINATOR, InState, Press, Route, Typed

IN_DIALOG = COORDINATOR.refusing(None)  # rights gone mid-dialog: the screen itself refuses

ROUTES = [
    # -- everyone
    Route(Press(BroadcastsOff), lambda conv: broadcasts.set_broadcasts(conv, False),
          name="off"),
    Route(Said("broadcasts_off"), lambda conv: broadcasts.set_broadcasts(conv, False),
          name="off_typed"),
    Route(Press(BroadcastsOn), lambda conv: broadcasts.set_broadcasts(conv, True),
          name="on"),
    Route(Said("broadcasts_on"), lambda conv: broadcasts.set_broadcasts(conv, True),
          name="on_typed"),
    # -- coordinators
    Route(Press(NewBroadcast), broadcasts.start, COORDINATOR, name="new"),
    Route(Said("broadcast"), broadcasts.start, COORDINATOR, name="new_typed"),
    Route(Press(PickKind),
          lambda conv, payload: broadcasts.pick_kind(conv, payload.kind), COORDINATOR,
          name="kind"),
    Route(Press(PickValue),
          lambda conv, payload: broadcasts.pick_value(conv, payload.v), COORDINATOR,
          name="pick"),
    Route(Press(PickMessenger),
          lambda conv, payload: broadcasts.pick_messenger(conv, payload.m), COORDINATOR,
          name="messenger"),
    Route(Press(DifficultyPage),
          lambda conv, payload: broadcasts.difficulty_page(conv, payload.p), COORDINATOR,
          name="difficulty_page"),
    Route(Press(EditText), broadcasts.edit_text, COORDINATOR),
    Route(Press(SendNow), broadcasts.send_now, COORDINATOR),
    Route(Press(Later), broadcasts.later, COORDINATOR),
    Route(Press(SendAt), lambda conv, payload: broadcasts.send_at(conv, payload.t),
          COORDINATOR, name="send_at"),
    Route(Press(QuitDraft), broadcasts.quit_draft, COORDINATOR),
    Route(Press(CancelBroadcast),
          lambda conv, payload: broadcasts.cancel(conv, payload.id), COORDINATOR, name="cancel"),
    Route(Said("cancel"), broadcasts.cancel_typed, COORDINATOR, name="cancel_typed"),
    Route(Press(ListBroadcasts), broadcasts.history, COORDINATOR),
    Route(Said("history"), broadcasts.history, COORDINATOR, name="history_typed"),
    Route((InState("broadcast:"), Typed()),
          lambda conv: broadcasts.typed(conv, conv.incoming.files), IN_DIALOG, name="typed"),
]

FEATURE = Feature(
    name="broadcasts",
    routes={"routes": ROUTES},
    screens={"broadcast": broadcasts.screen},
    privileged_states=("broadcast:",),
    # whom a broadcast reaches, in words (the journal of core/admin shows it)
    continuations={"broadcasts.describe_audience": lambda conv, audience:
                   broadcasts.describe_audience(conv.deps, audience, conv.access.municipality_id)},
    commands=[CommandInfo("broadcasts_off", 20), CommandInfo("broadcasts_on", 30),
              CommandInfo("broadcast", 120, COORDINATOR, ),
              CommandInfo("history", 130, COORDINATOR),
              CommandInfo("cancel", 140, COORDINATOR, with_args=True)],
)
