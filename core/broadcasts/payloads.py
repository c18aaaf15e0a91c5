"""Buttons of the broadcast dialog and of «не присылать рассылки»."""

from __future__ import annotations

from core.kernel.payloads import Payload
from storage.broadcasts import AudienceKind, Messenger


class NewBroadcast(Payload):
    cmd: str = "bc.new"


class PickKind(Payload):
    cmd: str = "bc.kind"
    kind: AudienceKind


class PickValue(Payload):
    cmd: str = "bc.pick"
    v: str


class PickMessenger(Payload):
    """Only VK, only MAX, or both (None); offered when the bot serves both messengers."""
    cmd: str = "bc.msgr"
    m: Messenger | None = None


class DifficultyPage(Payload):
    cmd: str = "bc.dpage"
    p: int


class SendNow(Payload):
    cmd: str = "bc.now"


class Later(Payload):
    cmd: str = "bc.later"


class SendAt(Payload):
    cmd: str = "bc.at"
    t: int


class EditText(Payload):
    cmd: str = "bc.edit"


class QuitDraft(Payload):
    cmd: str = "bc.quit"


class CancelBroadcast(Payload):
    cmd: str = "bc.cancel"
    id: int


class ListBroadcasts(Payload):
    cmd: str = "bc.list"


class BroadcastsOff(Payload):
    cmd: str = "bc.off"


class BroadcastsOn(Payload):
    cmd: str = "bc.on"
