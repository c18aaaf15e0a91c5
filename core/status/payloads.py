"""The bot admin's «Состояние» button."""

from __future__ import annotations

from core.kernel.payloads import Payload


class StatusOpen(Payload):
    cmd: str = "status"
