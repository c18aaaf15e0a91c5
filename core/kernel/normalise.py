"""The one text normaliser: how typed text is compared with the words the bot knows.

Two strengths: ``command_text`` for commands (case, «ё», spaces and the end punctuation aside —
«Меню!» is «меню»), ``words`` for labels and free-text shortcuts (every non-letter is a space —
«Кто зарегистрировался?» and «кто  зарегистрировался» are the same words)."""

from __future__ import annotations

import re
from functools import lru_cache

_NOT_WORD = re.compile(r"[^\w]+")


def fold(text: str) -> str:
    """Lower case, «ё» as «е»."""
    return text.lower().replace("ё", "е")


def command_text(text: str) -> str:
    return " ".join(fold(text).strip(" .!?\t\n").split())


def command_words(alternatives: str) -> list[str]:
    """«главное меню | меню | /menu» → the words of each alternative, normalised."""
    return list(_command_words(alternatives))


@lru_cache(maxsize=1024)
def _command_words(alternatives: str) -> tuple[str, ...]:
    # Catalog texts, the same few hundred strings checked for every typed message: parsed once.
    return tuple(command_text(word) for word in alternatives.split("|") if word.strip())


def words(text: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", fold(text)).split())
