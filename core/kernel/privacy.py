"""Masking contact details in text a person typed, before it is shown to someone who does not
need them (e.g. «частые вопросы», a list for writing new help entries)."""

from __future__ import annotations

import re
import unicodedata

# +7 913 123-45-67, 8(913)1234567, 89131234567, 123-45-67, 8.913.123.45.67, +7/913/…: 7+ digits
# with separators (dashes of every width, dots, slashes)
_PHONE = re.compile(r"(?<![\w])\+?\d[\d\s()\-‐‑‒–—−./]{5,}\d(?![\w])")
# what looks like a phone to the pattern above but is a date or a time range: kept
_NOT_PHONE = re.compile(r"\d{1,2}([./\-])\d{1,2}\1\d{2,4}"
                        r"|\d{1,2}[.:]\d{2}\s*[\-–—]\s*\d{1,2}[.:]\d{2}")
_EMAIL = re.compile(r"[\w.+\-]+ ?@ ?[\w\-]+(?:\.[\w\-]+)+", re.UNICODE)
_VK_LINK = re.compile(r"(?:https?://)?(?:m\.)?vk\.(?:com|ru|me)/[\w.\-]+|\[(?:id|club)\d+\|[^\]]*\]"
                      r"|@id\d+|(?:https?://)?(?:t|wa)\.me/[\w.\-+]+", re.IGNORECASE)
MASK = "•••"


def _phone(match: re.Match[str]) -> str:
    digits = sum(c.isdigit() for c in match.group(0))
    if digits < 7 or _NOT_PHONE.fullmatch(match.group(0)):
        return match.group(0)
    return MASK


def mask_contacts(text: str) -> str:
    """Phones (7+ digits), e-mails and VK/Telegram/WhatsApp links and mentions replaced by
    «•••». Invisible characters go first: a zero-width space inside a number must not split
    it into parts too short to look like a phone."""
    text = "".join(ch for ch in text if ch == "\u200d" or unicodedata.category(ch) != "Cf")
    text = _EMAIL.sub(MASK, text)
    text = _VK_LINK.sub(MASK, text)
    return _PHONE.sub(_phone, text)
