"""Everything routes and services need, in one frozen object built once by the factory
(``bot/app.py: build_bot``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.kernel.clock import Clock
from core.kernel.outgoing import Messenger
from core.kernel.texts import Texts
from storage import Database


class Features(Protocol):
    """What the kernel reads of the features' registry (``core.kernel.registry.Registry``).
    Named by what it offers rather than imported: the registry holds routes, routes take
    Conversations, and a Conversation holds these Deps — a protocol keeps that circle out of
    the imports."""

    routes: Sequence[Any]
    screens: Mapping[str, Any]
    menu: Sequence[Any]
    commands: Sequence[Any]
    privileged_states: tuple[str, ...]

    def continuation(self, key: str) -> Callable[..., Awaitable[Any]]: ...


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
    registry: Features
    # Feature services that are built once at start (e.g. the FAQ index), by name.
    services: dict[str, Any] = field(default_factory=dict)
