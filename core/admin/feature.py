"""Coordinators' and bot admins' commands: the help that lists every command a person may use,
summaries, the funnel, the journal, grants."""

from __future__ import annotations

from core.admin import service as admin
from core.admin.payloads import (AuditView, FunnelChart, FunnelView, SummaryFile, SummaryPlaces,
                                 SummaryView)
from core.kernel.commands import Said
from core.kernel.registry import CommandInfo, Feature
from core.kernel.routes import BOT_ADMIN, COORDINATOR, Press, Route

ROUTES = [
    Route(Said("help"), admin.help_screen, name="help"),
    Route(Said("summary"), admin.summary, COORDINATOR, name="summary_typed"),
    Route(Press(SummaryFile), admin.summary_file, COORDINATOR),
    Route(Press(SummaryView), admin.summary_view, COORDINATOR),
    Route(Press(SummaryPlaces), admin.summary_places, COORDINATOR),
    Route(Said("funnel"), admin.funnel, COORDINATOR, name="funnel_typed"),
    Route(Press(FunnelView), lambda conv: admin.funnel(conv, ""), COORDINATOR,
          name="funnel"),
    Route(Press(FunnelChart), admin.funnel_chart, COORDINATOR),
    Route(Said("audit"), admin.audit_log, COORDINATOR, name="audit_typed"),
    Route(Press(AuditView), admin.audit_log, COORDINATOR, name="audit"),
    Route(Said("grant"), admin.grant, BOT_ADMIN),
    Route(Said("revoke"), admin.revoke, BOT_ADMIN),
]

FEATURE = Feature(
    name="admin",
    routes={"routes": ROUTES},
    commands=[CommandInfo("help", 0),
              CommandInfo("funnel", 70, COORDINATOR, with_args=True),
              CommandInfo("summary", 110, COORDINATOR, with_args=True),
              CommandInfo("audit", 150, COORDINATOR),
              CommandInfo("grant", 180, BOT_ADMIN, with_args=True),
              CommandInfo("revoke", 190, BOT_ADMIN, with_args=True)],
)
