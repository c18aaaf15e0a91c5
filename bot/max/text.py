"""Splitting a long text into MAX-sized messages (≤4000 characters each, [S]).

VK allows 4096, so a text that fits VK may not fit MAX. Cut at the last paragraph break, else
line break, else space before the limit, so that no word and, where possible, no paragraph is
broken; a single word longer than the limit is cut hard.
"""

from __future__ import annotations

TEXT_MAX = 4000


def split_text(text: str, limit: int = TEXT_MAX) -> list[str]:
    if limit < 1:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator, 1)
            if cut > 0:
                break
        if cut <= 0:
            cut = limit
        head = rest[:cut].rstrip()
        if head:
            parts.append(head)
        rest = rest[cut:].lstrip("\n ")
    if rest or not parts:
        parts.append(rest)
    return parts


__all__ = ["TEXT_MAX", "split_text"]
