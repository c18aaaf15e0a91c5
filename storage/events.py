"""De-duplication of incoming events and the audit log."""

from __future__ import annotations

import json
from typing import Any, TYPE_CHECKING

from storage.models import AuditEntry

if TYPE_CHECKING:
    from storage.db import Tx


class EventsRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def claim_event(self, event_id: str, now: int) -> bool:
        """True the first time an event_id is seen, False for a replay."""
        cur = await self.tx.execute(
            "INSERT OR IGNORE INTO processed_events (event_id, received_at) VALUES (?, ?)",
            (event_id, now),
        )
        return cur.rowcount == 1

    async def delete_old_events(self, before: int, limit: int) -> int:
        """Forget up to ``limit`` events received before ``before`` (retention)."""
        cur = await self.tx.execute(
            "DELETE FROM processed_events WHERE rowid IN (SELECT rowid FROM processed_events"
            " WHERE received_at < ? LIMIT ?)", (before, limit))
        return cur.rowcount


class AuditRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def insert_entry(self, actor_id: int, action: str, details: dict[str, Any],
                           now: int) -> None:
        await self.tx.execute(
            "INSERT INTO audit_log (actor_id, action, details, at) VALUES (?, ?, ?, ?)",
            (actor_id, action, json.dumps(details, ensure_ascii=False, sort_keys=True), now),
        )

    async def list_entries(self, limit: int = 20) -> list[AuditEntry]:
        rows = await self.tx.fetchall(
            "SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [
            AuditEntry.model_validate({**dict(r), "details": json.loads(r["details"])})
            for r in rows
        ]
