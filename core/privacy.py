"""Masking contact details in text a person typed, before it is shown to someone who does not
need them (e.g. «частые вопросы», a list for writing new help entries)."""

from __future__ import annotations

import re

# +7 913 123-45-67, 8(913)1234567, 89131234567, 123-45-67 …: 7+ digits with separators
_PHONE = re.compile(r"(?<![\w])\+?\d[\d\s()\-‐–]{5,}\d(?![\w])")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+", re.UNICODE)
_VK_LINK = re.compile(r"(?:https?://)?(?:m\.)?vk\.(?:com|ru|me)/[\w.\-]+|\[(?:id|club)\d+\|[^\]]*\]"
                      r"|@id\d+", re.IGNORECASE)
MASK = "•••"


def _phone(match: re.Match[str]) -> str:
    digits = sum(c.isdigit() for c in match.group(0))
    return MASK if digits >= 7 else match.group(0)


def mask_contacts(text: str) -> str:
    """Phones (7+ digits), e-mails and VK profile links/mentions replaced by «•••»."""
    text = _EMAIL.sub(MASK, text)
    text = _VK_LINK.sub(MASK, text)
    return _PHONE.sub(_phone, text)
