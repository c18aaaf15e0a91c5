"""The buttons of the consent and «Мои данные». Other features import only this module of the
personal data."""

from __future__ import annotations

from typing import Literal

from core.kernel.payloads import Payload

Then = Literal["act", "stf"]  # the flow that asked the consent (what «Даю согласие» resumes)


class MyData(Payload):
    cmd: str = "pd"


class GiveConsent(Payload):
    cmd: str = "pd.consent"
    agree: bool
    then: Then


class FullConsent(Payload):
    cmd: str = "pd.full"
    then: Then


class EraseAsk(Payload):
    cmd: str = "pd.erase"


class EraseConfirm(Payload):
    cmd: str = "pd.erase_yes"
