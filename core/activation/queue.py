"""Coordinators' side of the activation: the application queue and its statuses (steps 1–3, moved
by ``steps.follow_application``),
the CSV export for the federal coordinators and the stuck organisations. The panel's «Воронка»
is core.admin's funnel (the typed «воронка» /funnel).

A municipal coordinator (access.municipality_id set) sees only their municipality in every list,
export and status change. Every coordinator action is written to the audit log.

States: "coord:panel" (the coordinator's keyboard), "coord:reject" (waiting for the reason of a
rejection; state_data["app"] = application id).
"""

from __future__ import annotations

import csv
import io
import logging
from typing import Any

from core.activation.common import kind_label, label, local_date, t, today, twins
from core.activation.steps import APP_FLOW, STEPS, follow_application, step_title
from core.activation.payloads import (
    ActOpen,
    Applications,
    CancelReject,
    Export,
    FormRestart,
    MarkSent,
    SetStatus,
    Stuck,
)
from core.admin.payloads import AuditView, FunnelView, SummaryView  # the panel's other buttons
from core.broadcasts.payloads import ListBroadcasts, NewBroadcast
from core.faq.payloads import FaqMisses, FaqReload
from core.tickets.payloads import ListTickets
from core.kernel.access import for_coordinators, territory
from core.kernel.clock import unix
from core.kernel.conversation import Conversation
from core.kernel.menu import main_menu, menu_button
from core.kernel.outgoing import Outgoing
from core.kernel.people import people
from core.kernel.platform import PlatformError, platform_of
from core.kernel.ui import Button, Keyboard, Reply
from core.kernel.untrusted import relayed, spreadsheet_row
from storage import Tx

log = logging.getLogger(__name__)
LIST_LIMIT = 10
PENDING = ("new", "sent")
STATE_PANEL = "coord:panel"
STATE_REJECT = "coord:reject"
REASON_MAX = 500


def _visible(conv: Conversation, municipality_id: int) -> bool:
    return territory(conv.access).sees(municipality_id)


def _filter(conv: Conversation) -> int | None:
    """The repository filter of the coordinator's territory (NotAllowed for anyone else)."""
    return territory(conv.access).filter


async def _audit(conv: Conversation, action: str, details: dict[str, Any]) -> None:
    async with conv.deps.db.transaction() as tx:
        await tx.audit.insert_entry(conv.person.vk_id, action,
                                    {**details, "municipality_id": _filter(conv)},
                                    unix(conv.deps.clock))


async def _scope_name(conv: Conversation, tx: Tx) -> str:
    scope = _filter(conv)
    if scope is None:
        return ""
    found = await tx.territory.get_municipality(scope)
    return found.name if found else ""


def panel_keyboard(conv: Conversation) -> Keyboard:
    """Everything a coordinator may do, by buttons (the typed commands work too); a bot
    admin also gets «Обновить справку». 6–7 rows of at most 2: within VK's keyboard limits."""
    rows = [
        [Button(label(conv, "btn.crd_apps"), Applications().dump(), "primary"),
         Button(label(conv, "btn.crd_export"), Export().dump())],
        [Button(label(conv, "btn.crd_funnel"), FunnelView().dump()),
         Button(label(conv, "btn.crd_stuck"), Stuck().dump())],
        [Button(label(conv, "btn.crd_summary"), SummaryView().dump()),
         Button(label(conv, "btn.crd_questions"), ListTickets().dump())],
        [Button(label(conv, "btn.crd_broadcast"), NewBroadcast().dump()),
         Button(label(conv, "btn.crd_broadcasts"), ListBroadcasts().dump())],
        [Button(label(conv, "btn.crd_misses"), FaqMisses().dump()),
         Button(label(conv, "btn.crd_audit"), AuditView().dump())],
    ]
    if conv.access.bot_admin:
        rows.append([Button(label(conv, "btn.crd_reload"), FaqReload().dump())])
    rows.append([menu_button(conv)])
    return Keyboard.of(*rows)


@for_coordinators
async def panel(conv: Conversation) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        await tx.users.update_state(conv.person.vk_id, STATE_PANEL, {}, unix(conv.deps.clock))
        scope = await _scope_name(conv, tx)
    return [Reply(t(conv, "coord.panel", scope=scope, admin=conv.access.bot_admin,
                    days=conv.deps.settings.schedule.stuck_after_days),
                  panel_keyboard(conv), template="coord.panel")]


async def screen(conv: Conversation) -> list[Reply]:
    if conv.person.state == STATE_REJECT and conv.access.coordinator:
        return [_reason_prompt(conv, int(conv.person.state_data.get("app", 0)))]
    if not conv.access.coordinator:
        return [main_menu(conv)]
    return [Reply(t(conv, "coord.panel_short"), panel_keyboard(conv), template="coord.panel_short")]


# ------------------------------------------------------------------------------------------------
# The queue
# ------------------------------------------------------------------------------------------------


def _status_buttons(conv: Conversation, app_id: int, status: str) -> Keyboard | None:
    allowed = APP_FLOW[status].next
    buttons = [Button(label(conv, f"btn.crd_{s}"), SetStatus(app=app_id, status=s).dump(),  # type: ignore[arg-type]
                      "negative" if s == "rejected" else "positive" if s == "created" else "primary")
               for s in ("sent", "created", "rejected") if s in allowed]
    return Keyboard.of(buttons, inline=True) if buttons else None


def _app_values(conv: Conversation, app: Any, duplicates: list[Any] | None = None) -> dict[str, Any]:
    return {"twins": [{"id": o.id, "name": o.name} for o in duplicates or []],"id": app.id, "date": local_date(conv, app.created_at), "org": app.org_name,
            "kind": kind_label(conv, app.org_kind), "municipality": app.municipality,
            "full_name": app.admin_full_name, "phone": app.admin_phone,
            "email": app.admin_email or "", "status": t(conv, f"coord.status.{app.status}"),
            "reason": app.reject_reason or "", "applicant": app.applicant_vk_id}


def _shown_values(conv: Conversation, app: Any,
                  duplicates: list[Any] | None = None) -> dict[str, Any]:
    """The same values for a chat message: what the applicant typed, quoted safely."""
    v = _app_values(conv, app, duplicates)
    return {**v, **{k: relayed(v[k], 300) for k in ("org", "full_name", "email", "reason")}}


@for_coordinators
async def applications(conv: Conversation) -> list[Reply]:
    async with conv.deps.db.read() as tx:
        apps = await tx.activation.list_applications(PENDING, _filter(conv))
        counts = await tx.activation.count_applications(_filter(conv))
        scope = await _scope_name(conv, tx)
    await _audit(conv, "activation.applications_viewed", {"shown": [a.id for a in apps[:LIST_LIMIT]]})
    head = Reply(t(conv, "coord.apps_head", total=len(apps), shown=min(len(apps), LIST_LIMIT),
                   new=counts.get("new", 0), sent=counts.get("sent", 0),
                   created=counts.get("created", 0), rejected=counts.get("rejected", 0),
                   scope=scope), template="coord.apps_head")
    duplicates: dict[int, list[Any]] = {}
    async with conv.deps.db.read() as tx:
        for a in apps[:LIST_LIMIT]:
            duplicates[a.id] = await twins(tx, a.org_id, a.org_name, a.municipality_id)
    cards = [Reply(t(conv, "coord.app_card", **_shown_values(conv, a, duplicates[a.id])),
                   _status_buttons(conv, a.id, a.status), template="coord.app_card")
             for a in apps[:LIST_LIMIT]]
    return [head, *cards]


def _reason_prompt(conv: Conversation, app_id: int) -> Reply:
    return Reply(t(conv, "coord.reject_reason", id=app_id),
                 Keyboard.of([Button(label(conv, "btn.crd_cancel"), CancelReject().dump())]),
                 template="coord.reject_reason")


@for_coordinators
async def set_status(conv: Conversation, app_id: int, status: str) -> list[Reply]:
    if status == "rejected":
        async with conv.deps.db.transaction() as tx:
            app = await tx.activation.get_application(app_id)
            if app is None or app.erased_at or not _visible(conv, app.municipality_id):
                return [Reply(t(conv, "input.not_allowed"), template="input.not_allowed")]
            if status not in APP_FLOW[app.status].next:
                return [_already(conv, app)]
            await tx.users.update_state(conv.person.vk_id, STATE_REJECT, {"app": app_id},
                                        unix(conv.deps.clock))
        return [_reason_prompt(conv, app_id)]
    return await _apply(conv, [app_id], status, None)


@for_coordinators
async def cancel_reject(conv: Conversation) -> list[Reply]:
    return await panel(conv)


@for_coordinators
async def reject_reason(conv: Conversation, text: str) -> list[Reply]:
    app_id = int(conv.person.state_data.get("app", 0))
    async with conv.deps.db.transaction() as tx:
        await tx.users.update_state(conv.person.vk_id, STATE_PANEL, {}, unix(conv.deps.clock))
    answers = await _apply(conv, [app_id], "rejected", " ".join(text.split())[:REASON_MAX])
    # the reason prompt's «Отмена» is under the input field: put the panel back
    last = answers[-1]
    answers[-1] = Reply(last.text, last.keyboard or panel_keyboard(conv), last.attachments,
                        last.template)
    return answers


def _already(conv: Conversation, app: Any) -> Reply:
    return Reply(t(conv, "coord.status_unchanged", id=app.id,
                   status=t(conv, f"coord.status.{app.status}")),
                 _status_buttons(conv, app.id, app.status), template="coord.status_unchanged")


async def _apply(conv: Conversation, app_ids: list[int], status: str,
                 reason: str | None, bulk: bool = False) -> list[Reply]:
    """Move applications to a status; each is re-read and checked inside the transaction, so
    two coordinators pressing at once change it once. Admins are told after the commit."""
    deps = conv.deps
    now = unix(deps.clock)
    changed: list[Any] = []
    answers: list[Reply] = []
    async with deps.db.transaction() as tx:
        for app_id in app_ids:
            app = await tx.activation.get_application(app_id)
            if app is None or app.erased_at or not _visible(conv, app.municipality_id):
                answers.append(Reply(t(conv, "input.not_allowed"), template="input.not_allowed"))
                continue
            if status not in APP_FLOW[app.status].next or not await \
                    tx.activation.update_application_status(app.id, app.status, status, reason, now):
                answers.append(_already(conv, app))
                continue
            # steps 1..3 follow the application; later ones are the admin's
            await follow_application(tx, app.org_id, app.org_step, status, now)
            await tx.audit.insert_entry(conv.person.vk_id, "activation.status",
                                        {"app": app.id, "from": app.status, "to": status,
                                         "municipality_id": app.municipality_id}, now)
            changed.append(app)
    notices = [_admin_notice(conv, app, status, reason) for app in changed if app.applicant_vk_id]
    if notices:
        await deps.messenger.send(notices)
    if not bulk and changed:
        app = changed[0]
        answers.append(Reply(t(conv, "coord.status_changed", id=app.id, org=relayed(app.org_name),
                               status=t(conv, f"coord.status.{status}"), notified=bool(notices)),
                             _status_buttons(conv, app.id, status), template="coord.status_changed"))
    elif bulk:
        answers = [Reply(t(conv, "coord.marked_sent", count=len(changed),
                           skipped=len(app_ids) - len(changed)), template="coord.marked_sent")]
    return answers


def _admin_notice(conv: Conversation, app: Any, status: str, reason: str | None) -> Outgoing:
    button = (Button(label(conv, "btn.act_refill"), FormRestart().dump(), "primary")
              if status == "rejected" else
              Button(label(conv, "btn.act_continue"), ActOpen().dump(), "primary"))
    key = f"activation.notice.{status}"
    text = t(conv, key, id=app.id, org=relayed(app.org_name), reason=relayed(reason, 500))
    return Outgoing(app.applicant_vk_id, Reply(text, Keyboard.of([button], inline=True), template=key),
                    "notice", f"app-status:{app.id}:{status}")


# ------------------------------------------------------------------------------------------------
# The CSV for the federal coordinators
# ------------------------------------------------------------------------------------------------


def applications_csv(conv: Conversation, apps: list[Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(spreadsheet_row(c.strip() for c in t(conv, "coord.csv_header").split(";")))
    for app in apps:  # names, phones, e-mails are typed by people: never live formulas
        v = _app_values(conv, app)
        writer.writerow(spreadsheet_row([v["id"], v["date"], v["municipality"], v["org"],
                                         v["kind"], v["full_name"], v["phone"], v["email"],
                                         v["status"]]))
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read it as UTF-8


@for_coordinators
async def export(conv: Conversation) -> list[Reply]:
    async with conv.deps.db.read() as tx:
        apps = await tx.activation.list_applications(("new",), _filter(conv))
    if not apps:
        await _audit(conv, "activation.export", {"count": 0})
        return [Reply(t(conv, "coord.export_empty"), template="coord.export_empty")]
    platform = platform_of(conv.deps)
    filename = f"applications-{today(conv).isoformat()}.csv"
    try:
        if platform is None:
            raise PlatformError("no platform service")
        attachment = await platform.upload_document(conv.person.vk_id, filename,
                                                    applications_csv(conv, apps))
    except PlatformError as exc:
        log.warning("export of %d applications failed: %s", len(apps), exc)
        return [Reply(t(conv, "coord.export_failed"), template="coord.export_failed")]
    upto = max(a.id for a in apps)
    await _audit(conv, "activation.export", {"count": len(apps), "upto": upto})
    keyboard = Keyboard.of([Button(label(conv, "btn.crd_mark", n=len(apps)),
                                   MarkSent(upto=upto).dump(), "primary")], inline=True)
    return [Reply(t(conv, "coord.exported", count=len(apps)), keyboard, (attachment,),
                  template="coord.exported")]


@for_coordinators
async def mark_sent(conv: Conversation, upto: int) -> list[Reply]:
    async with conv.deps.db.read() as tx:
        apps = await tx.activation.list_applications(("new",), _filter(conv),
                                                     up_to_id=upto)
    if not apps:
        return [Reply(t(conv, "coord.marked_none"), template="coord.marked_none")]
    return await _apply(conv, [a.id for a in apps], "sent", None, bulk=True)


# ------------------------------------------------------------------------------------------------
# Stuck organisations
# ------------------------------------------------------------------------------------------------


@for_coordinators
async def stuck(conv: Conversation) -> list[Reply]:
    days = conv.deps.settings.schedule.stuck_after_days
    now = unix(conv.deps.clock)
    async with conv.deps.db.read() as tx:
        found = await tx.activation.list_stuck(now - days * 86400, _filter(conv))
        scope = await _scope_name(conv, tx)
    await _audit(conv, "activation.stuck_viewed", {"count": len(found)})
    admins = await people(conv.deps, {s.org.admin_vk_id for s in found if s.org.admin_vk_id})
    items = [{"org": s.org.name, "municipality": s.municipality, "step": s.org.step,
              "title": step_title(conv, s.org.step),
              "since": local_date(conv, s.org.step_updated_at or s.org.created_at),
              "days": (now - (s.org.step_updated_at or s.org.created_at)) // 86400,
              "admin": admins[s.org.admin_vk_id].values(conv.deps.texts)
              if s.org.admin_vk_id in admins else None,
              "coordinators": STEPS[s.org.step].actor == "coordinator"}
             for s in found]
    return [Reply(t(conv, "coord.stuck", items=items, days=days, scope=scope), template="coord.stuck")]

