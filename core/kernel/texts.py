"""The text catalog: ``content/texts/*.toml``, key -> Jinja2 template.

Where a text talks about the messenger itself (its app, its links), ``content/texts/<messenger>/``
holds that messenger's variant under the same key; ``render`` picks the variant of the messenger
the current event came from (``speaking_in``, set by the transport adapter for each event), and
the base text everywhere else. A variant without a base key is an error at load.

Nested TOML tables flatten to dotted keys (``[start] greeting = ...`` is ``start.greeting``).
Templates use StrictUndefined, so a missing variable is an error at render, never a broken
message; every template is parsed at load, so a syntax error or an unknown filter stops the bot
at start, and compiled on its first render (compiling all ~800 at start cost a fifth of a second).
"""

from __future__ import annotations

import tomllib
from contextvars import ContextVar
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined, Template, TemplateSyntaxError, UndefinedError, nodes

from core.kernel.display import format_phone
from core.kernel.ui import LABEL_MAX
from core.kernel.untrusted import relayed


_PLAIN = frozenset({str, int, float, bool, type(None)})
RENDERED_LIMIT = 2048


class TextsError(Exception):
    pass


MESSENGERS = ("max",)  # messengers that may have variants; VK's words are the base texts
_messenger: ContextVar[str] = ContextVar("messenger", default="vk")


def speaking_in(messenger: str) -> None:
    """The messenger of the event being handled (the adapter calls it before routing): texts
    rendered while handling it are that messenger's variants where they exist."""
    _messenger.set(messenger)


def messenger_now() -> str:
    return _messenger.get()


def content_root(override: Path | None = None) -> Path:
    """The content folder: a configured one, else the one installed with the package."""
    if override is not None:
        return override
    return Path(str(resources.files("content")))


def make_environment() -> Environment:
    env = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False,
                      trim_blocks=True, lstrip_blocks=True)
    # {{ o.name | relayed(120) }}: what a person typed, shown to someone else (core/kernel/untrusted.py)
    env.filters["relayed"] = relayed
    env.filters["phone"] = format_phone  # {{ number | phone }} -> +7 913 123-45-67
    return env


def _flatten(prefix: str, table: dict[str, Any], out: dict[str, str], source: str,
             origin: dict[str, str]) -> None:
    for key, value in table.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            _flatten(full, value, out, source, origin)
        elif isinstance(value, str):
            if full in out:
                raise TextsError(f"{source}: key {full} already defined in {origin[full]}")
            out[full] = value
            origin[full] = source
        else:
            raise TextsError(f"{source}: key {full} must be a string")


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TextsError(f"{path.name}: not valid TOML: {exc}") from None


class Texts:
    def __init__(self, sources: dict[str, str]) -> None:
        self.env = make_environment()
        self.sources = dict(sources)
        self._templates: dict[str, Template] = {}  # compiled on first render
        self._static: dict[str, str] = {}  # renders without variables, e.g. labels and commands
        # Renders with a few plain values (the region's name, a count): templates are pure, so
        # the same key and values give the same text; bounded, as some values vary per person.
        self._rendered: dict[tuple[Any, ...], str] = {}
        for key, source in sources.items():
            if "{" not in source:
                continue  # plain text: nothing for Jinja to reject (and no parse at start)
            try:
                self._check(source.strip())
            except TemplateSyntaxError as exc:
                raise TextsError(f"text {key}: template error: {exc}") from None
        for key in self.sources:
            if key.startswith("btn.") and len(self.sources[key]) > LABEL_MAX:
                raise TextsError(f"text {key}: button label longer than {LABEL_MAX}")

    def _check(self, source: str) -> None:
        """What compiling would reject, without compiling: syntax, unknown filters and tests."""
        tree = self.env.parse(source)
        for node in tree.find_all((nodes.Filter, nodes.Test)):
            known = self.env.filters if isinstance(node, nodes.Filter) else self.env.tests
            if node.name not in known:
                kind = "filter" if isinstance(node, nodes.Filter) else "test"
                raise TemplateSyntaxError(f"No {kind} named {node.name!r}.", node.lineno)

    @classmethod
    def load(cls, folder: Path) -> "Texts":
        sources: dict[str, str] = {}
        origin: dict[str, str] = {}
        files = sorted(folder.glob("*.toml"))
        if not files:
            raise TextsError(f"{folder}: no *.toml text files")
        for path in files:
            _flatten("", _read(path), sources, path.name, origin)
        for messenger in MESSENGERS:
            variants: dict[str, str] = {}
            for path in sorted((folder / messenger).glob("*.toml")):
                _flatten("", _read(path), variants, f"{messenger}/{path.name}", {})
            for key, source in variants.items():
                if key not in sources:
                    raise TextsError(f"{messenger}/: variant of {key}, which is not in the catalog")
                sources[f"{key}@{messenger}"] = source
        return cls(sources)

    @property
    def keys(self) -> set[str]:
        """The catalog's keys (messengers' variants are not keys of their own)."""
        return {k for k in self.sources if "@" not in k}

    def has(self, key: str) -> bool:
        return key in self.sources

    def render(self, key: str, **values: Any) -> str:
        messenger = _messenger.get()
        if messenger != "vk" and f"{key}@{messenger}" in self.sources:
            key = f"{key}@{messenger}"
        if not values and key in self._static:
            return self._static[key]
        memo = None
        if values and all(type(v) in _PLAIN for v in values.values()):
            # the type too: True == 1 == 1.0 as keys, but they render differently
            memo = (key, *sorted((k, type(v).__name__, v) for k, v in values.items()))
            cached = self._rendered.get(memo)
            if cached is not None:
                return cached
        template = self._templates.get(key)
        if template is None:
            if key not in self.sources:
                raise TextsError(f"text {key} is not in the catalog")
            template = self._templates[key] = self.env.from_string(self.sources[key].strip())
        try:
            text = template.render(**values).strip()
        except UndefinedError as exc:
            raise TextsError(f"text {key}: {exc}") from None
        if not values:
            self._static[key] = text
        elif memo is not None:
            if len(self._rendered) >= RENDERED_LIMIT:
                self._rendered.clear()
            self._rendered[memo] = text
        return text

    def label(self, key: str, **values: Any) -> str:
        """A button label: ``btn.*`` keys, short and single-line."""
        return self.render(key, **values)
