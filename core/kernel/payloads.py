"""Button payloads: small pydantic models told apart by ``cmd``.

A payload that does not parse (a forged or outdated button) is bad input, answered politely.
Every subclass registers itself under the default value of its ``cmd`` field.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError


class BadPayload(ValueError):
    pass


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    registry: ClassVar[dict[str, type["Payload"]]] = {}

    cmd: str

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        default = cls.model_fields["cmd"].default
        if not isinstance(default, str):
            raise TypeError(f"{cls.__name__} needs a default cmd")
        if default in Payload.registry and Payload.registry[default] is not cls:
            raise TypeError(f"cmd {default!r} registered twice")
        Payload.registry[default] = cls

    def dump(self) -> dict[str, Any]:
        return self.model_dump(exclude_defaults=False)


def parse_payload(raw: str | dict[str, Any] | None) -> Payload | None:
    """None when there is no payload; BadPayload when there is one we did not make."""
    if raw is None or raw == "":
        return None
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise BadPayload("not JSON") from exc
    if not isinstance(data, dict):
        raise BadPayload("not an object")
    if data.get("command") == "start" and "cmd" not in data:
        data = {"cmd": "start"}  # VK's own «Начать» button
    if _out_of_range(data):
        raise BadPayload("number out of range")
    model = Payload.registry.get(str(data.get("cmd")))
    if model is None:
        raise BadPayload(f"unknown cmd {data.get('cmd')!r}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadPayload(str(exc.errors()[0]["msg"])) from exc


# Our ids and counters are SQLite integers; a forged button with a larger number would fail in
# the database instead of being answered as a bad button. JSON's safe integers are plenty.
NUMBER_MAX = 2**53


def _out_of_range(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return not -NUMBER_MAX <= value <= NUMBER_MAX
    if isinstance(value, dict):
        return any(_out_of_range(v) for v in value.values())
    if isinstance(value, list):
        return any(_out_of_range(v) for v in value)
    return False


class Start(Payload):
    cmd: str = "start"


class Menu(Payload):
    cmd: str = "menu"
