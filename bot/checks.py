"""What ``sferum-bot check`` says beyond "the config parses": what is not ready for real work.

Offline: settings that are valid but cannot work (the example's placeholder token, nobody to
receive coordinators' notices). Online (``check --online``): the community's settings as VK
reports them (Long Poll on, its API version, the event types the bot needs, community messages
on) and whether each configured coordinator and bot admin can receive the community's messages
— someone who never wrote to the community silently misses every notice until they do.
Every line is English / Russian; nothing personal and never the token is printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.operator_text import line
from bot.vk.api import VkApi, VkApiError, VkTransportError

NEEDED_EVENTS = ("message_new", "message_event")


@dataclass(frozen=True)
class Finding:
    ok: bool
    text: str


def _looks_like_placeholder(token: str) -> bool:
    return (not token.isascii() or len(token) < 20 or "REPLACE" in token.upper()
            or token.strip() != token)


def offline_warnings(settings: Settings) -> list[str]:
    warnings = []
    if settings.vk is not None and _looks_like_placeholder(settings.vk.token):
        warnings.append(line("check.placeholder_token"))
    if settings.max.enabled and _looks_like_placeholder(settings.max.token):
        warnings.append(line("check.max_placeholder_token"))
    if not (settings.access.coordinators or settings.max.coordinators):
        warnings.append(line("check.no_coordinators"))
    if not (settings.access.admins or settings.max.admins):
        warnings.append(line("check.no_admins"))
    if not settings.region.municipalities:
        warnings.append(line("check.no_municipalities"))
    return warnings


def max_summary(settings: Settings) -> list[str]:
    """What ``check`` says about the MAX section (offline): on or off, how updates arrive,
    who has rights there; never the token."""
    m = settings.max
    if not m.enabled:
        return [line("check.max_off")]
    lines = [line("check.max_on", transport=m.transport, url=m.api_url,
                  admins=len(m.admins), coordinators=len(m.coordinators))]
    if m.transport == "webhook":
        lines.append(line("check.max_webhook", url=m.webhook_url, path=m.webhook_path,
                          host=m.webhook_host, port=m.webhook_port))
    return lines


async def max_online(settings: Settings) -> Finding:
    """Ask MAX who the token belongs to (GET /me)."""
    from bot.max import MaxApi, MaxError

    api = MaxApi(settings.max.token, settings.max.api_url)
    try:
        me = await api.get_me()
    except MaxError as exc:
        return Finding(False, line("check.max_unreachable", error=type(exc).__name__))
    finally:
        await api.close()
    return Finding(True, line("check.max_reached", name=str(me.get("username") or "?")))


async def online_findings(settings: Settings, api: VkApi) -> list[Finding]:
    """Ask VK about the community and the people the bot must be able to write to."""
    found: list[Finding] = []
    assert settings.vk is not None
    group_id = settings.vk.group_id
    try:
        groups = await api.call("groups.getById", {"group_id": group_id, "fields": "can_message"})
    except (VkApiError, VkTransportError) as exc:
        return [Finding(False, line("check.call_failed", method="groups.getById", error=exc))]
    group = _first(groups)
    if group is None or int(group.get("id", 0)) != group_id:
        found.append(Finding(False, line("check.wrong_community", group_id=group_id)))
    elif int(group.get("can_message", 1)) != 1:
        found.append(Finding(False, line("check.messages_off")))
    else:
        found.append(Finding(True, line("check.messages_on")))
    found.extend(await _long_poll(settings, api))
    for role, people in (("coordinator", settings.access.coordinators),
                         ("bot admin", settings.access.admins)):
        for vk_id in people:
            found.append(await _can_receive(api, group_id, vk_id, role))
    return found


async def _long_poll(settings: Settings, api: VkApi) -> list[Finding]:
    assert settings.vk is not None
    if settings.vk.transport == "callback":
        return []  # events come to the callback server; its settings are VK's Callback API
    try:
        lp = await api.call("groups.getLongPollSettings", {"group_id": settings.vk.group_id})
    except (VkApiError, VkTransportError) as exc:
        return [Finding(False, line("check.call_failed", method="groups.getLongPollSettings",
                                    error=exc))]
    found = []
    if not lp.get("is_enabled"):
        found.append(Finding(False, line("check.long_poll_off")))
    else:
        found.append(Finding(True, line("check.long_poll_on")))
    version = str(lp.get("api_version") or "?")
    if version != settings.vk.api_version:
        found.append(Finding(False, line("check.long_poll_version", found=version,
                                         needed=settings.vk.api_version)))
    events = lp.get("events") or {}
    missing = [e for e in NEEDED_EVENTS if not int(events.get(e, 0))]
    if missing:
        found.append(Finding(False, line("check.events_off", events=", ".join(missing))))
    else:
        found.append(Finding(True, line("check.events_on")))
    return found


async def _can_receive(api: VkApi, group_id: int, vk_id: int, role: str) -> Finding:
    names = {"role": role, "vk_id": vk_id,
             "role_ru": line("check.role_coordinator" if role == "coordinator"
                             else "check.role_admin")}
    try:
        answer = await api.call("messages.isMessagesFromGroupAllowed",
                                {"group_id": group_id, "user_id": vk_id})
    except (VkApiError, VkTransportError) as exc:
        return Finding(False, line("check.receive_unknown", error=exc, **names))
    if int((answer or {}).get("is_allowed", 0)) == 1:
        return Finding(True, line("check.can_receive", **names))
    return Finding(False, line("check.cannot_receive", **names))


def _first(answer: Any) -> dict[str, Any] | None:
    groups = answer.get("groups") if isinstance(answer, dict) else answer
    if isinstance(groups, list) and groups and isinstance(groups[0], dict):
        return groups[0]
    return None
