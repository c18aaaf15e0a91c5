"""Facts of the domain every feature and the storage agree on, written once."""

from __future__ import annotations

from typing import Literal

Role = Literal["org_admin", "staff", "parent", "coordinator"]
ROLES: tuple[Role, ...] = ("org_admin", "staff", "parent", "coordinator")  # the role choice's order
AUDIENCE_ROLES: tuple[Role, ...] = ("org_admin", "staff", "parent")  # who broadcasts reach
WEEKLY_ROLES: tuple[Role, ...] = ("org_admin", "staff")  # reminded weekly (parents: by setting)

TOTAL_STEPS = 8   # the steps of an organisation's activation
ACTIVATED = TOTAL_STEPS + 1  # organisations.step after the last step: the organisation is active
# The steps' names (their texts: activation.steps.<name>.*), the activation table's ``key``.
STEP_NAMES: dict[int, str] = {1: "application", 2: "handover", 3: "informed", 4: "register",
                              5: "structure", 6: "staff", 7: "app", 8: "chats"}
# Steps on which the organisation waits for someone else, not its admin (step 2: the federal
# coordinators create the profile): the activation table's steps whose actor is not "admin".
WAITING_STEPS: tuple[int, ...] = (2,)
