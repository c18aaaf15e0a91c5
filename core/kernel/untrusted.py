"""What people type, made safe for where it goes next.

Text typed by a person (an organisation name, a question, a decline reason, an e-mail) is data.
Two places would otherwise read it as something more:

* a spreadsheet reads a cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab/CR, or their
  full-width forms) as a formula: ``spreadsheet_cell`` turns such a value into plain text with a
  leading apostrophe (the usual spreadsheet «this is text» mark) and drops characters XLSX
  cannot hold. Every export (CSV and XLSX) writes its rows through ``spreadsheet_row``.
* another person's chat reads VK mention markup (``[id1|текст]``, ``@id1``, ``*club1``) as a live
  link and a line break as the start of the bot's own next line: ``relayed`` keeps the text on
  one line, breaks mention markup and the «» quotes it is shown in. Every notice that carries a
  person's words to someone else passes them through it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

# Leading characters a spreadsheet may evaluate (Excel, LibreOffice, Google Sheets), with the
# full-width forms some of them normalise: ＝ ＋ － ＠.
FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
# XLSX (XML 1.0) cannot hold C0 control characters other than tab, LF and CR.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def spreadsheet_cell(value: Any) -> Any:
    """A cell value safe to export. Numbers, dates and None we computed stay as they are; any
    string that a spreadsheet could evaluate becomes text (``'=1+1``), whoever wrote it."""
    if not isinstance(value, str):
        return value
    value = _XML_ILLEGAL.sub("", value)
    if _live_start(value):
        return "'" + value
    return value


def _live_start(value: str) -> bool:
    """Leading blanks and invisible characters (any Unicode space, a BOM, a zero-width space,
    direction marks) do not disarm every spreadsheet, and some normalise compatibility forms
    (full-width ＝, small ﹦) to the ASCII sign: the first visible character decides."""
    for ch in value:
        if ch in FORMULA_START or unicodedata.normalize("NFKC", ch)[:1] in FORMULA_START:
            return True
        if not (ch.isspace() or unicodedata.category(ch) in ("Zs", "Cf")):
            return False
    return False


def spreadsheet_row(values: Iterable[Any]) -> list[Any]:
    return [spreadsheet_cell(v) for v in values]


# -- relaying a person's words to another person ---------------------------------------------
RELAY_MAX = 1000
# VK turns «[id1|text]», «[club1|text]», «[public1|…]», «[event1|…]» into a link to that page,
# and «[vk.com/id1|text]», «[https://vk.com/…|text]», «[id1:bp-1_2|text]» into links too: any
# «[target|» is broken, whatever the target.
_MENTION_BRACKETS = re.compile(r"\[\s*([^\[\]|\s][^\[\]|]{0,200}?)\s*\|")
# «@id1», «*id1», «@club1 (text)», also short names such as «@durov» and the chat-wide
# «@all», «@online», «@все», «@здесь» (not e-mails: a@b.ru).
_MENTION_AT = re.compile(r"(?<![\w.])([@*])(?=[A-Za-z0-9_.\u0400-\u04ff]{2,})")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\u0085\v\f]+")
_KEEP = frozenset("\n\r\t\u2028\u2029\u0085\v\f\u200d")  # breaks (marked below), emoji joiner
_BLANKS = re.compile(r"[ \t\u00a0]{2,}")
FULL_WIDTH = {"@": "\uff20", "*": "\uff0a"}  # look the same, are not mention markup
LINE_MARK = " ⏎ "  # where the person pressed Enter; their text stays on one line


def unlinked(text: str) -> str:
    """A person's words as a value inside someone else's text (a broadcast's «{{ организация }}»):
    no live VK mention or link markup and no invisible direction marks; the rest as typed."""
    text = "".join(ch for ch in text if ch == "\u200d" or unicodedata.category(ch) != "Cf")
    text = _MENTION_BRACKETS.sub(lambda m: "[" + m.group(1) + " ¦ ", text)
    return _MENTION_AT.sub(lambda m: FULL_WIDTH[m.group(1)], text)


def relayed(text: str | None, limit: int = RELAY_MAX, lines: bool = False) -> str:
    """A person's text as it may appear inside the bot's notice to someone else: on one line
    (``lines=True`` keeps the line breaks, for a message that is wholly that person's, under
    the bot's own heading), with no live VK mention markup, no invisible direction marks, no «»
    that could close the quote it stands in, at most ``limit`` characters."""
    if not text:
        return ""
    if lines:
        return "\n".join(relayed(line, limit) for line in _LINE_BREAKS.split(text.strip())
                         if line.strip())[:limit]
    text = unicodedata.normalize("NFC", text)
    # control and format characters: direction overrides could make a line read backwards
    text = "".join(ch for ch in text
                   if ch in _KEEP or unicodedata.category(ch) not in ("Cc", "Cf", "Co"))
    text = _LINE_BREAKS.sub(LINE_MARK, text.strip())
    text = _MENTION_BRACKETS.sub(lambda m: "[" + m.group(1) + " ¦ ", text)
    text = _MENTION_AT.sub(lambda m: FULL_WIDTH[m.group(1)], text)
    text = text.replace("«", "„").replace("»", "“")
    text = _BLANKS.sub(" ", text.replace("\t", " ")).strip()
    if len(text) > limit:
        text = text[:limit - 1].rstrip() + "…"
    return text
