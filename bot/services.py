"""Feature services built once at start (indexes, schedulers), keyed by name in ``Deps.services``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.deps import Deps


def build_services(deps: "Deps") -> dict[str, Any]:
    from bot.vk.platform import VkPlatform
    from core.faq.dialog import FaqService
    from core.personal_data.service import consent_folder, load_consents
    from core.kernel.texts import content_root

    services: dict[str, Any] = {}
    learned = (deps.settings.content.learned_dir
               or deps.settings.storage.path.parent / "faq_learned")
    services["faq"] = FaqService(content_root(deps.settings.content.dir) / "faq", learned)
    services["platform"] = VkPlatform(deps.messenger)  # type: ignore[arg-type]
    services["consent"] = load_consents(consent_folder(deps.settings.content.dir))
    # Weekly reminders and the difficulty survey (the survey file is validated here, at start).
    from bot.scheduler import ScheduleService
    from core.surveys.service import load_survey

    services["surveys"] = load_survey(content_root(deps.settings.content.dir) / "surveys")
    services["schedule"] = ScheduleService(deps)
    # Coordinator broadcasts (scheduled ones survive restarts) and survey summaries, whose
    # difficulty options are those of the survey people are asked.
    from core.admin.figures import SurveyOptions
    from core.broadcasts.service import BroadcastService

    services["survey_options"] = SurveyOptions(services["surveys"], deps.db)
    services["broadcasts"] = BroadcastService(deps)
    # Confirmed staff reach their organisation's admin as one digest per period.
    from core.activation.staff import StaffDigestService

    services["staff_digest"] = StaffDigestService(deps)
    return services
