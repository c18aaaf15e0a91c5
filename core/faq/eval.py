"""Scoring the FAQ's understanding against a labelled question set (tuned or frozen).

Used by bench/faq.py (which prints the figures) and tests/test_faq.py (which asserts floors on
the tuned set). An item is ``{q, role, expect: [ids]}`` or ``{q, role, parts: [[ids], ...]}``;
``expect: []`` is out of scope (the honest fallback is right), ``expect: [smalltalk]`` is small
talk. "Right" means what the person sees first: the answer (or, for several questions, every
part's answer) in the first message, the fallback, or a small-talk reply.

When the bot is not sure («suggest») its first message leads with the best guess's short
answer, marked as a guess (core/faq/dialog.py ``dont_know``). ``Figures.guessed`` counts the
in-scope questions whose first message holds the right facts that way — reported beside the
strict figure, never instead of it — and the out-of-scope ones shown a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from core.faq.talk import Understanding

SMALLTALK = "smalltalk"


def kind_of(item: dict[str, Any]) -> str:
    if "parts" in item:
        return "in_scope"
    if not item["expect"]:
        return "out_of_scope"
    if item["expect"] == [SMALLTALK]:
        return "smalltalk"
    return "in_scope"


def is_right(item: dict[str, Any], found: Understanding) -> bool:
    kind = kind_of(item)
    if kind == "smalltalk":
        return found.kind == "talk"
    if kind == "out_of_scope":
        return found.kind in ("suggest", "unknown")
    answered = set(found.entry_ids) if found.kind in ("answer", "parts") else set()
    if "parts" in item:
        return all(answered & set(part) for part in item["parts"])
    return bool(answered & set(item["expect"]))


def guess_of(found: Understanding) -> str | None:
    """The entry whose short answer leads a «did you mean» reply, as the dialog shows it."""
    return found.guess if found.kind == "suggest" else None


@dataclass
class Figures:
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("in_scope", "out_of_scope", "smalltalk"), 0))
    total: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("in_scope", "out_of_scope", "smalltalk"), 0))
    misses: list[tuple[dict[str, Any], Understanding]] = field(default_factory=list)
    # in scope: right facts first only as a marked guess; out of scope: shown a guess
    guessed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("in_scope", "out_of_scope", "smalltalk"), 0))

    def share(self, kind: str) -> float:
        return self.right[kind] / self.total[kind] if self.total[kind] else 1.0


def evaluate(understand: Callable[[str], Understanding],
             items: Iterable[dict[str, Any]]) -> Figures:
    figures = Figures()
    for item in items:
        kind = kind_of(item)
        found = understand(item["q"])
        figures.total[kind] += 1
        if is_right(item, found):
            figures.right[kind] += 1
        else:
            figures.misses.append((item, found))
            guess = guess_of(found)
            if guess and kind == "in_scope" and guess in item.get("expect", ()):
                figures.guessed[kind] += 1
        if kind == "out_of_scope" and guess_of(found):
            figures.guessed[kind] += 1
    return figures
