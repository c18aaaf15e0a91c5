"""Rows as pydantic models: what repositories return to the rest of the program."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Role = Literal["org_admin", "staff", "parent", "coordinator"]
OrgKind = Literal["school", "college", "extra", "preschool", "office", "method"]


class Person(BaseModel):
    model_config = ConfigDict(frozen=True)

    vk_id: int
    first_name: str = ""
    last_name: str = ""
    sex: int | None = None  # VK: 1 female, 2 male, 0 not stated; None = not asked yet
    role: Role | None = None
    state: str = ""
    state_data: dict[str, Any] = {}
    org_id: int | None = None
    ref: str | None = None
    ref_source: str | None = None
    reminders_on: bool = True
    broadcasts_on: bool = True
    newsletter_ok: bool = False
    reachable: bool = True
    last_inbound_at: int | None = None
    created_at: int = 0
    updated_at: int = 0

    @classmethod
    def from_row(cls, row: Any) -> "Person":
        data = dict(row)
        data["state_data"] = json.loads(data.get("state_data") or "{}")
        return cls.model_validate(data)


class Municipality(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    timezone: str | None = None


class Organisation(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    kind: OrgKind
    municipality_id: int
    invite_code: str | None = None
    created_at: int = 0


class CoordinatorGrant(BaseModel):
    model_config = ConfigDict(frozen=True)

    vk_id: int
    municipality_id: int | None
    granted_by: int
    granted_at: int


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    actor_id: int
    action: str
    details: dict[str, Any]
    at: int
