"""The 8-step activation: the organisation admin's buttons and typed answers, the staff
member's path, and the coordinators' queue of applications (panel, statuses, export, stuck).
Buttons first; free text by state comes late in the order (only what the state understands;
other text goes on to the FAQ and the fallback, which show the step again)."""

from __future__ import annotations

from core.activation import payloads as ui
from core.activation import queue as crd
from core.activation import service as act
from core.activation import staff as stf
from core.activation import steps
from core.kernel.conversation import Conversation
from core.kernel.registry import CommandInfo, Feature, MenuEntry
from core.kernel.routes import (
    COORDINATOR,
    Command,
    FreeText,
    HasRole,
    InState,
    Press,
    Route,
    Test,
    role,
)

ORG_ADMIN = role("org_admin")   # a forged or outdated admin's button: «нет прав» and the screen
STAFF = role("staff")
COORDINATOR_BUTTON = COORDINATOR.refusing("screen")  # «нет прав» and the screen the person is on
COORDINATOR_TYPED = COORDINATOR.refusing(None)  # «заявки» from anyone else is a question


def _interpreted(interpret):  # typed text the state understands, as the handler's ``intent``
    async def test(conv: Conversation):
        return await interpret(conv, conv.incoming.text)
    return Test(test, name="intent")


# «C46E3KC» as the very first message, «мне дали код M5567AH» in the menu: join (before the
# role choice, which would otherwise ask a newcomer who they are)
CODES = [
    Route(Test(stf.typed_code, name="found"),
          lambda conv, found: stf.code_typed(conv, *found), name="invite_code_typed"),
]

BUTTONS = [
    # -- the organisation admin
    Route(Press(ui.ActOpen), act.open_flow, ORG_ADMIN),
    Route(Press(ui.FormKind), lambda conv, payload: act.form_choice(conv, "kind", payload.kind),
          ORG_ADMIN, name="form_kind"),
    Route(Press(ui.FormMunicipality),
          lambda conv, payload: act.form_choice(conv, "municipality", payload.id), ORG_ADMIN,
          name="form_municipality"),
    Route(Press(ui.FormPage), lambda conv, payload: act.form_page(conv, payload.page), ORG_ADMIN,
          name="form_page"),
    Route(Press(ui.FormKeep), lambda conv, payload: act.form_keep(conv, payload.field), ORG_ADMIN,
          name="form_keep"),
    Route(Press(ui.FormSkip), act.form_skip, ORG_ADMIN),
    Route(Press(ui.FormBack), lambda conv, payload: act.form_back(conv, payload.field), ORG_ADMIN,
          name="form_back"),
    Route(Press(ui.FormSubmit), act.form_submit, ORG_ADMIN),
    Route(Press(ui.FormRestart), act.form_restart, ORG_ADMIN),
    Route(Press(ui.StepDone), lambda conv, payload: steps.step_done(conv, payload.step), ORG_ADMIN,
          name="step_done"),
    Route(Press(ui.StepHelp), lambda conv, payload: act.step_help(conv, payload.step), ORG_ADMIN,
          name="step_help"),
    Route(Press(ui.StepBack), lambda conv, payload: steps.step_back(conv, payload.step), ORG_ADMIN,
          name="step_back"),
    Route(Press(ui.PassProblem), lambda conv, payload: act.pass_problem(conv, payload.step),
          ORG_ADMIN, name="pass_problem"),
    Route(Press(ui.WhereAmI), act.where_am_i, ORG_ADMIN),
    Route(Press(ui.ChooseStructure),
          lambda conv, payload: steps.choose_structure(conv, payload.structure), ORG_ADMIN,
          name="choose_structure"),
    Route(Press(ui.Platform), lambda conv, payload: act.platform_help(conv, payload.platform),
          ORG_ADMIN, name="platform"),
    Route(Press(ui.StaffList), act.staff_list, ORG_ADMIN),
    Route(Press(ui.InviteText), act.invite, ORG_ADMIN),
    # -- the staff member
    Route(Press(ui.StaffOpen), stf.open_flow, STAFF, name="staff_open"),
    Route(Press(ui.StaffJoin), lambda conv, payload: stf.join(conv, payload.code), STAFF,
          name="staff_join"),
    Route(Press(ui.StaffDone), lambda conv, payload: stf.done(conv, payload.item), STAFF,
          name="staff_done"),
    Route(Press(ui.StaffHelp), lambda conv, payload: stf.help_(conv, payload.item), STAFF,
          name="staff_help"),
    Route(Press(ui.StaffPass), lambda conv, payload: stf.pass_problem(conv, payload.item), STAFF,
          name="staff_pass"),
    Route(Press(ui.StaffWhere), stf.where, STAFF, name="staff_where"),
]

TEXT = [
    Route((HasRole("org_admin"), Command("cmd.where")), act.where_am_i, name="where_typed"),
    Route((HasRole("staff"), Command("cmd.where")), stf.where, name="staff_where_typed"),
    Route((HasRole("org_admin"), InState(act.STATE_FORM), FreeText()),
          lambda conv: act.form_text(conv, conv.incoming.text), name="form_text"),
    Route((HasRole("org_admin"), InState(act.STATE_STEP), FreeText(), _interpreted(act.interpret)),
          act.step_text, name="step_text"),
    Route((HasRole("staff"), InState("staff:"), FreeText(), _interpreted(stf.interpret)),
          lambda conv, intent: stf.free_text(conv, *intent), name="staff_text"),
]

# -- the coordinators' queue of applications
COORDINATORS = [
    Route(Press(ui.Panel), crd.panel, COORDINATOR_BUTTON),
    Route(Press(ui.Applications), crd.applications, COORDINATOR_BUTTON),
    Route(Press(ui.SetStatus), lambda conv, payload: crd.set_status(conv, payload.app,
                                                                    payload.status),
          COORDINATOR_BUTTON, name="set_status"),
    Route(Press(ui.CancelReject), crd.cancel_reject, COORDINATOR_BUTTON),
    Route(Press(ui.Export), crd.export, COORDINATOR_BUTTON),
    Route(Press(ui.MarkSent), lambda conv, payload: crd.mark_sent(conv, payload.upto),
          COORDINATOR_BUTTON, name="mark_sent"),
    Route(Press(ui.Stuck), crd.stuck, COORDINATOR_BUTTON),
    Route(Command("cmd.coord"), crd.panel, COORDINATOR_TYPED, name="panel_typed"),
    Route(Command("cmd.applications"), crd.applications, COORDINATOR_TYPED,
          name="applications_typed"),
    Route(Command("cmd.export"), crd.export, COORDINATOR_TYPED, name="export_typed"),
    Route(Command("cmd.stuck"), crd.stuck, COORDINATOR_TYPED, name="stuck_typed"),
    Route((InState(crd.STATE_REJECT), FreeText()),
          lambda conv: crd.reject_reason(conv, conv.incoming.text), COORDINATOR_TYPED,
          name="reject_reason"),
]

FEATURE = Feature(
    name="activation",
    routes={"codes": CODES, "buttons": BUTTONS, "coordinators": COORDINATORS, "text": TEXT},
    screens={"activation": act.screen, "staff": stf.screen, "coord": crd.screen},
    menu=[MenuEntry(10, act.menu_entries)],
    continuations={
        "consent.given": act.consent_given,  # «Даю согласие»: the form or joining goes on
        "activation.invite_offer": stf.invite_offer,  # right after «Педагог или сотрудник»
    },
    privileged_states=("coord:",),
    commands=[CommandInfo("coord", 40, COORDINATOR_TYPED, listed_only=True),
              CommandInfo("applications", 50, COORDINATOR_TYPED, listed_only=True),
              CommandInfo("export", 60, COORDINATOR_TYPED, listed_only=True),
              CommandInfo("stuck", 80, COORDINATOR_TYPED, listed_only=True)],
)
