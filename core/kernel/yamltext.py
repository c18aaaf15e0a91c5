"""YAML content files read with libyaml's C parser where PyYAML was built with it.

The pure-Python parser took 0.15–0.2 s of every start on the FAQ's files alone; both parsers
build the same plain data (safe loaders: no tags, no objects).
"""

from __future__ import annotations

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, C or Python
