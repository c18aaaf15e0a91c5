"""The buttons of the role choice. Other features import only this module of the onboarding."""

from __future__ import annotations

from core.kernel.domain import Role
from core.kernel.payloads import Payload

ChosenRole = Role


class PickRole(Payload):
    cmd: str = "role"
    role: ChosenRole


class AskRole(Payload):
    cmd: str = "role?"
