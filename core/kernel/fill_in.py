"""Personalisation of a text typed by a coordinator: a fill-in, not a program.

The only thing a coordinator may write is a placeholder: a name in double braces, ``{{ имя }}``,
from the catalog's list (``broadcasts.vars.*``). No expressions, filters, calls, attribute
access, loops, conditions or comments: those would make a broadcast text a program that runs in
the bot (``{{ 9**(9**9) }}`` froze the whole bot while Jinja folded the constant). The text is
parsed here, by a scanner that never evaluates anything, before it is accepted; rendering is
plain substitution, linear in the text, each value cut to ``VALUE_MAX``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

VALUE_MAX = 300            # an organisation name is at most 300 characters (core/activation/service.py)
SHOWN_MAX = 40             # how much of a refused fragment the answer quotes
_OPENERS = re.compile(r"\{\{|\{%|\{#")
_NAME = re.compile(r"[^\W\d]\w*")


class TemplateProblem(Exception):
    """What is wrong with the text: a catalog key of the answer and its values."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class FillIn:
    """The parsed text: literal pieces and placeholders (the field each one stands for)."""

    parts: tuple[str | tuple[str], ...]   # str = literal text, (field,) = a placeholder

    @property
    def fields(self) -> set[str]:
        return {p[0] for p in self.parts if isinstance(p, tuple)}

    @property
    def literal_length(self) -> int:
        return sum(len(p) for p in self.parts if isinstance(p, str))

    def length(self, values: Mapping[str, str]) -> int:
        """The rendered length without building the text."""
        return self.literal_length + sum(min(len(values.get(p[0], "")), VALUE_MAX)
                                         for p in self.parts if isinstance(p, tuple))

    def render(self, values: Mapping[str, str], limit: int | None = None) -> str:
        """The text for one recipient. With ``limit``, the longest values are shortened (with
        «…») until the text fits: the coordinator's own words are never cut by someone's long
        organisation name."""
        cut = {f: _clean(values.get(f, ""))[:VALUE_MAX] for f in self.fields}
        if limit is not None:
            cut = _fit(self, cut, limit)
        text = "".join(p if isinstance(p, str) else cut[p[0]] for p in self.parts).strip()
        return text[:limit] if limit is not None else text


def _clean(value: str) -> str:
    return " ".join(value.split())  # a name never brings its own line breaks into the text


def _fit(fill: FillIn, values: dict[str, str], limit: int) -> dict[str, str]:
    counts = Counter(p[0] for p in fill.parts if isinstance(p, tuple))

    def excess() -> int:
        return fill.literal_length + sum(len(values[f]) * n for f, n in counts.items()) - limit

    while (over := excess()) > 0:
        field = max(counts, key=lambda f: len(values[f]) * counts[f])
        if len(values[field]) <= 1:
            break  # the coordinator's own text is too long: render() cuts the end
        keep = max(0, len(values[field]) - -(-over // counts[field]) - 1)
        values[field] = values[field][:keep].rstrip() + "…"
    return values


def _shown(fragment: str) -> str:
    fragment = " ".join(fragment.split())
    return fragment if len(fragment) <= SHOWN_MAX else fragment[:SHOWN_MAX - 1] + "…"


def parse(text: str, names: Mapping[str, str]) -> FillIn:
    """``names``: every accepted spelling -> the field it stands for ({"имя": "first_name"}).
    Raises TemplateProblem with the catalog key of a clear answer."""
    lowered = {name.lower(): field for name, field in names.items()}
    known = list(names)
    parts: list[str | tuple[str]] = []
    pos = 0
    for opener in _OPENERS.finditer(text):
        if opener.start() < pos:
            continue  # inside a placeholder already read
        parts.append(text[pos:opener.start()])
        start = opener.start()
        if opener.group() != "{{":  # {% … %} loops/conditions, {# … #} comments
            closing = text.find(opener.group()[1] + "}", opener.end())
            end = len(text) if closing < 0 else closing + 2
            raise TemplateProblem("broadcasts.template_not_allowed",
                                  what=_shown(text[start:end]), known=known)
        closing = text.find("}}", opener.end())
        nested = _OPENERS.search(text, opener.end(), closing if closing >= 0 else len(text))
        if closing < 0 or nested is not None:
            raise TemplateProblem("broadcasts.template_syntax",
                                  line=text.count("\n", 0, start) + 1,
                                  what=_shown(text[start:(nested.start() if nested else None)]))
        inner = text[opener.end():closing].strip()
        if not _NAME.fullmatch(inner):
            raise TemplateProblem("broadcasts.template_not_allowed",
                                  what=_shown(text[start:closing + 2]), known=known)
        field = lowered.get(inner.lower())
        if field is None:
            raise TemplateProblem("broadcasts.template_unknown", names=[inner], known=known)
        parts.append((field,))
        pos = closing + 2
    parts.append(text[pos:])
    return FillIn(tuple(p for p in parts if p != ""))
