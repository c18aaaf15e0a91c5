"""Feature services built once at start (indexes, schedulers), keyed by name in ``Deps.services``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.deps import Deps


def build_services(deps: "Deps") -> dict[str, Any]:
    services: dict[str, Any] = {}
    return services
