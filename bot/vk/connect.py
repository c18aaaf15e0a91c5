"""Reaching VK before listening: retries while the network is down, one clear line for a bad token.

Without this, a bot started before the network is up (a container on a host still booting) died
with vkbottle's 60-line traceback, and an invalid token looked the same. Here every failed attempt
is one log line (what failed, which attempt, when the next one is), the pauses grow to a minute
and the bot keeps trying: the network coming back is the normal end of it. A refused token
(VK error 5) or a token of another community cannot get better by waiting: it stops the bot with
one line saying what to fix, and ``sferum-bot run`` exits non-zero.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.config import Settings
from bot.operator_text import line
from bot.vk.api import VkApi, VkApiError, VkTransportError

log = logging.getLogger(__name__)

RETRIED = {6, 9, 10}  # too many requests, flood control, VK's internal error
MAX_PAUSE = 60.0

class FatalVkError(Exception):
    """Waiting will not help (bad token, another community): the message says what to fix."""


def pause_after(attempt: int) -> float:
    """1, 2, 4, 8 … seconds, at most a minute."""
    return min(2.0 ** (attempt - 1), MAX_PAUSE)


async def reach_vk(settings: Settings, api: VkApi,
                   sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> dict[str, Any]:
    """Call groups.getById until VK answers; the community the token belongs to."""
    attempt = 0
    while True:
        attempt += 1
        try:
            answer = await api.call("groups.getById", {})
        except VkApiError as exc:
            if exc.code == 5:
                raise FatalVkError(line("connect.token_refused", detail=exc.message)) from None
            if exc.code not in RETRIED:
                raise FatalVkError(line("connect.refused", code=exc.code,
                                        detail=exc.message)) from None
            problem = f"VK error {exc.code}"
        except VkTransportError as exc:
            problem = str(exc).split(": ", 1)[-1]
        else:
            group = _first_group(answer)
            if group is not None and int(group.get("id", 0)) != settings.vk.group_id:
                raise FatalVkError(line("connect.wrong_group", found=group.get("id"),
                                        configured=settings.vk.group_id))
            if attempt > 1:
                log.warning(line("connect.reached", attempts=attempt))
            return group or {}
        pause = pause_after(attempt)
        log.warning(line("connect.retry", url=settings.vk.api_url, problem=problem,
                         attempt=attempt, pause=pause))
        await sleep(pause)


def _first_group(answer: Any) -> dict[str, Any] | None:
    # 5.199 answers {"groups": [...]}; older versions a bare list.
    groups = answer.get("groups") if isinstance(answer, dict) else answer
    if isinstance(groups, list) and groups and isinstance(groups[0], dict):
        return groups[0]
    return None
