"""Feature services built once at start (indexes, schedulers), keyed by name in ``Deps.services``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.deps import Deps


def build_services(deps: "Deps") -> dict[str, Any]:
    from core.faq_dialog import FaqService
    from core.texts import content_root

    services: dict[str, Any] = {}
    services["faq"] = FaqService(content_root(deps.settings.content.dir) / "faq")
    return services
