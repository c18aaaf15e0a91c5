"""Core keyboards to VK's keyboard JSON."""

from __future__ import annotations

import json
from typing import Any

from core.kernel.ui import Button, Keyboard


def _button(button: Button) -> dict[str, Any]:
    if button.link:
        return {"action": {"type": "open_link", "link": button.link, "label": button.label}}
    return {
        "action": {"type": "text", "label": button.label, "payload": button.payload_json()},
        "color": button.color,
    }


def keyboard_json(keyboard: Keyboard) -> str:
    keyboard.validate()
    data: dict[str, Any] = {"buttons": [[_button(b) for b in row] for row in keyboard.rows]}
    if keyboard.rows:
        data["inline"] = keyboard.inline
        if not keyboard.inline:
            data["one_time"] = keyboard.one_time
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
