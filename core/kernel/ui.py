"""What the bot shows, independent of the messenger: text, buttons, keyboards.

Limits are VK's (a MAX transport would have its own and convert); checking them here means a bad
keyboard is a bug caught in tests, never error 911 at run time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

Color = Literal["primary", "secondary", "positive", "negative"]

LABEL_MAX = 40
PAYLOAD_MAX = 255
REGULAR_LIMITS = (10, 5, 40)  # rows, buttons per row, buttons in all
INLINE_LIMITS = (6, 5, 10)


class KeyboardError(ValueError):
    pass


@dataclass(frozen=True)
class Button:
    label: str
    payload: dict[str, Any] = field(default_factory=dict)
    color: Color = "secondary"
    link: str | None = None  # an open_link button when set

    def payload_json(self) -> str:
        return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Keyboard:
    rows: tuple[tuple[Button, ...], ...] = ()
    inline: bool = False
    one_time: bool = False

    @classmethod
    def of(cls, *rows: list[Button] | tuple[Button, ...], inline: bool = False,
           one_time: bool = False) -> "Keyboard":
        return cls(tuple(tuple(r) for r in rows if r), inline=inline, one_time=one_time)

    @property
    def buttons(self) -> list[Button]:
        return [b for row in self.rows for b in row]

    def validate(self) -> None:
        max_rows, per_row, total = INLINE_LIMITS if self.inline else REGULAR_LIMITS
        if self.inline and self.one_time:
            raise KeyboardError("inline keyboards cannot be one_time")
        if len(self.rows) > max_rows:
            raise KeyboardError(f"{len(self.rows)} rows > {max_rows}")
        if len(self.buttons) > total:
            raise KeyboardError(f"{len(self.buttons)} buttons > {total}")
        for row in self.rows:
            if not row:
                raise KeyboardError("empty row")
            if len(row) > per_row:
                raise KeyboardError(f"{len(row)} buttons in a row > {per_row}")
            for button in row:
                if not button.label or len(button.label) > LABEL_MAX:
                    raise KeyboardError(f"label {button.label!r} must be 1..{LABEL_MAX} chars")
                if len(button.payload_json()) > PAYLOAD_MAX:
                    raise KeyboardError(f"payload of {button.label!r} > {PAYLOAD_MAX} chars")


# A keyboard with no buttons removes the one under the input field.
REMOVE_KEYBOARD = Keyboard()


@dataclass(frozen=True)
class Reply:
    text: str
    keyboard: Keyboard | None = None
    attachments: tuple[str, ...] = ()
    template: str = ""  # the catalog key it came from, for logs of 911/914 errors


def prefixed(text: str, screen: list[Reply]) -> list[Reply]:
    """Put an explanation in front of a screen's first message, so it stays one message."""
    if not screen:
        return [Reply(text)]
    first = screen[0]
    return [Reply(f"{text}\n\n{first.text}", first.keyboard, first.attachments, first.template),
            *screen[1:]]
