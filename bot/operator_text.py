"""Lines for those who run the bot (CLI output, the log, config errors), English / Russian.

They live in ``content/operator.toml`` like every other text; loaded on first use, never at
import time. Unlike the bot's texts they are plain ``str.format`` templates: they are read
before any config (and so any content folder of the region) is known.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any


@cache
def catalog() -> dict[str, Any]:
    path = Path(str(resources.files("content"))) / "operator.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _entry(key: str) -> Any:
    node: Any = catalog()
    for part in key.split("."):
        node = node[part]
    return node


def line(key: str, **values: Any) -> str:
    """One bilingual line, e.g. ``line("backup.written", path=..., megabytes=...)``."""
    return str(_entry(key)).format(**values)


def pair(key: str, **values: Any) -> tuple[str, str]:
    """(English, Russian) of a rule, to be placed into a line that names the setting."""
    entry = _entry(key)
    return str(entry["en"]).format(**values), str(entry["ru"]).format(**values)
