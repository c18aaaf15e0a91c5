"""What features register into, so that the kernel never imports a feature.

A feature package exposes one ``Feature`` (in its ``feature.py``): its route groups, the screens
of the states it owns, its rows of the main menu, the typed commands it offers and the
continuations other features may resume it with. ``core/features.py`` lists the features and
the order of their route groups; ``Registry.of`` puts them together once at start, and the
result reaches the kernel as ``conv.deps.registry``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.kernel.routes import ANYONE, Need, Route
from core.kernel.ui import Button, Reply

Screen = Callable[[Any], Awaitable[list[Reply]] | list[Reply]]
Rows = Callable[[Any], list[list[Button]]]
# What one feature offers another by name: what resumes after a sub-flow (usually replies), or a
# call such as «say whom this audience is» -- ``conv.deps.registry.continuation(key)(conv, ...)``.
Continuation = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class MenuEntry:
    """Rows of the main menu; ``order`` places them (smaller first); ``rows`` decides who sees
    them (an empty list for people who should not)."""

    order: int
    rows: Rows


@dataclass(frozen=True)
class CommandInfo:
    """A typed command as people see it in «помощь»: its words are the catalog text
    ``admin.cmd.<name>``, its line in the help ``admin.help_<name>``; ``need``: who may use it
    (the route that runs it declares the same need)."""

    name: str
    order: int  # its place in «помощь»
    need: Need = ANYONE
    with_args: bool = False
    listed_only: bool = False  # in the help, but run by its own route (e.g. a flow's word)


@dataclass(frozen=True)
class Feature:
    name: str
    routes: dict[str, Sequence[Route]] = field(default_factory=dict)
    screens: dict[str, Screen] = field(default_factory=dict)
    menu: Sequence[MenuEntry] = ()
    commands: Sequence[CommandInfo] = ()
    continuations: dict[str, Continuation] = field(default_factory=dict)
    # states of dialogs only coordinators may be in: left when the right is gone
    privileged_states: tuple[str, ...] = ()


class RegistryError(ValueError):
    pass


@dataclass(frozen=True)
class Registry:
    routes: tuple[Route, ...] = ()
    screens: dict[str, Screen] = field(default_factory=dict)
    menu: tuple[MenuEntry, ...] = ()
    commands: tuple[CommandInfo, ...] = ()
    continuations: dict[str, Continuation] = field(default_factory=dict)
    privileged_states: tuple[str, ...] = ()

    @classmethod
    def of(cls, features: Sequence[Feature], order: Sequence[str]) -> "Registry":
        """``order``: route groups as "feature.group", the first that matches takes an event."""
        by_name = {f.name: f for f in features}
        routes: list[Route] = []
        for ref in order:
            name, _, group = ref.partition(".")
            if name not in by_name or group not in by_name[name].routes:
                raise RegistryError(f"no route group {ref!r}")
            routes.extend(by_name[name].routes[group])
        placed = {ref for ref in order}
        for feature in features:
            for group in feature.routes:
                if f"{feature.name}.{group}" not in placed:
                    raise RegistryError(f"route group {feature.name}.{group} is not in the order")
        screens: dict[str, Screen] = {}
        continuations: dict[str, Continuation] = {}
        for feature in features:
            for prefix, screen in feature.screens.items():
                if prefix in screens:
                    raise RegistryError(f"two screens for state prefix {prefix!r}")
                screens[prefix] = screen
            for key, resume in feature.continuations.items():
                if key in continuations:
                    raise RegistryError(f"two continuations named {key!r}")
                continuations[key] = resume
        return cls(
            routes=tuple(routes),
            screens=screens,
            menu=tuple(sorted((e for f in features for e in f.menu), key=lambda e: e.order)),
            commands=tuple(sorted((c for f in features for c in f.commands), key=lambda c: c.order)),
            continuations=continuations,
            privileged_states=tuple(s for f in features for s in f.privileged_states),
        )

    def continuation(self, key: str) -> Continuation:
        try:
            return self.continuations[key]
        except KeyError:
            raise RegistryError(f"no continuation {key!r}") from None

    def describe(self) -> dict[str, Any]:
        return {"routes": len(self.routes), "screens": sorted(self.screens),
                "commands": [c.name for c in self.commands]}
