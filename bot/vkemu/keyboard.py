"""Keyboard validation as VK enforces it (error 911 "Keyboard format is invalid").

Limits follow dev.vk.com/bots/development/keyboard plus the label/payload limits
enforced by vk-io and older VK docs (see VK_PROTOCOL.md, "Keyboard").
"""

from __future__ import annotations

import json
from typing import Any

REGULAR_MAX_ROWS = 10
INLINE_MAX_ROWS = 6
MAX_PER_ROW = 5
REGULAR_MAX_BUTTONS = 40
INLINE_MAX_BUTTONS = 10
MAX_LABEL = 40
MAX_PAYLOAD = 255

ACTION_TYPES = frozenset(
    {"text", "callback", "open_link", "location", "vkpay", "open_app", "open_photo"}
)
COLORED_TYPES = frozenset({"text", "callback"})
COLORS = frozenset({"primary", "secondary", "negative", "positive"})
LABEL_REQUIRED = frozenset({"text", "callback", "open_link", "open_app"})


def parse_keyboard(raw: str | dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """Parse and validate a keyboard; return (keyboard, None) or (None, reason)."""
    if isinstance(raw, str):
        try:
            keyboard = json.loads(raw)
        except ValueError:
            return None, "keyboard is not a valid JSON"
    else:
        keyboard = raw
    error = validate_keyboard(keyboard)
    return (None, error) if error else (keyboard, None)


def validate_keyboard(keyboard: Any) -> str | None:
    """Return a human-readable reason why the keyboard is invalid, or None."""
    if isinstance(keyboard, str):
        return parse_keyboard(keyboard)[1]
    if not isinstance(keyboard, dict):
        return "keyboard must be a JSON object"
    inline = keyboard.get("inline", False)
    one_time = keyboard.get("one_time", False)
    if not isinstance(inline, bool) or not isinstance(one_time, bool):
        return "one_time and inline must be booleans"
    if inline and one_time:
        return "one_time is not supported for inline keyboards"
    rows = keyboard.get("buttons")
    if not isinstance(rows, list):
        return "buttons must be an array of rows"
    max_rows = INLINE_MAX_ROWS if inline else REGULAR_MAX_ROWS
    max_total = INLINE_MAX_BUTTONS if inline else REGULAR_MAX_BUTTONS
    kind = "inline" if inline else "regular"
    if len(rows) > max_rows:
        return f"too many rows: {len(rows)} > {max_rows} for a {kind} keyboard"
    total = 0
    for r, row in enumerate(rows):
        if not isinstance(row, list) or not row:
            return f"row {r} must be a non-empty array of buttons"
        if len(row) > MAX_PER_ROW:
            return f"too many buttons in row {r}: {len(row)} > {MAX_PER_ROW}"
        total += len(row)
        for c, button in enumerate(row):
            error = _validate_button(button)
            if error:
                return f"button [{r}][{c}]: {error}"
    if total > max_total:
        return f"too many buttons: {total} > {max_total} for a {kind} keyboard"
    return None


def _validate_button(button: Any) -> str | None:
    if not isinstance(button, dict) or not isinstance(button.get("action"), dict):
        return "button must be an object with an action object"
    action = button["action"]
    kind = action.get("type")
    if kind not in ACTION_TYPES:
        return f"unknown action type {kind!r}"
    if "color" in button:
        if kind not in COLORED_TYPES:
            return f"color is only supported for text and callback buttons, not {kind}"
        if button["color"] not in COLORS:
            return f"invalid color {button['color']!r}"
    label = action.get("label")
    if kind in LABEL_REQUIRED and (not isinstance(label, str) or not label):
        return f"label is required for {kind} buttons"
    if label is not None and (not isinstance(label, str) or len(label) > MAX_LABEL):
        return f"label must be a string of at most {MAX_LABEL} characters"
    if kind == "open_link" and not _is_link(action.get("link")):
        return "open_link button requires an http(s) link"
    if kind == "open_app" and not isinstance(action.get("app_id"), int):
        return "open_app button requires app_id"
    if kind == "vkpay" and not isinstance(action.get("hash"), str):
        return "vkpay button requires hash"
    if "payload" in action:
        return _validate_payload(action["payload"])
    return None


def _validate_payload(payload: Any) -> str | None:
    if isinstance(payload, str):
        try:
            json.loads(payload)
        except ValueError:
            return "payload must be a valid JSON"
        text = payload
    else:
        text = payload_to_string(payload)
    if len(text) > MAX_PAYLOAD:
        return f"payload is too long: {len(text)} > {MAX_PAYLOAD}"
    return None


def _is_link(link: Any) -> bool:
    return isinstance(link, str) and link.startswith(("http://", "https://"))


def payload_to_string(payload: Any) -> str:
    """Serialize a payload the way VK returns it in message_new (a compact JSON string)."""
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def payload_to_object(payload: Any) -> Any:
    """Payload as an object (message_event delivers it parsed)."""
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except ValueError:
            return payload
    return payload


def iter_buttons(keyboard: dict[str, Any] | None) -> list[dict[str, Any]]:
    """All buttons of a keyboard, row by row."""
    if not keyboard:
        return []
    return [b for row in keyboard.get("buttons") or [] for b in row]


def button_labels(keyboard: dict[str, Any] | None) -> list[str]:
    """Labels of the buttons that have one (location/vkpay buttons may have none)."""
    labels = []
    for button in iter_buttons(keyboard):
        action = button.get("action", {})
        labels.append(action.get("label") or f"<{action.get('type')}>")
    return labels


__all__ = [
    "button_labels",
    "iter_buttons",
    "parse_keyboard",
    "payload_to_object",
    "payload_to_string",
    "validate_keyboard",
]
