"""Everything routes and services need, in one frozen object built once by the factory
(``bot/app.py: build_bot``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.kernel.clock import Clock
from core.kernel.outgoing import Messenger
from core.kernel.registry import Registry
from core.kernel.texts import Texts
from storage import Database


@dataclass(frozen=True)
class Deps:
    # bot.config.Settings; the kernel and the features read the sections they name
    # (``settings.access``, ``settings.schedule``, …) and never import the config module.
    settings: Any
    db: Database
    texts: Texts
    clock: Clock
    messenger: Messenger
    # The features' routes, screens, menu rows, commands and continuations (core/features.py).
    registry: Registry = field(default_factory=Registry)
    # Feature services that are built once at start (e.g. the FAQ index), by name.
    services: dict[str, Any] = field(default_factory=dict)
