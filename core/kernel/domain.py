"""Facts of the domain every feature and the storage agree on, written once."""

from __future__ import annotations

from typing import Literal

Role = Literal["org_admin", "staff", "parent", "coordinator"]
ROLES: tuple[Role, ...] = ("org_admin", "staff", "parent", "coordinator")  # the role choice's order
AUDIENCE_ROLES: tuple[Role, ...] = ("org_admin", "staff", "parent")  # who broadcasts reach
WEEKLY_ROLES: tuple[Role, ...] = ("org_admin", "staff")  # reminded weekly (parents: by setting)

TOTAL_STEPS = 8   # the steps of an organisation's activation
ACTIVATED = TOTAL_STEPS + 1  # organisations.step after the last step: the organisation is active
