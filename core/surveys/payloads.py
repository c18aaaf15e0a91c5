"""Buttons of the weekly survey."""

from __future__ import annotations

from pydantic import Field

from core.kernel.payloads import Payload


class SurveyOpen(Payload):
    cmd: str = "survey.open"
    w: str = Field(pattern=r"^\d{4}-W\d{2}$")
    again: bool = False


class SurveyPick(Payload):
    cmd: str = "survey.pick"
    q: str
    opt: str


class SurveyNext(Payload):
    cmd: str = "survey.next"


class SurveySkip(Payload):
    cmd: str = "survey.skip"


class SurveyLater(Payload):
    cmd: str = "survey.later"
