"""Logging that never writes personal data, at any configured level.

Two layers, because either alone leaks:

* third-party loggers are pinned to WARNING whatever ``[log] level`` says: at DEBUG aiosqlite
  prints every SQL statement with its parameters (names, phones, e-mails, questions), vkbottle
  and aiohttp print updates and requests with message texts. A handler filter drops their
  records below WARNING too, so a library that lowers its own level later changes nothing.
* every record that reaches a root handler is redacted after formatting (message, arguments,
  traceback): phone numbers, e-mail addresses, message texts in JSON/dict dumps and any run of
  Cyrillic text (the bot's own log lines are English; Cyrillic in a log line is what a person
  typed, or a name) become ``[redacted]``.
"""

from __future__ import annotations

import logging
import re
import sys

OWN = ("bot", "core", "handlers", "storage", "__main__")
PINNED = ("aiosqlite", "vkbottle", "aiohttp", "aiohttp.access", "aiohttp.client",
          "aiohttp.server", "aiohttp.web", "apscheduler", "asyncio", "urllib3", "matplotlib",
          "PIL", "openpyxl", "jinja2", "websockets", "charset_normalizer")
REDACTED = "[redacted]"

_EMAIL = re.compile(r"[^\s@'\"<>(),;:\[\]]+@[^\s@'\"<>(),;:\[\]]+\.[^\s@'\"<>(),;:\[\].]+")
# Russian numbers as people write them: +7 913 123-45-67, 8(913)1234567, 7913…, 913 123 45 67
# (10 digits from 9 — mobile — or 11 from 7/8, or any «+» number), not dates or timestamps.
_PHONE = re.compile(r"(?<![\w+])(?:\+\d[\s().-]{0,3}|[78][\s().-]{0,3}(?=\d)|(?=9))"
                    r"\d(?:[\s().-]{0,3}\d){8,13}(?![\w])")
# "text": "…", 'message': '…', text='…' — what VK and pydantic dumps carry
_TEXT_FIELDS = re.compile(
    r"""(?P<key>["']?(?:text|message|question|answer|reason|first_name|last_name|full_name|"""
    r"""org_name|name|email|phone|input_value|payload)["']?\s*[:=]\s*)"""
    r"""(?P<q>["'])(?:\\.|(?!(?P=q)).)*(?P=q)""", re.I | re.S)
_CYRILLIC = re.compile(r"[\u0400-\u04ff](?:[\u0400-\u04ff\w\s.,:;!?«»\"'()\-–—№/]*"
                       r"[\u0400-\u04ff\w])?")


def redact(text: str) -> str:
    text = _TEXT_FIELDS.sub(lambda m: f"{m.group('key')}{m.group('q')}{REDACTED}{m.group('q')}",
                            text)
    text = _EMAIL.sub(REDACTED, text)
    text = _PHONE.sub(REDACTED, text)
    return _CYRILLIC.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """On a handler: drops third-party records below WARNING and redacts the rest in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        own = record.name.split(".")[0] in OWN
        if not own and record.levelno < logging.WARNING:
            return False
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the record
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def pin_third_party() -> None:
    for name in PINNED:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    pin_third_party()
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    try:  # vkbottle logs through loguru when it is installed
        from loguru import logger as loguru_logger
    except ImportError:
        return
    loguru_logger.remove()
    loguru_logger.add(sys.stderr, level="WARNING", filter=lambda r: True,
                      format="{time} {level} {name}: {message}")
