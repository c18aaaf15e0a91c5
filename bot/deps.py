"""Everything handlers and services need, in one frozen object built by the factory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings
from core.kernel.clock import Clock
from core.kernel.outgoing import Messenger
from core.kernel.texts import Texts
from storage import Database


@dataclass(frozen=True)
class Deps:
    settings: Settings
    db: Database
    texts: Texts
    clock: Clock
    messenger: Messenger
    # Feature services that are built once at start (e.g. the FAQ index), by name.
    services: dict[str, Any] = field(default_factory=dict)
