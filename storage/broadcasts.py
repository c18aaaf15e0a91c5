"""Coordinator broadcasts and their audiences.

Every query that can reveal people takes ``scope``: the municipality a coordinator is limited to
(None = the whole region). A municipal coordinator's audience is the people whose organisation
is in that municipality, whatever filter they chose, and they see only their own broadcasts.
"""

from __future__ import annotations

import json
from typing import Any, Literal, TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from storage.db import Tx

BroadcastStatus = Literal["draft", "scheduled", "running", "done", "cancelled"]
AudienceKind = Literal["all", "role", "municipality", "org", "step", "difficulty"]
Messenger = Literal["vk", "max"]


class Audience(BaseModel):
    """Whom a broadcast is for. ``value`` depends on the kind: a role, a municipality id, an
    organisation id, an activation step (1..9), a survey difficulty option id; ``week`` is the
    survey week a difficulty audience refers to; ``messenger`` narrows it to the people of one
    messenger (None: both, or the only one the bot serves)."""

    model_config = ConfigDict(frozen=True)

    kind: AudienceKind = "all"
    value: str | int | None = None
    week: str | None = None
    messenger: Messenger | None = None


class Broadcast(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    author_vk_id: int
    scope_municipality_id: int | None
    audience: Audience
    text: str
    attachments: tuple[str, ...]
    status: BroadcastStatus
    send_at: int | None
    recipients: int
    recipients_max: int = 0   # of ``recipients``, people in MAX (the rest are in VK)
    status_peer_id: int | None
    status_message_id: int | None
    created_at: int
    updated_at: int
    job: str | None
    started_at: int | None
    finished_at: int | None
    cancelled_by: int | None
    delivered: int
    not_allowed: int
    failed: int
    cancel_reason: str | None = None   # 'rights': withheld, the author lost the right to send it

    @classmethod
    def from_row(cls, row: Any) -> "Broadcast":
        data = dict(row)
        data["audience"] = json.loads(data.get("audience") or "{}")
        data["attachments"] = tuple(a for a in (data.get("attachments") or "").split(",") if a)
        return cls.model_validate(data)


class Recipient(BaseModel):
    model_config = ConfigDict(frozen=True)

    vk_id: int
    first_name: str = ""
    last_name: str = ""
    org_name: str | None = None
    municipality_name: str | None = None
    erased: bool = False  # erased their data: their name is never looked up again


def job_of(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"


# The organisation a person belongs to: their own org_id, else the one they administer.
_PEOPLE_COLUMNS = ("u.vk_id, u.first_name, u.last_name, o.name AS org_name,"
                   " m.name AS municipality_name, u.erased_at IS NOT NULL AS erased")
_PEOPLE = (
    "SELECT " + _PEOPLE_COLUMNS +
    " FROM users u"
    " LEFT JOIN organisations o ON o.id = COALESCE(u.org_id, (SELECT a.id FROM organisations a"
    "   WHERE a.admin_vk_id = u.vk_id ORDER BY a.id LIMIT 1))"
    " LEFT JOIN municipalities m ON m.id = o.municipality_id"
    " WHERE u.broadcasts_on = 1 AND u.reachable = 1"
)


def _needs_org(audience: Audience, scope: int | None) -> bool:
    return scope is not None or audience.kind in ("municipality", "org", "step")


def _from(audience: Audience, scope: int | None, what: str) -> str:
    """SELECT <what> over the audience's people; the organisation join only when a filter
    needs it (counting a whole region then reads the users table alone)."""
    if _needs_org(audience, scope):
        return _PEOPLE.replace(_PEOPLE_COLUMNS, what)
    return f"SELECT {what} FROM users u WHERE u.broadcasts_on = 1 AND u.reachable = 1"


def _audience_filter(audience: Audience, scope: int | None) -> tuple[str, list[Any]]:
    sql = ""
    params: list[Any] = []
    if scope is not None:
        sql += " AND o.municipality_id = ?"
        params.append(scope)
    if audience.messenger is not None:  # MAX people's ids are negative (storage/accounts.py)
        sql += " AND u.vk_id < 0" if audience.messenger == "max" else " AND u.vk_id > 0"
    kind, value = audience.kind, audience.value
    if kind == "role":
        sql += " AND u.role = ?"
        params.append(str(value))
    elif kind == "municipality":
        sql += " AND o.municipality_id = ?"
        params.append(int(value or 0))
    elif kind == "org":
        sql += " AND o.id = ?"
        params.append(int(value or 0))
    elif kind == "step":
        sql += " AND o.step = ?"
        params.append(int(value or 0))
    elif kind == "difficulty":
        sql += (" AND u.vk_id IN (SELECT s.vk_id FROM survey_answers s WHERE s.week = ?"
                " AND s.completed = 1 AND s.vk_id IS NOT NULL"
                " AND (',' || s.difficulties || ',') LIKE ?"
                " AND (? IS NULL OR s.municipality_id = ?))")
        params += [audience.week or "", f"%,{value},%", scope, scope]
    return sql, params


class BroadcastsRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    # -- the broadcast itself -------------------------------------------------------------
    async def insert_draft(self, author: int, scope: int | None, now: int) -> Broadcast:
        cur = await self.tx.execute(
            "INSERT INTO broadcasts (author_vk_id, scope_municipality_id, created_at, updated_at)"
            " VALUES (?, ?, ?, ?)", (author, scope, now, now))
        broadcast = await self.get_broadcast(cur.lastrowid, scope)
        assert broadcast is not None
        return broadcast

    async def get_broadcast(self, broadcast_id: int, scope: int | None) -> Broadcast | None:
        """The broadcast if the scope may see it (a regional scope sees all)."""
        row = await self.tx.fetchone(
            "SELECT * FROM broadcasts WHERE id = ?"
            " AND (? IS NULL OR scope_municipality_id = ?)", (broadcast_id, scope, scope))
        return None if row is None else Broadcast.from_row(row)

    async def update_audience(self, broadcast_id: int, audience: Audience, now: int) -> None:
        await self.tx.execute(
            "UPDATE broadcasts SET audience = ?, updated_at = ? WHERE id = ? AND status = 'draft'",
            (audience.model_dump_json(exclude_none=True), now, broadcast_id))

    async def update_content(self, broadcast_id: int, text: str, attachments: tuple[str, ...],
                             now: int) -> None:
        await self.tx.execute(
            "UPDATE broadcasts SET text = ?, attachments = ?, updated_at = ?"
            " WHERE id = ? AND status = 'draft'",
            (text, ",".join(attachments), now, broadcast_id))

    async def update_scheduled(self, broadcast_id: int, send_at: int, now: int) -> bool:
        cur = await self.tx.execute(
            "UPDATE broadcasts SET status = 'scheduled', send_at = ?, updated_at = ?"
            " WHERE id = ? AND status = 'draft'", (send_at, now, broadcast_id))
        return cur.rowcount == 1

    async def update_running(self, broadcast_id: int, now: int) -> bool:
        """Claim a due broadcast for sending; only one caller ever gets True."""
        cur = await self.tx.execute(
            "UPDATE broadcasts SET status = 'running', started_at = ?, job = ?, updated_at = ?"
            " WHERE id = ? AND status = 'scheduled'",
            (now, job_of(broadcast_id), now, broadcast_id))
        return cur.rowcount == 1

    async def update_recipients(self, broadcast_id: int, recipients: int, now: int,
                                in_max: int = 0) -> None:
        await self.tx.execute(
            "UPDATE broadcasts SET recipients = ?, recipients_max = ?, updated_at = ? WHERE id = ?",
            (recipients, in_max, now, broadcast_id))

    async def update_status_message(self, broadcast_id: int, peer_id: int,
                                    message_id: int | None) -> None:
        await self.tx.execute(
            "UPDATE broadcasts SET status_peer_id = ?, status_message_id = ? WHERE id = ?",
            (peer_id, message_id, broadcast_id))

    async def update_finished(self, broadcast_id: int, delivered: int, not_allowed: int,
                              failed: int, now: int) -> bool:
        """running -> done with the final counts; True only for the caller that finished it."""
        cur = await self.tx.execute(
            "UPDATE broadcasts SET status = 'done', finished_at = ?, delivered = ?,"
            " not_allowed = ?, failed = ?, updated_at = ? WHERE id = ? AND status = 'running'",
            (now, delivered, not_allowed, failed, now, broadcast_id))
        return cur.rowcount == 1

    async def update_cancelled(self, broadcast_id: int, by: int, delivered: int,
                               not_allowed: int, failed: int, now: int) -> bool:
        cur = await self.tx.execute(
            "UPDATE broadcasts SET status = 'cancelled', cancelled_by = ?, finished_at = ?,"
            " delivered = ?, not_allowed = ?, failed = ?, updated_at = ?"
            " WHERE id = ? AND status IN ('draft', 'scheduled', 'running')",
            (by, now, delivered, not_allowed, failed, now, broadcast_id))
        return cur.rowcount == 1

    async def update_scope(self, broadcast_id: int, scope: int | None, now: int) -> None:
        """A draft follows its author's territory as it is now; its audience is chosen anew."""
        await self.tx.execute(
            "UPDATE broadcasts SET scope_municipality_id = ?, audience = '{}', updated_at = ?"
            " WHERE id = ? AND status = 'draft'", (scope, now, broadcast_id))

    async def update_withheld(self, broadcast_id: int, now: int, delivered: int = 0,
                              not_allowed: int = 0, failed: int = 0) -> bool:
        """Stopped because its author may no longer send it: never sent (or sent no further)."""
        cur = await self.tx.execute(
            "UPDATE broadcasts SET status = 'cancelled', cancel_reason = 'rights',"
            " finished_at = ?, delivered = ?, not_allowed = ?, failed = ?, updated_at = ?"
            " WHERE id = ? AND status IN ('scheduled', 'running')",
            (now, delivered, not_allowed, failed, now, broadcast_id))
        return cur.rowcount == 1

    async def list_active_by_author(self, author: int) -> list[Broadcast]:
        rows = await self.tx.fetchall(
            "SELECT * FROM broadcasts WHERE author_vk_id = ? AND status IN ('scheduled', 'running')"
            " ORDER BY id", (author,))
        return [Broadcast.from_row(r) for r in rows]

    async def list_due(self, now: int) -> list[Broadcast]:
        rows = await self.tx.fetchall(
            "SELECT * FROM broadcasts WHERE status = 'scheduled' AND send_at <= ? ORDER BY send_at",
            (now,))
        return [Broadcast.from_row(r) for r in rows]

    async def list_running(self) -> list[Broadcast]:
        rows = await self.tx.fetchall("SELECT * FROM broadcasts WHERE status = 'running'")
        return [Broadcast.from_row(r) for r in rows]

    async def list_broadcasts(self, scope: int | None, limit: int = 10) -> list[Broadcast]:
        """Sent, running, scheduled and cancelled broadcasts (not drafts), newest first."""
        rows = await self.tx.fetchall(
            "SELECT * FROM broadcasts WHERE status != 'draft'"
            " AND (? IS NULL OR scope_municipality_id = ?) ORDER BY id DESC LIMIT ?",
            (scope, scope, limit))
        return [Broadcast.from_row(r) for r in rows]

    # -- audiences ------------------------------------------------------------------------
    async def list_audience(self, audience: Audience, scope: int | None) -> list[Recipient]:
        """People the audience reaches within the scope: only those who take broadcasts and
        have not blocked the community (small audiences and tests; sending pages through
        ``list_audience_page``)."""
        where, params = _audience_filter(audience, scope)
        rows = await self.tx.fetchall(_PEOPLE + where + " ORDER BY u.vk_id", params)
        return [Recipient.model_validate(dict(r)) for r in rows]

    async def list_audience_page(self, audience: Audience, scope: int | None, after: int,
                                 limit: int) -> list[Recipient]:
        """The next ``limit`` people of the audience with vk_id above ``after``, names and
        places included (personalised texts)."""
        where, params = _audience_filter(audience, scope)
        rows = await self.tx.fetchall(
            _PEOPLE + where + " AND u.vk_id > ? ORDER BY u.vk_id LIMIT ?", (*params, after, limit))
        return [Recipient.model_validate(dict(r)) for r in rows]

    async def list_audience_ids(self, audience: Audience, scope: int | None, after: int,
                                limit: int) -> list[int]:
        """The next ``limit`` vk_ids of the audience above ``after`` (one text for all)."""
        where, params = _audience_filter(audience, scope)
        rows = await self.tx.fetchall_tuples(
            _from(audience, scope, "u.vk_id") + where + " AND u.vk_id > ? ORDER BY u.vk_id LIMIT ?",
            (*params, after, limit))
        return [r[0] for r in rows]

    async def count_audience(self, audience: Audience, scope: int | None) -> int:
        """How many people the audience reaches, counted in SQL (a region has 300 000)."""
        where, params = _audience_filter(audience, scope)
        return int(await self.tx.scalar(_from(audience, scope, "COUNT(*)") + where, params))

    async def count_audience_by_messenger(self, audience: Audience,
                                          scope: int | None) -> dict[Messenger, int]:
        """{"vk": n, "max": m}: the audience counted per messenger in one query."""
        where, params = _audience_filter(audience, scope)
        rows = await self.tx.fetchall(
            _from(audience, scope, "u.vk_id < 0, COUNT(*)") + where + " GROUP BY 1", params)
        found = {"max" if r[0] else "vk": int(r[1]) for r in rows}
        return {"vk": found.get("vk", 0), "max": found.get("max", 0)}

    async def get_longest_recipient(self, audience: Audience, scope: int | None,
                                    weights: dict[str, int], cap: int) -> Recipient | None:
        """The person whose personalised text is longest: ``weights`` says how many times each
        field (first_name, last_name, org, municipality) is put in, each value counted up to
        ``cap`` characters."""
        columns = {"first_name": "u.first_name", "last_name": "u.last_name", "org": "o.name",
                   "municipality": "m.name"}
        terms = " + ".join(f"? * MIN(LENGTH(COALESCE({columns[f]}, '')), ?)" for f in weights)
        where, params = _audience_filter(audience, scope)
        order: list[Any] = [v for f in weights for v in (weights[f], cap)]
        row = await self.tx.fetchone(
            _PEOPLE + where + f" ORDER BY ({terms}) DESC, u.vk_id LIMIT 1", (*params, *order))
        return None if row is None else Recipient.model_validate(dict(row))

    async def get_recipient(self, vk_id: int) -> Recipient | None:
        """Personalisation values of one person (the coordinator's own preview)."""
        row = await self.tx.fetchone(
            _PEOPLE.replace(" WHERE u.broadcasts_on = 1 AND u.reachable = 1", " WHERE 1 = 1")
            + " AND u.vk_id = ?", (vk_id,))
        return None if row is None else Recipient.model_validate(dict(row))
