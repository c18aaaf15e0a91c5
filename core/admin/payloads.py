"""Buttons of coordinators' summaries, the funnel and the journal."""

from __future__ import annotations

from typing import Literal

from core.kernel.payloads import Payload

Format = Literal["png", "xlsx", "csv"]


class SummaryFile(Payload):
    cmd: str = "sum.file"
    w: str
    m: int | None = None
    o: int | None = None
    f: Format


class FunnelChart(Payload):
    cmd: str = "fun.chart"
    m: int | None = None


class FunnelView(Payload):
    """«Воронка» in the coordinator panel: the funnel of the coordinator's whole territory."""
    cmd: str = "fun"


class SummaryView(Payload):
    """A summary by button: a week (None = the latest with answers) of a place (None/None =
    the coordinator's whole territory)."""
    cmd: str = "sum"
    w: str | None = None
    m: int | None = None
    o: int | None = None


class SummaryPlaces(Payload):
    """«Другая территория» under a summary: the municipalities, a page at a time."""
    cmd: str = "sum.places"
    w: str | None = None
    p: int = 0


class AuditView(Payload):
    """«Журнал» in the coordinator panel."""
    cmd: str = "audit"
