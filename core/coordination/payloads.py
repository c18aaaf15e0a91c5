"""The coordinators' buttons of the applications queue. Other features import only this module
of the coordination."""

from __future__ import annotations

from typing import Literal

from core.kernel.payloads import Payload


class Panel(Payload):
    cmd: str = "crd"


class Applications(Payload):
    cmd: str = "crd.apps"


class SetStatus(Payload):
    cmd: str = "crd.status"
    app: int
    status: Literal["sent", "created", "rejected"]


class Export(Payload):
    cmd: str = "crd.export"


class MarkSent(Payload):
    cmd: str = "crd.mark"
    upto: int


class Stuck(Payload):
    cmd: str = "crd.stuck"


class CancelReject(Payload):
    cmd: str = "crd.cancel"


COORDINATOR_PAYLOADS: tuple[type[Payload], ...] = (Panel, Applications, SetStatus, Export, MarkSent,
                                                   Stuck, CancelReject)
