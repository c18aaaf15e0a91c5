"""A thin aiohttp client of the MAX Bot API (../shared/MAX_PROTOCOL.md).

Why our own client and not a MAX library: maxapi (the best kept) does not retry 429, issues a
`GET /chats/{id}` per update unless told not to, keeps the polling marker in memory, and brings
its own dispatcher and FSM, which would duplicate ours; the others are less kept (§9). What we need
is small: JSON over HTTPS with a header token, a limiter that never exceeds MAX's rate, retries
that know which requests may be repeated, and the upload flow.

What MAX documents, and what is ours:
- Documented: base URL platform-api2.max.ru; `Authorization: <token>` with no "Bearer"; the
  token in the query string is refused with 403 `deprecated.token`; errors are an HTTP status with
  `{"code", "message"}`; over the limit the status is 429; `attachment.not.ready` (400) means
  "send again later"; times are milliseconds; no idempotency key exists for a message.
- Not documented, our choices: the 30 requests/s figure is a third party quoting MAX; MAX gives
  no Retry-After (we honour one if it ever comes) and no backoff schedule, so 429/5xx/dropped
  connections are retried with exponential backoff (0.5 s doubling, capped, with jitter, 5 tries);
  `attachment.not.ready` is retried up to 6 times from 0.5 s doubling to 4 s (Go retries 3 times
  1 s/2 s, maxapi 5 times 2 s apart). See ratelimit.py for how the window is kept.
- A send whose answer was lost (5xx, dropped connection, timeout after the request left) may have
  been delivered. `resend_unconfirmed` says whether to send it again (a possible duplicate) or
  raise MaxTransportError/MaxServerError and let the caller record "maybe sent". A request that
  never reached MAX (no connection) is always retried; reads and edits are always retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from .errors import (
    MaxApiError,
    MaxAttachmentNotReadyError,
    MaxError,
    MaxRateLimitError,
    MaxServerError,
    MaxTransportError,
    error_for,
)
from .keyboards import from_keyboard
from .text import TEXT_MAX, split_text  # TEXT_MAX: NewMessageBody.text maxLength [S]
from .ratelimit import KeyedWindows, RequestWindow
from .tls import ssl_context

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://platform-api2.max.ru"
ATTACHMENTS_MAX = 12  # [D objects/NewMessageBody]
POLL_TIMEOUT_MAX = 90  # GET /updates timeout 0..90 [S]
POLL_LIMIT_MAX = 1000
Format = Literal["markdown", "html"]
UploadKind = Literal["image", "file", "video", "audio"]


class MessageTooLongError(ValueError):
    """The text is over MAX's 4000 characters; split it before sending."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5  # tries in all for 429 / 5xx / lost connections, the first included
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.25  # each delay is scaled by a random factor in [1 - jitter, 1]
    not_ready_attempts: int = 6
    not_ready_delay: float = 0.5
    not_ready_max_delay: float = 4.0

    def delay(self, retry: int, rng: Callable[[], float] = random.random) -> float:
        """The pause before retry number `retry` (1 for the first retry)."""
        base = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return base * (1.0 - self.jitter * rng())

    def not_ready_pause(self, retry: int) -> float:
        return min(self.not_ready_max_delay, self.not_ready_delay * 2 ** (retry - 1))


@dataclass(frozen=True, slots=True)
class Updates:
    """One answer of GET /updates: persist `marker` only after every update is handled."""

    updates: list[dict[str, Any]]
    marker: int | None


def message_body(
    text: str | None = None,
    attachments: Sequence[dict[str, Any]] | None = None,
    keyboard: Any = None,
    format: Format | None = None,
    notify: bool = True,
    link: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A NewMessageBody. Text goes as plain text unless `format` is given: what people typed
    must never be read as markup. `keyboard` is a neutral keyboard (with `.rows`) or a ready
    inline_keyboard attachment. `attachments=None` leaves them out (an edit keeps the old ones)."""
    if text is not None and len(text) > TEXT_MAX:
        raise MessageTooLongError(f"text of {len(text)} characters > {TEXT_MAX}")
    if format not in (None, "markdown", "html"):
        raise ValueError(f"format must be markdown, html or None, not {format!r}")
    body: dict[str, Any] = {}
    if text is not None:
        body["text"] = text
    items = list(attachments) if attachments is not None else None
    if keyboard is not None:
        kb = keyboard if isinstance(keyboard, dict) else from_keyboard(keyboard)
        if kb is not None:
            items = [*(items or []), kb]
    if items is not None:
        if len(items) > ATTACHMENTS_MAX:
            raise ValueError(f"{len(items)} attachments > {ATTACHMENTS_MAX}")
        body["attachments"] = items
    if format is not None:
        body["format"] = format
    if not notify:
        body["notify"] = False
    if link is not None:
        body["link"] = link
    return body


class MaxApi:
    """The MAX Bot API for one bot token.

    `rate`/`period`: the bot-wide window (30 per 1 s); `per_chat_rate`: messages per second into
    one dialog (2, documented; None switches it off). `sleep`, `clock` and `rng` are injectable
    so tests run backoffs without waiting."""

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        rate: int = 30,
        period: float = 1.0,
        per_chat_rate: int | None = 2,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        resend_unconfirmed: bool = True,
        ssl_ctx: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not token:
            raise ValueError("a MAX bot token is required")
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.window = RequestWindow(rate, period, clock)
        self._per_chat = KeyedWindows(per_chat_rate, 1.0, clock) if per_chat_rate else None
        self._timeout = timeout
        self.retry = retry or RetryPolicy()
        self.resend_unconfirmed = resend_unconfirmed
        self._ssl = ssl_ctx
        self._sleep = sleep
        self._rng = rng
        self._session: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------ session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> MaxApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if self._ssl is None:
                self._ssl = ssl_context()
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            )
        return self._session

    # ------------------------------------------------------------------ requests

    async def call(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        idempotent: bool = True,
        timeout: float | None = None,
        chat_key: Any = None,
    ) -> dict[str, Any]:
        """One API request with the rate window and retries; the JSON answer on 200.

        `idempotent=False` (a new message) resends an unconfirmed request only if
        `resend_unconfirmed`; `chat_key` also holds the per-dialog window."""
        retries = 0
        while True:
            try:
                chat_slot = (self._per_chat.slot(chat_key) if self._per_chat and chat_key
                             is not None else contextlib.nullcontext())
                async with chat_slot, self.window.slot():
                    return await self._once(method, path, query, body, timeout)
            except MaxRateLimitError as exc:
                error: MaxError = exc
                pause_hint = exc.retry_after
            except MaxServerError as exc:
                if not (idempotent or self.resend_unconfirmed):
                    raise
                error, pause_hint = exc, None
            except MaxTransportError as exc:
                if exc.sent and not (idempotent or self.resend_unconfirmed):
                    raise
                error, pause_hint = exc, None
            retries += 1
            if retries >= self.retry.attempts:
                raise error
            pause = self.retry.delay(retries, self._rng)
            if pause_hint is not None:
                pause = max(pause, min(pause_hint, self.retry.max_delay))
            log.warning("MAX %s %s: %s; retry %d in %.2f s", method, path,
                        type(error).__name__, retries, pause)
            await self._sleep(pause)

    async def _once(self, method: str, path: str, query: dict[str, Any] | None, body: Any,
                    timeout: float | None) -> dict[str, Any]:
        headers = {"Authorization": self._token}
        params = _encode_query(query)
        kwargs: dict[str, Any] = {"headers": headers, "params": params}
        if body is not None:
            kwargs["data"] = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        if timeout is not None:
            kwargs["timeout"] = aiohttp.ClientTimeout(total=timeout)
        try:
            async with self._http().request(method, self.base_url + path, **kwargs) as resp:
                status = resp.status
                raw = await resp.read()
                retry_after = _retry_after(resp.headers.get("Retry-After"))
        except aiohttp.ClientConnectorError as exc:
            raise MaxTransportError(f"{method} {path}: cannot connect: {exc}", sent=False) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise MaxTransportError(f"{method} {path}: {type(exc).__name__}", sent=True) from exc
        try:
            data = json.loads(raw.decode("utf-8")) if raw else None
        except (ValueError, UnicodeDecodeError):
            data = None
        if status == 200:
            if not isinstance(data, dict):
                raise MaxTransportError(f"{method} {path}: HTTP 200, not a JSON object", sent=True)
            return data
        code, message = f"http.{status}", ""
        if isinstance(data, dict):
            code = str(data.get("code") or code)
            message = str(data.get("message") or data.get("error") or "")
        raise error_for(status, code, message, retry_after)

    @staticmethod
    def _check_success(result: dict[str, Any], what: str) -> None:
        if result.get("success") is not True:
            raise MaxApiError(200, "success.false", f"{what}: {result.get('message') or ''}")

    async def _not_ready_retries(self, request: Callable[[], Awaitable[dict[str, Any]]],
                                 ) -> dict[str, Any]:
        """Run `request` again while MAX says an uploaded attachment is not processed yet."""
        tries = 0
        while True:
            try:
                return await request()
            except MaxAttachmentNotReadyError:
                tries += 1
                if tries >= self.retry.not_ready_attempts:
                    raise
                await self._sleep(self.retry.not_ready_pause(tries))

    # ------------------------------------------------------------------ bot

    async def get_me(self) -> dict[str, Any]:
        """BotInfo: user_id, first_name, username, is_bot, … [S]."""
        return await self.call("GET", "/me")

    # ------------------------------------------------------------------ updates

    async def get_updates(
        self,
        marker: int | None = None,
        timeout: int = 30,
        limit: int = 100,
        types: Iterable[str] | None = None,
    ) -> Updates:
        """Long poll. Passing `marker` commits every update before it, so pass the marker of
        a batch only after that batch is handled and persisted (MAX_PROTOCOL.md §2)."""
        timeout = max(0, min(int(timeout), POLL_TIMEOUT_MAX))
        query: dict[str, Any] = {"limit": max(1, min(int(limit), POLL_LIMIT_MAX)),
                                 "timeout": timeout}
        if marker is not None:
            query["marker"] = marker
        if types:
            query["types"] = ",".join(types)
        result = await self.call("GET", "/updates", query=query,
                                 timeout=timeout + self._timeout)
        updates = result.get("updates") or []
        new_marker = result.get("marker")
        # An empty batch must not move the marker back (Go client bug #159 returned 0).
        if not isinstance(new_marker, int) or new_marker <= 0:
            new_marker = marker
        return Updates(list(updates), new_marker)

    # ------------------------------------------------------------------ messages

    async def send_message(
        self,
        user_id: int,
        text: str | None = None,
        *,
        attachments: Sequence[dict[str, Any]] | None = None,
        keyboard: Any = None,
        format: Format | None = None,
        notify: bool = True,
        disable_link_preview: bool | None = None,
        resend_unconfirmed: bool | None = None,
    ) -> dict[str, Any]:
        """POST /messages?user_id=… → the sent Message (its id is `message["body"]["mid"]`)."""
        body = message_body(text, attachments, keyboard, format, notify)
        if not body.get("text") and not body.get("attachments"):
            raise ValueError("a message needs text or attachments")
        query: dict[str, Any] = {"user_id": int(user_id)}
        if disable_link_preview is not None:
            query["disable_link_preview"] = disable_link_preview
        resend = self.resend_unconfirmed if resend_unconfirmed is None else resend_unconfirmed

        async def post() -> dict[str, Any]:
            return await self.call("POST", "/messages", query=query, body=body,
                                   idempotent=resend, chat_key=("user", int(user_id)))

        result = await self._not_ready_retries(post)
        return dict(result.get("message") or {})

    async def edit_message(
        self,
        mid: str,
        text: str | None = None,
        *,
        attachments: Sequence[dict[str, Any]] | None = None,
        keyboard: Any = None,
        format: Format | None = None,
    ) -> None:
        """PUT /messages?message_id=…. attachments=None keeps the message's attachments (and
        keyboard); a keyboard or a list replaces all of them; [] removes them [S]."""
        body = message_body(text, attachments, keyboard, format)

        async def put() -> dict[str, Any]:
            return await self.call("PUT", "/messages", query={"message_id": mid}, body=body)

        self._check_success(await self._not_ready_retries(put), "edit")

    async def delete_message(self, mid: str) -> None:
        result = await self.call("DELETE", "/messages", query={"message_id": mid})
        self._check_success(result, "delete")

    async def answer_callback(
        self,
        callback_id: str,
        notification: str | None = None,
        message: dict[str, Any] | None = None,
        *,
        user_id: int | None = None,
    ) -> None:
        """POST /answers?callback_id=…: a one-time notice and/or a new body for the message that
        holds the keyboard (build it with message_body). With `user_id` (the presser) the
        answer also keeps MAX's ≤2 callback answers/s per dialog [D POST/answers]."""
        if notification is None and message is None:
            raise ValueError("an answer needs a notification or a message")
        body: dict[str, Any] = {}
        if notification is not None:
            body["notification"] = notification
        if message is not None:
            body["message"] = message
        result = await self.call("POST", "/answers", query={"callback_id": callback_id},
                                 body=body,
                                 chat_key=("answer", user_id) if user_id is not None else None)
        self._check_success(result, "answer")

    async def send_action(self, chat_id: int, action: str = "typing_on") -> None:
        result = await self.call("POST", f"/chats/{int(chat_id)}/actions",
                                 body={"action": action})
        self._check_success(result, "action")

    # ------------------------------------------------------------------ uploads

    async def upload(self, kind: UploadKind, data: bytes, filename: str,
                     content_type: str | None = None) -> str:
        """The upload flow [S][G upload.go]: POST /uploads?type=… gives a URL, the bytes go
        there as multipart field `data`, the answer (or step 1 for video/audio) holds the token.
        A failed transfer starts over with a fresh URL (one file per URL)."""
        content_type = content_type or mimetypes.guess_type(filename)[0] or \
            "application/octet-stream"
        retries = 0
        while True:
            endpoint = await self.call("POST", "/uploads", query={"type": kind})
            try:
                return await self._transfer(kind, endpoint, data, filename, content_type)
            except (MaxTransportError, MaxServerError) as exc:
                retries += 1
                if retries >= self.retry.attempts:
                    raise
                log.warning("MAX upload: %s; retry %d", type(exc).__name__, retries)
                await self._sleep(self.retry.delay(retries, self._rng))

    async def _transfer(self, kind: str, endpoint: dict[str, Any], data: bytes, filename: str,
                        content_type: str) -> str:
        url = endpoint.get("url")
        if not isinstance(url, str) or not url:
            raise MaxApiError(200, "upload.no.url", "POST /uploads gave no url")
        form = aiohttp.FormData()
        form.add_field("data", data, filename=filename, content_type=content_type)
        # No Authorization header: the upload host is not the API (the Go client sends none).
        try:
            async with self._http().post(url, data=form) as resp:
                status, raw = resp.status, await resp.read()
        except aiohttp.ClientConnectorError as exc:
            raise MaxTransportError(f"upload: cannot connect: {exc}", sent=False) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise MaxTransportError(f"upload: {type(exc).__name__}", sent=True) from exc
        if kind in ("video", "audio"):
            if status != 200:
                raise error_for(status, f"http.{status}", "upload failed")
            token = endpoint.get("token")  # the answer is XML; step 1 holds the token
        else:
            try:
                answer = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                answer = None
            if status != 200 or not isinstance(answer, dict):
                code = answer.get("code") if isinstance(answer, dict) else None
                raise error_for(status if status != 200 else 502, str(code or f"http.{status}"),
                                "upload failed")
            if kind == "image":
                photos = answer.get("photos") or {}
                token = next((p.get("token") for p in photos.values()
                              if isinstance(p, dict)), None) if isinstance(photos, dict) else None
            else:
                token = answer.get("token")
        if not isinstance(token, str) or not token:
            raise MaxApiError(200, "upload.no.token", f"the {kind} upload gave no token")
        return token

    async def upload_image(self, data: bytes, filename: str = "image.png") -> dict[str, Any]:
        """Upload a picture (PNG chart); the attachment to put into a message."""
        token = await self.upload("image", data, filename)
        return {"type": "image", "payload": {"token": token}}

    async def upload_file(self, data: bytes, filename: str) -> dict[str, Any]:
        """Upload a document (XLSX/CSV); send it as a message of its own [S]."""
        token = await self.upload("file", data, filename)
        return {"type": "file", "payload": {"token": token}}

    # ------------------------------------------------------------------ webhooks

    async def subscribe(self, url: str, secret: str | None = None,
                        update_types: Iterable[str] | None = None) -> None:
        """POST /subscriptions: MAX pushes updates to `url` (https, port 443) with `secret` in
        X-Max-Bot-Api-Secret; polling then gets nothing."""
        body: dict[str, Any] = {"url": url}
        if secret is not None:
            body["secret"] = secret
        if update_types is not None:
            body["update_types"] = list(update_types)
        self._check_success(await self.call("POST", "/subscriptions", body=body), "subscribe")

    async def list_subscriptions(self) -> list[dict[str, Any]]:
        result = await self.call("GET", "/subscriptions")
        return list(result.get("subscriptions") or [])

    async def unsubscribe(self, url: str) -> None:
        result = await self.call("DELETE", "/subscriptions", query={"url": url})
        self._check_success(result, "unsubscribe")


def _encode_query(query: dict[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (query or {}).items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


__all__ = [
    "DEFAULT_BASE_URL",
    "TEXT_MAX",
    "split_text",
    "MaxApi",
    "MessageTooLongError",
    "RetryPolicy",
    "Updates",
    "message_body",
]
