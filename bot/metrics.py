"""What the running bot counts about itself: Prometheus metrics, and the few facts «состояние» shows.

Each bot has its own registry (tests build several bots in one process). Nothing here names a
person: labels are update types, message kinds and VK error codes.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from storage import Database

KINDS = ("reply", "notice", "reminder", "survey", "broadcast")
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
RECENT_ERRORS = 10


@dataclass(frozen=True)
class SendError:
    at: int  # unix seconds
    code: str  # VK error code, or "handler" for a failed handler
    kind: str


class BotMetrics:
    def __init__(self, today: Callable[[], str], clock_unix: Callable[[], int]) -> None:
        self.today = today  # the region's local date, ISO
        self.clock_unix = clock_unix
        self.registry = CollectorRegistry()
        self.updates = Counter("sferum_updates_handled", "Updates from VK handled, by type",
                               ["type"], registry=self.registry)
        self.sent = Counter("sferum_messages_sent", "Messages VK accepted, by kind",
                            ["kind"], registry=self.registry)
        self.send_errors = Counter("sferum_send_errors", "Messages not delivered, by VK error code",
                                   ["code"], registry=self.registry)
        self.latency = Histogram("sferum_reply_latency_seconds",
                                 "From an update received to its reply accepted by VK",
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.outbox = Gauge("sferum_outbox_pending", "Messages waiting in the outbox, by kind",
                            ["kind"], registry=self.registry)
        self.held = Gauge("sferum_notices_waiting",
                          "Notices waiting until their recipient writes to the community",
                          registry=self.registry)
        self.started_monotonic = time.monotonic()
        self.recent_errors: deque[SendError] = deque(maxlen=RECENT_ERRORS)
        self._sent_on: dict[str, int] = {}  # local date (ISO) -> messages accepted by VK

    # -- recording -----------------------------------------------------------------------------
    def delivered(self, kind: str, count: int = 1) -> None:
        self.sent.labels(kind).inc(count)
        day = self.today()
        self._sent_on = {day: self._sent_on.get(day, 0) + count}  # only today's count is kept

    def failed(self, code: int | str, kind: str, count: int = 1) -> None:
        self.send_errors.labels(str(code)).inc(count)
        self.recent_errors.append(SendError(self.clock_unix(), str(code), kind))

    def sent_today(self) -> int:
        return self._sent_on.get(self.today(), 0)

    @property
    def uptime(self) -> float:
        return time.monotonic() - self.started_monotonic

    # -- exposing ------------------------------------------------------------------------------
    async def refresh(self, db: "Database") -> None:
        """Gauges read from the database at scrape time."""
        async with db.read() as tx:
            pending = await tx.outbox.count_pending_by_kind()
            held = await tx.held.count_notices()
        for kind in sorted(set(KINDS) | set(pending)):
            self.outbox.labels(kind).set(pending.get(kind, 0))
        self.held.set(held)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
