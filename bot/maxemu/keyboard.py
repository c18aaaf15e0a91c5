"""Validation of MAX attachments as the emulator's server checks them.

Written apart from bot/max/keyboards.py on purpose: the emulator must catch a mistake of the
client's builder, not share it. Limits from ../shared/MAX_PROTOCOL.md §5 ([S] and [D keyboard]).
"""

from __future__ import annotations

import re
from typing import Any

MAX_ROWS = 30
MAX_PER_ROW = 7
MAX_PER_ROW_WIDE = 3
MAX_BUTTONS = 210
TEXT_MAX = 128
CALLBACK_PAYLOAD_MAX = 1024
URL_MAX = 2048
OPEN_APP_PAYLOAD_MAX = 512
WIDE = frozenset({"link", "open_app", "request_geo_location", "request_contact"})
BUTTON_TYPES = frozenset({"callback", "link", "message", "request_contact",
                          "request_geo_location", "open_app", "clipboard"})
_OPEN_APP_PAYLOAD = re.compile(r"[\w-]*")


def keyboard_error(payload: Any) -> str | None:
    """None when the inline_keyboard payload is valid, else what is wrong."""
    if not isinstance(payload, dict) or not isinstance(payload.get("buttons"), list):
        return "inline_keyboard payload must be {\"buttons\": [[...], ...]}"
    rows = payload["buttons"]
    if len(rows) > MAX_ROWS:
        return f"too many rows: {len(rows)} > {MAX_ROWS}"
    total = 0
    for row in rows:
        if not isinstance(row, list) or not row:
            return "every row must be a non-empty list of buttons"
        for button in row:
            error = button_error(button)
            if error:
                return error
        wide = any(b.get("type") in WIDE for b in row)
        limit = MAX_PER_ROW_WIDE if wide else MAX_PER_ROW
        if len(row) > limit:
            return f"too many buttons in a row: {len(row)} > {limit}"
        total += len(row)
    if total > MAX_BUTTONS:
        return f"too many buttons: {total} > {MAX_BUTTONS}"
    return None


def button_error(button: Any) -> str | None:
    if not isinstance(button, dict):
        return "a button must be an object"
    kind = button.get("type")
    if kind not in BUTTON_TYPES:
        return f"unknown button type {kind!r}"
    text = button.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= TEXT_MAX:
        return f"button text must be 1..{TEXT_MAX} characters"
    if kind in ("callback", "clipboard"):
        payload = button.get("payload")
        if not isinstance(payload, str) or not payload:
            return f"{kind} button {text!r} needs a payload"
        if len(payload) > CALLBACK_PAYLOAD_MAX:
            return f"payload of {text!r} is longer than {CALLBACK_PAYLOAD_MAX}"
    if kind == "link":
        url = button.get("url")
        if not isinstance(url, str) or not url or len(url) > URL_MAX:
            return f"link button {text!r} needs a url of 1..{URL_MAX} characters"
    if kind == "open_app":
        if not button.get("web_app"):
            return f"open_app button {text!r} needs web_app"
        payload = button.get("payload")
        if payload is not None and (not isinstance(payload, str)
                                    or len(payload) > OPEN_APP_PAYLOAD_MAX
                                    or not _OPEN_APP_PAYLOAD.fullmatch(payload)):
            return f"open_app payload of {text!r} is invalid"
    return None


def button_rows(keyboard: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
    if not keyboard:
        return []
    return [list(row) for row in keyboard.get("buttons", [])]


def button_labels(keyboard: dict[str, Any] | None) -> list[str]:
    return [str(b.get("text", "")) for row in button_rows(keyboard) for b in row]


__all__ = ["button_error", "button_labels", "button_rows", "keyboard_error"]
