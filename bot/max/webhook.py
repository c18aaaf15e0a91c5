"""The receiving end of MAX webhooks: an aiohttp route.

MAX POSTs each update as JSON to the subscribed URL with the subscription's secret in the
`X-Max-Bot-Api-Secret` header, and retries (exponentially, up to 8 hours, then unsubscribes the
bot) until it gets a 200 (MAX_PROTOCOL.md §2). So: check the secret in constant time, hand the
update over, answer 200 at once. `handle` must only accept the update (queue it, write it to the
inbox) and not run the conversation: a slow answer makes MAX resend.
A 200 is given only after `handle` returned, so a crash before it leaves the update to MAX's retry.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Max-Bot-Api-Secret"
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{5,256}")  # [S] SubscriptionRequestBody.secret
DEFAULT_PATH = "/max/webhook"

Handle = Callable[[dict[str, Any]], Awaitable[None]]


def valid_secret(secret: str) -> bool:
    return SECRET_PATTERN.fullmatch(secret) is not None


class MaxWebhook:
    """`add_to(app)` serves POST `path`. `secret` None accepts unsigned pushes (MAX sends the
    header only when the subscription has a secret) — configure one in production."""

    def __init__(self, handle: Handle, secret: str | None, path: str = DEFAULT_PATH) -> None:
        if secret is not None and not valid_secret(secret):
            raise ValueError("the webhook secret must be 5-256 characters of A-Z a-z 0-9 _ -")
        self._handle = handle
        self._secret = secret.encode() if secret is not None else None
        self.path = path
        self.accepted = 0
        self.refused = 0

    def add_to(self, app: web.Application) -> None:
        app.router.add_post(self.path, self.receive)

    def _authentic(self, request: web.Request) -> bool:
        if self._secret is None:
            return True
        given = request.headers.get(SECRET_HEADER, "").encode()
        return hmac.compare_digest(given, self._secret)

    async def receive(self, request: web.Request) -> web.Response:
        if not self._authentic(request):
            self.refused += 1
            log.warning("MAX webhook: a push with a wrong or missing secret was refused")
            return web.Response(status=403)
        try:
            update = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400)
        if not isinstance(update, dict) or "update_type" not in update:
            return web.Response(status=400)
        try:
            await self._handle(update)
        except Exception as exc:  # noqa: BLE001 - anything not accepted is MAX's to resend
            log.error("MAX webhook: the update was not accepted (%s); MAX will resend it",
                      type(exc).__name__)
            return web.Response(status=500)
        self.accepted += 1
        return web.Response(status=200)


__all__ = ["DEFAULT_PATH", "SECRET_HEADER", "MaxWebhook", "valid_secret"]
