"""Neutral keyboards to MAX inline keyboards, within MAX's documented limits.

MAX has only inline keyboards: an attachment `{"type": "inline_keyboard", "payload":
{"buttons": [[Button, …], …]}}` (../shared/MAX_PROTOCOL.md §5). There is no keyboard under the
input field like VK's persistent one, so a "persistent" neutral keyboard becomes an inline one
and the caller re-sends it with the messages that need it.

Limits, all documented: ≤30 rows, ≤7 buttons per row, ≤3 per row when the row holds a link
(or open_app / geo / contact) button, ≤210 buttons [D keyboard]; label 1–128 characters,
callback payload ≤1024, link url ≤2048 [S].

The input is duck-typed so that `core`'s Button (label, payload dict, link) fits as it is:
anything with `label`, `payload` (dict → compact JSON, or str) and optional `link`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

MAX_ROWS = 30
MAX_PER_ROW = 7
MAX_PER_ROW_WIDE = 3  # a row with link/open_app/request_geo_location/request_contact
MAX_BUTTONS = 210
LABEL_MAX = 128
CALLBACK_PAYLOAD_MAX = 1024
URL_MAX = 2048
WIDE_TYPES = frozenset({"link", "open_app", "request_geo_location", "request_contact"})


class KeyboardLimitError(ValueError):
    """The keyboard breaks a MAX limit; sending it would get a 400."""


class ButtonLike(Protocol):
    label: str

    @property
    def payload(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class CallbackButton:
    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class LinkButton:
    label: str
    link: str
    payload: str = ""


def payload_string(payload: Any) -> str:
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def button(spec: ButtonLike) -> dict[str, Any]:
    """One MAX button: `link` when the spec has a link, else `callback` with the payload."""
    label = spec.label
    if not label or len(label) > LABEL_MAX:
        raise KeyboardLimitError(f"button label must be 1..{LABEL_MAX} characters")
    link = getattr(spec, "link", None)
    if link:
        if len(link) > URL_MAX:
            raise KeyboardLimitError(f"link of {label!r} is longer than {URL_MAX}")
        return {"type": "link", "text": label, "url": link}
    payload = payload_string(spec.payload)
    if not payload:
        raise KeyboardLimitError(f"callback button {label!r} needs a payload")
    if len(payload) > CALLBACK_PAYLOAD_MAX:
        raise KeyboardLimitError(f"payload of {label!r} is longer than {CALLBACK_PAYLOAD_MAX}")
    return {"type": "callback", "text": label, "payload": payload}


def inline_keyboard(rows: Iterable[Sequence[ButtonLike]]) -> dict[str, Any] | None:
    """The inline_keyboard attachment for these rows (empty rows are skipped); None when
    there are no buttons at all (MAX has nothing to remove: omit the attachment)."""
    built = [[button(b) for b in row] for row in rows if row]
    if not built:
        return None
    check_rows(built)
    return {"type": "inline_keyboard", "payload": {"buttons": built}}


def from_keyboard(keyboard: Any) -> dict[str, Any] | None:
    """A neutral keyboard object with `.rows` (core's Keyboard), inline or not."""
    return inline_keyboard(keyboard.rows) if keyboard is not None else None


def check_rows(rows: Sequence[Sequence[dict[str, Any]]]) -> None:
    if len(rows) > MAX_ROWS:
        raise KeyboardLimitError(f"{len(rows)} rows > {MAX_ROWS}")
    total = 0
    for row in rows:
        limit = MAX_PER_ROW_WIDE if any(b.get("type") in WIDE_TYPES for b in row) else MAX_PER_ROW
        if len(row) > limit:
            raise KeyboardLimitError(f"{len(row)} buttons in a row > {limit}")
        total += len(row)
    if total > MAX_BUTTONS:
        raise KeyboardLimitError(f"{total} buttons > {MAX_BUTTONS}")


__all__ = [
    "CallbackButton",
    "KeyboardLimitError",
    "LinkButton",
    "button",
    "check_rows",
    "from_keyboard",
    "inline_keyboard",
    "payload_string",
]
