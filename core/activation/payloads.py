"""The buttons of the activation: the organisation admin's (steps 1..8 and the application form),
the staff member's and the coordinators' (the applications queue). Other features import only
this module of the activation."""

from __future__ import annotations

from typing import Literal

from core.kernel.payloads import Payload

OrgKind = Literal["school", "college", "extra", "preschool", "office", "method"]
Structure = Literal["single", "full"]
Item = Literal["reg", "app", "chat"]  # the staff member's items (staff.STAFF_STEPS)

# -- the organisation admin


class ActOpen(Payload):
    cmd: str = "act"


class FormKind(Payload):
    cmd: str = "act.kind"
    kind: OrgKind


class FormMunicipality(Payload):
    cmd: str = "act.mun"
    id: int


class FormPage(Payload):
    cmd: str = "act.page"
    page: int


class FormKeep(Payload):
    cmd: str = "act.keep"
    field: str


class FormSkip(Payload):
    cmd: str = "act.skip"


class FormBack(Payload):
    cmd: str = "act.fback"
    field: str


class FormSubmit(Payload):
    cmd: str = "act.submit"


class FormRestart(Payload):
    cmd: str = "act.refill"


class StepDone(Payload):
    cmd: str = "act.done"
    step: int


class StepHelp(Payload):
    cmd: str = "act.help"
    step: int


class StepBack(Payload):
    cmd: str = "act.back"
    step: int


class PassProblem(Payload):
    cmd: str = "act.ticket"
    step: int


class WhereAmI(Payload):
    cmd: str = "act.where"


class ChooseStructure(Payload):
    cmd: str = "act.struct"
    structure: Structure


class Platform(Payload):
    cmd: str = "act.platform"
    platform: Literal["phone", "computer"]


class StaffList(Payload):
    cmd: str = "act.staff"


class InviteText(Payload):
    cmd: str = "act.invite"


# Buttons only an organisation's admin may press (a forged one from anyone else is refused).
ADMIN_PAYLOADS: tuple[type[Payload], ...] = (
    ActOpen, FormKind, FormMunicipality, FormPage, FormKeep, FormSkip, FormBack, FormSubmit,
    FormRestart, StepDone, StepHelp, StepBack, PassProblem, ChooseStructure, Platform, StaffList,
    InviteText)

# -- the staff member


class StaffOpen(Payload):
    cmd: str = "stf"


class StaffJoin(Payload):
    cmd: str = "stf.join"
    code: str


class StaffDone(Payload):
    cmd: str = "stf.done"
    item: Item


class StaffHelp(Payload):
    cmd: str = "stf.help"
    item: Item


class StaffPass(Payload):
    cmd: str = "stf.ticket"
    item: Item


class StaffWhere(Payload):
    cmd: str = "stf.where"


STAFF_PAYLOADS: tuple[type[Payload], ...] = (StaffOpen, StaffJoin, StaffDone, StaffHelp, StaffPass,
                                             StaffWhere)

# -- the coordinators (the applications queue, core/activation/queue.py)


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
