"""Reading MAX updates: who they are from, and a key to recognise one delivered twice.

MAX delivers at least once: a batch is handed out again when its marker was not committed (a
crash between handling and saving the marker), and a webhook is retried until it gets a 200.
Updates carry no id of their own, so the key is derived from what they are (MAX_PROTOCOL.md §3).
"""

from __future__ import annotations

from typing import Any

# The updates a 1:1 onboarding bot reacts to.
DIALOG_UPDATE_TYPES = ("message_created", "message_callback", "bot_started", "bot_stopped",
                       "dialog_removed")


def update_user_id(update: dict[str, Any]) -> int | None:
    """The person the update is about (the sender, the button presser, the starter)."""
    kind = update.get("update_type")
    if kind == "message_created":
        sender = (update.get("message") or {}).get("sender") or {}
        return _int(sender.get("user_id"))
    if kind == "message_callback":
        user = (update.get("callback") or {}).get("user") or {}
        return _int(user.get("user_id"))
    if kind == "message_removed":
        return _int(update.get("user_id"))
    user = update.get("user") or {}
    return _int(user.get("user_id")) or _int(update.get("user_id"))


def update_key(update: dict[str, Any]) -> str:
    """Stable across redeliveries: the message id, the callback id, else type+person+time."""
    kind = str(update.get("update_type", ""))
    if kind in ("message_created", "message_edited"):
        mid = ((update.get("message") or {}).get("body") or {}).get("mid")
        if mid:
            return f"{kind}:{mid}"
    if kind == "message_callback":
        callback_id = (update.get("callback") or {}).get("callback_id")
        if callback_id:
            return f"{kind}:{callback_id}"
    return f"{kind}:{update_user_id(update)}:{update.get('timestamp')}"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


__all__ = ["DIALOG_UPDATE_TYPES", "update_key", "update_user_id"]
