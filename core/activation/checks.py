"""Pure checks of what people type in the activation (unit-tested in
tests/test_activation_logic.py): phones, names, e-mails, registration links, the staff deadline,
invitation codes, and phrases that move a step on."""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from core.kernel import dates
from core.kernel.normalise import words as normalise_words  # the one text normaliser

Parsed = tuple[Any, str | None]  # (value, None) or (None, error code)


def parse_phone(text: str) -> Parsed:
    """A Russian mobile number in any usual spelling -> "+7XXXXXXXXXX"."""
    raw = text.strip()
    if not raw or re.search(r"[^\d\s()+\-.]", raw):
        return None, "phone_letters"
    if raw.count("+") > 1 or ("+" in raw and not raw.startswith("+")):
        return None, "phone_letters"
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+"):
        if digits.startswith("8") and len(digits) == 11:
            digits = "7" + digits[1:]
        elif not digits.startswith("7"):
            return None, "phone_foreign"
    elif len(digits) == 11 and digits[0] in "78":
        digits = "7" + digits[1:]
    elif len(digits) == 10 and digits.startswith("9"):
        digits = "7" + digits
    if len(digits) < 11:
        return None, "phone_short"
    if len(digits) > 11:
        return None, "phone_long"
    if not digits.startswith("7"):
        return None, "phone_foreign"
    if digits[1] != "9":
        return None, "phone_not_mobile"
    return "+" + digits, None


_NAME_WORD = re.compile(r"^[^\W\d_]+(?:[-'’.][^\W\d_]*)*\.?$")


def parse_full_name(text: str) -> Parsed:
    words = text.split()
    if not 2 <= len(words) <= 5 or len(text) > 150:
        return None, "name_format"
    if not all(_NAME_WORD.match(w) for w in words):
        return None, "name_format"
    return " ".join(words), None


def parse_org_name(text: str) -> Parsed:
    name = " ".join(text.split())
    if len(name) < 3 or not any(c.isalpha() for c in name):
        return None, "org_name_short"
    if len(name) > 300:
        return None, "org_name_long"
    return name, None


_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"'.]{2,}$")


def parse_email(text: str) -> Parsed:
    email = text.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        return None, "email_format"
    return email, None


# Direct registration links: the seeds show https://sferum.ru and https://web.vk.me/; Sferum runs
# on VK, so VK's domains are accepted too. The site's front page is not a direct link.
ALLOWED_LINK_DOMAINS = ("sferum.ru", "vk.com", "vk.me", "vk.ru")
LINK_MAX = 500
_LINKISH = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|(?:[\w-]+\.)+[a-z]{2,}(?:[/?#]|$))", re.I)


def find_links(text: str) -> list[str]:
    """Words of the text that look like web addresses (with or without a scheme)."""
    return [w.strip(".,;:!?()«»\"'<>") for w in text.split() if _LINKISH.match(w.strip("«»\"'<>("))]


def check_link(candidate: str, own_group_id: int | None = None) -> Parsed:
    link = candidate.strip()
    if "://" not in link:
        link = "https://" + link
    if len(link) > LINK_MAX:
        return None, "link_format"
    try:
        parts = urlsplit(link)
        port = parts.port
    except ValueError:
        return None, "link_format"
    if parts.scheme.lower() == "http":
        return None, "link_not_https"
    if parts.scheme.lower() != "https" or not parts.hostname:
        return None, "link_format"
    if parts.username or parts.password or port not in (None, 443):
        return None, "link_domain"
    host = parts.hostname.lower().rstrip(".")
    if not any(host == d or host.endswith("." + d) for d in ALLOWED_LINK_DOMAINS):
        return None, "link_domain"
    if parts.path in ("", "/") and not parts.query and not parts.fragment:
        return None, "link_site_root"
    if own_group_id is not None and host == "vk.me" and \
            parts.path.rstrip("/").lower() == f"/club{own_group_id}":
        return None, "link_own_invite"
    return link, None


def parse_links(text: str, own_group_id: int | None = None) -> Parsed:
    """All links of a message (a full structure may have one per department), each checked."""
    found = find_links(text)
    if not found:
        return None, "link_format"
    links: list[str] = []
    for candidate in found:
        link, error = check_link(candidate, own_group_id)
        if error:
            return None, error
        if link not in links:
            links.append(link)
    return links[:10], None


_DATE = re.compile(r"^\s*(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2}|\d{4}))?\s*$")
_DATE_TAIL = re.compile(r"(?<=\d)[^\d]*$")  # «15.12.2026 г.», «15.12.2026 года»
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
DEADLINE_MAX_DAYS = 366


def looks_like_date(text: str) -> bool:
    """Digits that try to be a date («31.02.2027»): answered as a wrong date, not as a question."""
    text = _DATE_TAIL.sub("", text.strip())
    return bool(_DATE.match(text) or _ISO_DATE.match(text))


def parse_deadline(text: str, today: date, words: dates.Words) -> Parsed:
    """A staff deadline, today or later: «15.12.2026», «15.12», «до 15 декабря», «через неделю»,
    «в пятницу»… (core.dates; a day and month whose date has passed this year mean next year)."""
    phrase = dates.parse(text, today, words)
    if phrase is None or not phrase.day_given:
        return None, "date_format"
    if phrase.day < today:
        return None, "date_past"
    if phrase.day > today + timedelta(days=DEADLINE_MAX_DAYS):
        return None, "date_far"
    return phrase.day, None


# Invite codes use letters that look the same in Latin and Cyrillic, and no 0/O or 1/I, so a code
# read aloud or typed on a Russian keyboard still works.
CODE_ALPHABET = "ACEHKMPTXY23456789"
CODE_LENGTH = 7
# Cyrillic А С Е Н К М Р Т Х У В О (upper and lower case) -> their Latin look-alikes.
_TWIN_CODES = (0x410, 0x421, 0x415, 0x41D, 0x41A, 0x41C, 0x420, 0x422, 0x425, 0x423, 0x412, 0x41E)
_CYRILLIC_TWINS = str.maketrans(
    "".join(chr(c) for c in _TWIN_CODES) + "".join(chr(c + 0x20) for c in _TWIN_CODES),
    "ACEHKMPTXYB0" * 2)


def new_invite_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def twins_to_latin(text: str) -> str:
    """Cyrillic letters that look like the Latin ones of codes, as those Latin letters."""
    return text.translate(_CYRILLIC_TWINS)


def normalise_code(text: str) -> str | None:
    code = re.sub(r"[\s\-–—_]", "", text.strip().translate(_CYRILLIC_TWINS).upper())
    if len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code):
        return code
    return None


def invite_link(group_id: int, code: str) -> str:
    """VK passes ``ref`` with the first message written from this link (users.ref keeps it)."""
    return f"https://vk.me/club{group_id}?ref={code}"


def max_invite_link(deps: Any, code: str | None) -> str:
    """The same invitation in MAX: ``https://max.ru/<bot>?start=<code>`` (the start payload is
    the code, as ``ref`` is in VK). Empty when MAX is off or the bot's name is not known yet
    (the MAX transport learns it from ``GET /me`` when it starts)."""
    settings = getattr(deps.settings, "max", None)
    name = deps.services.get("max_username") if settings is not None and settings.enabled else None
    return f"https://max.ru/{name}?start={code}" if name and code else ""


def has_phrase(text: str, phrases: list[str]) -> bool:
    padded = f" {normalise_words(text)} "
    return any(f" {p} " in padded for p in phrases if p)


def means_only(text: str, phrases: list[str], filler: list[str]) -> bool:
    """The whole message is these phrases, with only filler words around them: «я уже
    зарегистрировался», «готово, зарегистрировалась» — but not «Кто зарегистрировался» or
    «как узнать, кто зарегистрировался». Shortcuts that move a flow on need this."""
    rest = normalise_words(text).split()
    options = sorted((p.split() for p in phrases if p), key=len, reverse=True)
    found = False
    while rest:
        match = next((o for o in options if rest[:len(o)] == o), None)
        if match is not None:
            rest, found = rest[len(match):], True
        elif rest[0] in filler:
            rest = rest[1:]
        else:
            return False
    return found


_NOT_WORD = re.compile(r"[^\w]+")


def name_key(name: str) -> str:
    """An organisation's name as compared for duplicates: case, «ё», quotes, «№» and
    punctuation do not matter («МБОУ «СОШ № 17»» = «мбоу сош №17»)."""
    return " ".join(_NOT_WORD.sub(" ", name.casefold().replace("ё", "е")).replace("_", " ").split())


# The typed fields of the application form and their checks.
FIELD_PARSERS: dict[str, Callable[[str], Parsed]] = {
    "org_name": parse_org_name,
    "full_name": parse_full_name,
    "phone": parse_phone,
    "email": parse_email,
}
