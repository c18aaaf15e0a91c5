"""Buttons of reminders: on/off, the settings screen, «Продолжить», the subscription offer."""

from __future__ import annotations

from core.kernel.payloads import Payload


class RemindOff(Payload):
    cmd: str = "remind.off"


class RemindOn(Payload):
    cmd: str = "remind.on"


class RemindersOpen(Payload):
    cmd: str = "remind.menu"


class RemindContinue(Payload):
    cmd: str = "remind.go"


class Subscribe(Payload):
    cmd: str = "remind.sub"
    yes: bool
