"""A local emulator of the MAX Bot API (platform-api2.max.ru), for tests and the sandbox.

The bot's MAX client talks to it over HTTP on 127.0.0.1 as it would to MAX. Behaviour follows
/work/shared/MAX_PROTOCOL.md; where MAX documents nothing, the choice is marked "[A]" here.

- Auth: `Authorization: <token>`; a bad token is 401 `verify.token`; `access_token` in the query
  is 403 `deprecated.token` (§1).
- Rate: a sliding 1-second window per token (30 by default); over it, HTTP 429. Refused requests
  do not count [A]. Every API request is logged with its arrival time (`calls`), so tests and the
  bench can check "never more than 30 in any second" from the server's side.
- Updates: numbered; `marker` is the number of the next update; passing a marker commits (drops)
  everything before it; without a marker, all uncommitted updates (the schema's reading; the
  dev.max.ru reading, "only the last update", is `no_marker="last"`) (§2).
- Webhooks: while a subscription exists, updates are pushed to its URL (with the secret header)
  and polling gets nothing; a push is retried until a 200, with exponential backoff, and after
  `webhook_max_age` seconds of failures the subscription is removed, as MAX does after 8 hours.
  Pushes go one at a time in order, a failing one holding back the rest [A].
- Messages: ≤4000 characters, ≤12 attachments, keyboard limits (keyboard.py); 403 `chat.denied`
  to a person who stopped the bot or never started it [A: exact body unconfirmed, §7].
  The codes of 400s other than `attachment.not.ready` are not documented: `proto.payload` [A].
- Uploads: POST /uploads → URL on this server → multipart field `data` → token; the first
  `not_ready_times` sends of a new token get 400 `attachment.not.ready` (§6).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from .keyboard import button_labels, keyboard_error

TEXT_MAX = 4000
ATTACHMENTS_MAX = 12
POLL_TIMEOUT_MAX = 90
POLL_LIMIT_MAX = 1000
DEEP_LINK_PAYLOAD_MAX = 128  # [D help/deeplinks]: a longer start payload is dropped
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{5,256}")
UPLOAD_TYPES = ("image", "video", "audio", "file")
ATTACHMENT_TYPES = frozenset({"image", "video", "audio", "file", "sticker", "contact",
                              "inline_keyboard", "location", "share"})
BAD_REQUEST = "proto.payload"  # [A] the code of a 400 for an invalid request
FIRST_MARKER = 25_493_970  # markers are int64; start where a real one looked (Go stabs)


class MaxEmuError(Exception):
    """An API error answered as HTTP `status` with `{"code", "message"}`."""

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(slots=True)
class ApiCall:
    """One HTTP request the emulator received (API or upload)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    arrived: float  # time.monotonic() on arrival: the rate window's clock
    status: int = 200
    code: str | None = None
    dropped: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.dropped


@dataclass(slots=True)
class ReceivedMessage:
    """A message the bot sent to a person (what they see)."""

    mid: str
    seq: int
    user_id: int
    chat_id: int
    text: str
    timestamp: int  # ms
    order: int
    attachments: list[dict[str, Any]] = field(default_factory=list)
    keyboard: dict[str, Any] | None = None  # the inline_keyboard payload
    format: str | None = None
    notify: bool = True
    edits: list[str] = field(default_factory=list)
    deleted: bool = False
    # file names of uploaded attachments, for transcripts
    files: list[str] = field(default_factory=list)

    @property
    def buttons(self) -> list[str]:
        return button_labels(self.keyboard)

    @property
    def inline(self) -> bool:
        """Every MAX keyboard is inline (there is no keyboard under the input field)."""
        return self.keyboard is not None


@dataclass(slots=True)
class CallbackAnswer:
    """A POST /answers: a notice and/or a new body for the pressed keyboard's message."""

    callback_id: str
    user_id: int
    mid: str | None
    notification: str | None
    message: dict[str, Any] | None
    order: int


@dataclass(slots=True)
class WebhookPush:
    url: str
    update_type: str
    status: int | None  # None: no HTTP answer (connection failed or timed out)
    secret_sent: bool
    time: float


@dataclass(slots=True)
class _Signal:
    event: asyncio.Event | None = None

    def get(self) -> asyncio.Event:
        if self.event is None:
            self.event = asyncio.Event()
        return self.event

    def notify(self) -> None:
        event, self.event = self.event, None
        if event is not None:
            event.set()


@dataclass(slots=True)
class _User:
    user_id: int
    chat_id: int
    first_name: str
    last_name: str | None
    username: str | None
    locale: str
    status: str = "none"  # none (never started) | active | stopped
    last_activity: int = 0
    inbox: list[ReceivedMessage] = field(default_factory=list)
    signal: _Signal = field(default_factory=_Signal)


@dataclass(slots=True)
class _Upload:
    kind: str
    filename: str
    data: bytes
    not_ready_left: int


@dataclass(slots=True)
class _Subscription:
    url: str
    secret: str | None
    update_types: list[str] | None
    time: int
    queue: deque[dict[str, Any]] = field(default_factory=deque)
    wake: _Signal = field(default_factory=_Signal)
    task: asyncio.Task[None] | None = None


@dataclass(slots=True)
class _Fault:
    path: str
    method: str | None
    remaining: int
    status: int = 0
    code: str = ""
    message: str = ""
    drop: bool = False
    after_processing: bool = False
    user_id: int | None = None


Handler = Callable[[web.Request, dict[str, str], Any], Awaitable[Any]]


class MaxEmulator:
    """MAX Bot API for one bot, on 127.0.0.1."""

    def __init__(
        self,
        token: str = "max-test-token",
        bot_id: int = 229_229_229,
        bot_name: str = "Sferum onboarding",
        bot_username: str = "sferum_help_bot",
        rate_limit: int | None = 30,
        long_poll_cap: float | None = None,
        no_marker: str = "all",
        not_ready_times: int = 1,
        webhook_retry_base: float = 0.05,
        webhook_retry_cap: float = 2.0,
        webhook_max_age: float = 8 * 3600.0,
        webhook_timeout: float = 10.0,
        history_limit: int = 100_000,
        record_calls: bool = True,
        latency: float = 0.0,
    ) -> None:
        if no_marker not in ("all", "last"):
            raise ValueError("no_marker is 'all' or 'last'")
        self.tokens = {token}
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.bot_username = bot_username
        self.rate_limit = rate_limit
        self.long_poll_cap = long_poll_cap
        self.no_marker = no_marker
        self.not_ready_times = not_ready_times
        self.webhook_retry_base = webhook_retry_base
        self.webhook_retry_cap = webhook_retry_cap
        self.webhook_max_age = webhook_max_age
        self.webhook_timeout = webhook_timeout
        self.history_limit = history_limit
        self.record_calls = record_calls
        # A simulated network round trip (the bench's): half before a request "arrives",
        # half before its answer leaves.
        self.latency = latency

        self.calls: list[ApiCall] = []
        self.answers: list[CallbackAnswer] = []
        self.webhook_log: list[WebhookPush] = []
        self.listeners: list[Callable[[str, Any], None]] = []

        self._users: dict[int, _User] = {}
        self._by_chat: dict[int, _User] = {}
        self._messages: dict[str, ReceivedMessage] = {}
        self._seq = itertools.count(116_328_147_937_082_782)
        self._order = itertools.count(1)
        self._clock_offset_ms = 0
        self._changed = _Signal()

        self._updates: list[dict[str, Any]] = []
        self._first_num = FIRST_MARKER
        self._next_num = FIRST_MARKER
        self._updates_signal = _Signal()
        self._polling = 0
        self._poller_signal = _Signal()

        self._callbacks: dict[str, tuple[int, str | None]] = {}
        self._upload_urls: dict[str, str] = {}
        self._uploads: dict[str, _Upload] = {}
        self._subscriptions: dict[str, _Subscription] = {}
        self._faults: list[_Fault] = []
        self._window: dict[str, deque[float]] = {}

        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._port = 0
        self._closing = False

    # ------------------------------------------------------------------ lifecycle

    async def start(self, port: int = 0) -> MaxEmulator:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        api = self._api
        app.router.add_get("/me", api(self._get_me))
        app.router.add_get("/updates", api(self._get_updates))
        app.router.add_post("/messages", api(self._post_message))
        app.router.add_put("/messages", api(self._put_message))
        app.router.add_delete("/messages", api(self._delete_message))
        app.router.add_get("/messages/{mid}", api(self._get_message))
        app.router.add_post("/answers", api(self._post_answer))
        app.router.add_post("/uploads", api(self._post_uploads))
        app.router.add_post("/chats/{chat_id}/actions", api(self._post_action))
        app.router.add_post("/subscriptions", api(self._post_subscription))
        app.router.add_get("/subscriptions", api(self._get_subscriptions))
        app.router.add_delete("/subscriptions", api(self._delete_subscription))
        app.router.add_post("/upload/{key}", self._handle_upload)
        app.router.add_route("*", "/{tail:.*}", api(self._not_found))
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0,
                                     handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server  # aiohttp exposes the bound port only here
        assert server is not None and server.sockets
        self._port = server.sockets[0].getsockname()[1]
        self._http = aiohttp.ClientSession()
        self._closing = False
        return self

    async def stop(self) -> None:
        self._closing = True
        self._updates_signal.notify()
        for sub in list(self._subscriptions.values()):
            await self._cancel_delivery(sub)
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> MaxEmulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What the client takes as its base URL (instead of https://platform-api2.max.ru)."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def token(self) -> str:
        return next(iter(self.tokens))

    # ------------------------------------------------------------------ clock

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self._clock_offset_ms

    def advance_clock(self, seconds: float) -> None:
        self._clock_offset_ms += int(seconds * 1000)

    def next_order(self) -> int:
        """A position in the global order of what happened (for transcripts)."""
        return next(self._order)

    # ------------------------------------------------------------------ people

    def add_user(self, user_id: int, first_name: str | None = None,
                 last_name: str | None = None, username: str | None = None,
                 locale: str = "ru") -> None:
        user = self._ensure_user(user_id)
        if first_name is not None:
            user.first_name = first_name
        if last_name is not None:
            user.last_name = last_name
        if username is not None:
            user.username = username
        user.locale = locale

    def _ensure_user(self, user_id: int) -> _User:
        user = self._users.get(user_id)
        if user is None:
            # Dialog chat ids are separate int64 numbers in MAX; derive one per person.
            chat_id = 182_000_000_000 + user_id
            user = _User(user_id, chat_id, f"User{user_id}", None, None, "ru")
            self._users[user_id] = user
            self._by_chat[chat_id] = user
        return user

    def export_users(self) -> list[dict[str, Any]]:
        """What MAX remembers about each person across a bot restart (for a sandbox kept in a
        file): names, locale and whether their dialog with the bot is open or stopped."""
        return [{"user_id": u.user_id, "first_name": u.first_name, "last_name": u.last_name,
                 "username": u.username, "locale": u.locale, "status": u.status}
                for u in self._users.values()]

    def import_users(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            user = self._ensure_user(int(row["user_id"]))
            user.first_name = str(row.get("first_name") or user.first_name)
            user.last_name = row.get("last_name")
            user.username = row.get("username")
            user.locale = str(row.get("locale") or "ru")
            status = row.get("status", "none")
            user.status = status if status in ("none", "active", "stopped") else "none"

    def user_status(self, user_id: int) -> str:
        """none (never started the bot), active, or stopped."""
        user = self._users.get(user_id)
        return user.status if user else "none"

    def chat_id_of(self, user_id: int) -> int:
        return self._ensure_user(user_id).chat_id

    def _user_object(self, user: _User) -> dict[str, Any]:
        name = " ".join(p for p in (user.first_name, user.last_name) if p)
        return {"user_id": user.user_id, "first_name": user.first_name,
                "last_name": user.last_name, "username": user.username, "is_bot": False,
                "last_activity_time": user.last_activity or self.now_ms(), "name": name}

    def _bot_object(self) -> dict[str, Any]:
        return {"user_id": self.bot_id, "first_name": self.bot_name, "last_name": None,
                "username": self.bot_username, "is_bot": True,
                "last_activity_time": self.now_ms(), "name": self.bot_name}

    # ------------------------------------------------------------------ what people do

    def user_started(self, user_id: int, payload: str | None = None) -> dict[str, Any]:
        """The person presses «Начать» (from a deep link ?start=<payload> or the bot's page)."""
        user = self._ensure_user(user_id)
        user.status = "active"
        user.last_activity = self.now_ms()
        if payload is not None and len(payload) > DEEP_LINK_PAYLOAD_MAX:
            payload = None  # [D]: a longer start parameter is dropped
        return self._push({"update_type": "bot_started", "timestamp": self.now_ms(),
                           "chat_id": user.chat_id, "user": self._user_object(user),
                           "user_id": user_id, "payload": payload,
                           "user_locale": user.locale})

    def user_stopped(self, user_id: int) -> dict[str, Any]:
        """The person stops (blocks) the bot: sends to them fail with 403 from now on."""
        user = self._ensure_user(user_id)
        user.status = "stopped"
        return self._push({"update_type": "bot_stopped", "timestamp": self.now_ms(),
                           "chat_id": user.chat_id, "user": self._user_object(user),
                           "user_locale": user.locale})

    def user_message(self, user_id: int, text: str | None,
                     attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The person writes in the dialog with the bot: message_created."""
        user = self._ensure_user(user_id)
        if user.status != "active":
            raise RuntimeError(f"user {user_id} has no open dialog with the bot "
                               f"({user.status}): start it first")
        now = self.now_ms()
        user.last_activity = now
        message = {
            "sender": self._user_object(user),
            "recipient": {"chat_id": user.chat_id, "chat_type": "dialog", "user_id": self.bot_id},
            "timestamp": now,
            "body": {"mid": _new_mid(), "seq": next(self._seq), "text": text,
                     "attachments": list(attachments) if attachments else None},
        }
        return self._push({"update_type": "message_created", "timestamp": now,
                           "message": message, "user_locale": user.locale})

    def user_callback(self, user_id: int, payload: str,
                      message: ReceivedMessage | None) -> dict[str, Any]:
        """The person presses a callback button of `message`: message_callback."""
        user = self._ensure_user(user_id)
        if user.status != "active":
            raise RuntimeError(f"user {user_id} cannot press buttons: dialog is {user.status}")
        now = self.now_ms()
        user.last_activity = now
        callback_id = secrets.token_urlsafe(72)
        self._callbacks[callback_id] = (user_id, message.mid if message else None)
        return self._push({
            "update_type": "message_callback", "timestamp": now,
            "callback": {"timestamp": now, "callback_id": callback_id, "payload": payload,
                         "user": self._user_object(user)},
            "message": self._message_object(message) if message else None,
            "user_locale": user.locale,
        })

    def _push(self, update: dict[str, Any]) -> dict[str, Any]:
        kind = update["update_type"]
        if self._subscriptions:
            for sub in self._subscriptions.values():
                if sub.update_types is None or kind in sub.update_types:
                    sub.queue.append(update)
                    sub.wake.notify()
        else:
            self._updates.append(update)
            self._next_num += 1
            if len(self._updates) > self.history_limit:  # retention [A]: oldest go first
                cut = len(self._updates) - self.history_limit
                del self._updates[:cut]
                self._first_num += cut
            self._updates_signal.notify()
        return update

    # ------------------------------------------------------------------ views for tests

    def inbox(self, user_id: int) -> list[ReceivedMessage]:
        user = self._users.get(user_id)
        return list(user.inbox) if user else []

    def inbox_size(self, user_id: int) -> int:
        user = self._users.get(user_id)
        return len(user.inbox) if user else 0

    def message(self, mid: str) -> ReceivedMessage | None:
        return self._messages.get(mid)

    def answers_of(self, user_id: int) -> list[CallbackAnswer]:
        return [a for a in self.answers if a.user_id == user_id]

    def upload_of(self, token: str) -> tuple[str, str, bytes] | None:
        """(kind, filename, bytes) of an uploaded token."""
        upload = self._uploads.get(token)
        return (upload.kind, upload.filename, upload.data) if upload else None

    def api_calls(self, method: str | None = None, path: str | None = None) -> list[ApiCall]:
        return [c for c in self.calls if not c.path.startswith("/upload/")
                and (method is None or c.method == method) and (path is None or c.path == path)]

    def max_requests_in_window(self, window: float = 1.0) -> int:
        """The most API requests that arrived within any `window` seconds (a half-open
        interval [t, t + window)), counting every request, refused ones too."""
        times = sorted(c.arrived for c in self.api_calls())
        best = start = 0
        for end, t in enumerate(times):
            while t - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    @property
    def pending_updates(self) -> int:
        """Updates not yet committed by a poll with a later marker."""
        return len(self._updates)

    @property
    def polling_clients(self) -> int:
        return self._polling

    @property
    def subscriptions(self) -> list[str]:
        return list(self._subscriptions)

    def webhook_backlog(self) -> int:
        return sum(len(s.queue) for s in self._subscriptions.values())

    def add_listener(self, listener: Callable[[str, Any], None]) -> None:
        """listener(kind, obj): "message"/"edit" (ReceivedMessage), "answer", "push"."""
        self.listeners.append(listener)

    # ------------------------------------------------------------------ waiting

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait until predicate() holds, re-checked after every change the emulator sees."""
        return await _wait(lambda: self._changed, predicate, timeout)

    async def wait_for_user(self, user_id: int, predicate: Callable[[], bool],
                            timeout: float = 5.0) -> bool:
        user = self._ensure_user(user_id)
        return await _wait(lambda: user.signal, predicate, timeout)

    async def wait_for_poll(self, timeout: float = 5.0) -> None:
        """Wait until a client is parked in GET /updates (the bot is listening)."""
        if not await _wait(lambda: self._poller_signal, lambda: self._polling > 0, timeout):
            raise TimeoutError(f"no client polled GET /updates within {timeout} s")

    def _notify(self, kind: str, obj: Any, user: _User | None = None) -> None:
        if user is not None:
            user.signal.notify()
        self._changed.notify()
        for listener in self.listeners:
            listener(kind, obj)

    # ------------------------------------------------------------------ fault injection

    def inject_error(self, path: str, status: int, code: str = "", message: str = "",
                     count: int = 1, method: str | None = None,
                     user_id: int | None = None) -> None:
        """The next `count` requests to `path` (optionally of `method`, or addressed to
        `user_id`) are answered `status` with `{"code", "message"}` and not carried out."""
        code = code or {429: "too.many.requests", 500: "internal.error",
                        503: "service.unavailable"}.get(status, f"http.{status}")
        self._faults.append(_Fault(path, method, count, status, code, message,
                                   user_id=user_id))

    def drop_connections(self, path: str, count: int = 1, method: str | None = None,
                         after_processing: bool = False) -> None:
        """The next `count` requests to `path` lose their connection with no answer;
        after_processing=True carries the request out first (a lost answer)."""
        self._faults.append(_Fault(path, method, count, drop=True,
                                   after_processing=after_processing))

    def clear_faults(self) -> None:
        self._faults.clear()

    def _take_fault(self, method: str, path: str, query: dict[str, str]) -> _Fault | None:
        for fault in self._faults:
            if fault.path != path or (fault.method and fault.method != method):
                continue
            if fault.user_id is not None and query.get("user_id") != str(fault.user_id):
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            return fault
        return None

    # ------------------------------------------------------------------ HTTP plumbing

    def _api(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            if self.latency:
                await asyncio.sleep(self.latency / 2)
            response = await handle(request)
            if self.latency:
                await asyncio.sleep(self.latency / 2)
            return response

        async def handle(request: web.Request) -> web.StreamResponse:
            arrived = time.monotonic()
            query = dict(request.query)
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except (ValueError, UnicodeDecodeError):
                body = _BAD_JSON
            call = ApiCall(request.method, request.path, query,
                           None if body is _BAD_JSON else body, arrived)
            if self.record_calls:
                self.calls.append(call)
            fault = self._take_fault(request.method, request.path, query) if self._faults \
                else None
            if fault is not None and fault.drop and not fault.after_processing:
                call.dropped = True
                return _drop(request)
            try:
                if "access_token" in query:
                    raise MaxEmuError(403, "deprecated.token",
                                      "Access token in query is deprecated, use the "
                                      "Authorization header")
                if request.headers.get("Authorization") not in self.tokens:
                    raise MaxEmuError(401, "verify.token", "Invalid access_token")
                self._check_rate(request.headers["Authorization"], arrived)
                if fault is not None and not fault.drop:
                    raise MaxEmuError(fault.status, fault.code, fault.message)
                if body is _BAD_JSON:
                    raise MaxEmuError(400, BAD_REQUEST, "body is not valid JSON")
                result = await handler(request, query, body)
            except MaxEmuError as exc:
                call.status, call.code = exc.status, exc.code
                self._changed.notify()
                return _json({"code": exc.code, "message": exc.message}, exc.status)
            if fault is not None and fault.drop:  # carried out, the answer is lost
                call.dropped = True
                return _drop(request)
            self._changed.notify()
            return _json(result)

        return endpoint

    def _check_rate(self, token: str, arrived: float) -> None:
        if not self.rate_limit:
            return
        window = self._window.setdefault(token, deque())
        while window and arrived - window[0] >= 1.0:
            window.popleft()
        if len(window) >= self.rate_limit:
            raise MaxEmuError(429, "too.many.requests",  # [A] the code; the status is [S]
                              f"Too many requests: more than {self.rate_limit} per second")
        window.append(arrived)

    async def _not_found(self, request: web.Request, query: dict[str, str], body: Any) -> Any:
        raise MaxEmuError(404, "not.found", f"Path {request.path} not found")

    # ------------------------------------------------------------------ /me, actions

    async def _get_me(self, request: web.Request, query: dict[str, str], body: Any) -> Any:
        return {**self._bot_object(), "description": "Sferum onboarding helper (emulated)",
                "avatar_url": None, "full_avatar_url": None}

    async def _post_action(self, request: web.Request, query: dict[str, str], body: Any) -> Any:
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        if chat_id not in self._by_chat:
            raise MaxEmuError(404, "chat.not.found", f"Chat {chat_id} not found")
        if not isinstance(body, dict) or not isinstance(body.get("action"), str):
            raise MaxEmuError(400, BAD_REQUEST, "action is required")
        return {"success": True}

    # ------------------------------------------------------------------ /updates

    async def _get_updates(self, request: web.Request, query: dict[str, str], body: Any) -> Any:
        limit = _int(query.get("limit", "100"), "limit")
        timeout = _int(query.get("timeout", "30"), "timeout")
        if not 1 <= limit <= POLL_LIMIT_MAX or not 0 <= timeout <= POLL_TIMEOUT_MAX:
            raise MaxEmuError(400, BAD_REQUEST, "limit is 1..1000 and timeout 0..90")
        marker = _int(query["marker"], "marker") if query.get("marker") else None
        types = {t for t in query.get("types", "").split(",") if t} or None
        wait = float(timeout) if self.long_poll_cap is None else min(timeout, self.long_poll_cap)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            if self._subscriptions:  # polling gets nothing while a webhook is set [S][D]
                batch, new_marker = [], marker
            else:
                batch, new_marker = self._take_batch(marker, limit, types)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing:
                return {"updates": batch, "marker": new_marker}
            event = self._updates_signal.get()
            self._set_polling(+1)
            try:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await event.wait()
            finally:
                self._set_polling(-1)

    def _take_batch(self, marker: int | None, limit: int,
                    types: set[str] | None) -> tuple[list[dict[str, Any]], int]:
        if marker is not None:
            # The marker commits every update before it: they are gone for good.
            cut = min(max(marker, self._first_num), self._next_num) - self._first_num
            if cut > 0:
                del self._updates[:cut]
                self._first_num += cut
            start = self._first_num if marker < self._first_num else \
                min(marker, self._next_num)
        elif self.no_marker == "last":
            start = max(self._first_num, self._next_num - 1)
        else:
            start = self._first_num
        batch: list[dict[str, Any]] = []
        num = start
        while num < self._next_num and len(batch) < limit:
            update = self._updates[num - self._first_num]
            num += 1
            if types is None or update["update_type"] in types:
                batch.append(update)
        return batch, num

    def _set_polling(self, delta: int) -> None:
        self._polling += delta
        self._poller_signal.notify()
        self._changed.notify()

    # ------------------------------------------------------------------ /subscriptions

    async def _post_subscription(self, request: web.Request, query: dict[str, str],
                                 body: Any) -> Any:
        if not isinstance(body, dict) or not isinstance(body.get("url"), str):
            raise MaxEmuError(400, BAD_REQUEST, "url is required")
        url = body["url"]
        # Real MAX takes only https on port 443 with a trusted certificate; the emulator also
        # takes plain http to this machine, where tests listen.
        if not (url.startswith("https://") or url.startswith(("http://127.0.0.1",
                                                               "http://localhost"))):
            raise MaxEmuError(400, BAD_REQUEST, "url must be https")
        secret = body.get("secret")
        if secret is not None and (not isinstance(secret, str)
                                   or not SECRET_RE.fullmatch(secret)):
            raise MaxEmuError(400, BAD_REQUEST, "secret must be 5-256 characters [A-Za-z0-9_-]")
        types = body.get("update_types")
        if types is not None and (not isinstance(types, list)
                                  or not all(isinstance(t, str) for t in types)):
            raise MaxEmuError(400, BAD_REQUEST, "update_types must be a list of strings")
        old = self._subscriptions.pop(url, None)
        if old is not None:
            await self._cancel_delivery(old)
        sub = _Subscription(url, secret, types, self.now_ms())
        self._subscriptions[url] = sub
        sub.task = asyncio.create_task(self._deliver(sub))
        return {"success": True}

    async def _get_subscriptions(self, request: web.Request, query: dict[str, str],
                                 body: Any) -> Any:
        return {"subscriptions": [{"url": s.url, "time": s.time, "update_types": s.update_types}
                                  for s in self._subscriptions.values()]}

    async def _delete_subscription(self, request: web.Request, query: dict[str, str],
                                   body: Any) -> Any:
        url = query.get("url")
        if not url:
            raise MaxEmuError(400, BAD_REQUEST, "url is required")
        sub = self._subscriptions.pop(url, None)
        if sub is None:
            return {"success": False, "message": "subscription not found"}
        await self._cancel_delivery(sub)  # [A] undelivered pushes are dropped with it
        return {"success": True}

    async def _cancel_delivery(self, sub: _Subscription) -> None:
        if sub.task is not None and sub.task is not asyncio.current_task():
            sub.task.cancel()
            await asyncio.gather(sub.task, return_exceptions=True)
        sub.task = None

    async def _deliver(self, sub: _Subscription) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not sub.queue:
                await sub.wake.get().wait()
            update = sub.queue[0]
            failures = 0
            first_failure = 0.0
            while True:
                status = await self._push_once(sub, update)
                if status == 200:
                    sub.queue.popleft()
                    break
                failures += 1
                if failures == 1:
                    first_failure = loop.time()
                if loop.time() - first_failure >= self.webhook_max_age:
                    # MAX unsubscribes a bot whose webhook failed for 8 hours [D help/events].
                    self._subscriptions.pop(sub.url, None)
                    sub.task = None
                    self._changed.notify()
                    return
                pause = min(self.webhook_retry_cap,
                            self.webhook_retry_base * 2 ** (failures - 1))
                await asyncio.sleep(pause)

    async def _push_once(self, sub: _Subscription, update: dict[str, Any]) -> int | None:
        assert self._http is not None
        headers = {"Content-Type": "application/json"}
        if sub.secret is not None:
            headers["X-Max-Bot-Api-Secret"] = sub.secret
        status: int | None
        try:
            async with self._http.post(
                sub.url, data=json.dumps(update, ensure_ascii=False).encode(), headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
            ) as resp:
                status = resp.status
                await resp.read()
        except (aiohttp.ClientError, TimeoutError, OSError):
            status = None
        push = WebhookPush(sub.url, update["update_type"], status, sub.secret is not None,
                           time.monotonic())
        self.webhook_log.append(push)
        self._notify("push", push)
        return status

    # ------------------------------------------------------------------ /messages

    def _recipient(self, query: dict[str, str]) -> _User:
        if "user_id" in query:
            user = self._users.get(_int(query["user_id"], "user_id"))
        elif "chat_id" in query:
            user = self._by_chat.get(_int(query["chat_id"], "chat_id"))
        else:
            raise MaxEmuError(400, BAD_REQUEST, "user_id or chat_id is required")
        if user is None or user.status == "none":
            raise MaxEmuError(403, "chat.denied", "bot doesn't have access to chat")
        if user.status == "stopped":
            raise MaxEmuError(403, "chat.denied", "user suspended bot")
        return user

    def _validate_body(self, body: Any, *, new: bool) -> dict[str, Any]:
        """Check a NewMessageBody; returns the parsed parts."""
        if not isinstance(body, dict):
            raise MaxEmuError(400, BAD_REQUEST, "body must be a JSON object")
        text = body.get("text")
        if text is not None and not isinstance(text, str):
            raise MaxEmuError(400, BAD_REQUEST, "text must be a string")
        if text is not None and len(text) > TEXT_MAX:
            raise MaxEmuError(400, BAD_REQUEST, f"text: size must be between 0 and {TEXT_MAX}")
        fmt = body.get("format")
        if fmt not in (None, "markdown", "html"):
            raise MaxEmuError(400, BAD_REQUEST, "format must be markdown or html")
        attachments = body.get("attachments")
        keyboard: dict[str, Any] | None = None
        media: list[dict[str, Any]] = []
        files: list[str] = []
        if attachments is not None:
            if not isinstance(attachments, list):
                raise MaxEmuError(400, BAD_REQUEST, "attachments must be a list")
            if len(attachments) > ATTACHMENTS_MAX:
                raise MaxEmuError(400, BAD_REQUEST,
                                  f"attachments: size must be at most {ATTACHMENTS_MAX}")
            for item in attachments:
                if not isinstance(item, dict) or item.get("type") not in ATTACHMENT_TYPES:
                    raise MaxEmuError(400, BAD_REQUEST, "unknown attachment type")
                if item["type"] == "inline_keyboard":
                    if keyboard is not None:
                        raise MaxEmuError(400, BAD_REQUEST, "only one keyboard per message")
                    error = keyboard_error(item.get("payload"))
                    if error:
                        raise MaxEmuError(400, BAD_REQUEST, f"keyboard: {error}")
                    keyboard = item["payload"]
                else:
                    media.append(item)
            not_ready = False
            for item in media:
                if item["type"] in ("image", "file", "video", "audio"):
                    token = (item.get("payload") or {}).get("token")
                    upload = self._uploads.get(token) if isinstance(token, str) else None
                    if upload is None or upload.kind != item["type"]:
                        raise MaxEmuError(400, BAD_REQUEST, f"{item['type']}: invalid token")
                    files.append(upload.filename)
                    if upload.not_ready_left > 0:
                        upload.not_ready_left -= 1
                        not_ready = True
            if not_ready:
                raise MaxEmuError(400, "attachment.not.ready",
                                  "Key: errors.process.attachment.file.not.processed")
        if new and not (text or "").strip() and not media:
            raise MaxEmuError(400, BAD_REQUEST, "text or attachments are required")
        return {"text": text, "attachments": attachments, "media": media, "keyboard": keyboard,
                "format": fmt, "notify": body.get("notify", True) is not False, "files": files}

    def _message_object(self, msg: ReceivedMessage) -> dict[str, Any]:
        attachments = list(msg.attachments)
        if msg.keyboard is not None:
            attachments.append({"type": "inline_keyboard", "payload": msg.keyboard})
        return {
            "sender": self._bot_object(),
            "recipient": {"chat_id": msg.chat_id, "chat_type": "dialog", "user_id": msg.user_id},
            "timestamp": msg.timestamp,
            "body": {"mid": msg.mid, "seq": msg.seq, "text": msg.text,
                     "attachments": attachments or None},
        }

    async def _post_message(self, request: web.Request, query: dict[str, str],
                            body: Any) -> Any:
        user = self._recipient(query)
        parts = self._validate_body(body, new=True)
        msg = ReceivedMessage(
            mid=_new_mid(), seq=next(self._seq), user_id=user.user_id, chat_id=user.chat_id,
            text=parts["text"] or "", timestamp=self.now_ms(), order=self.next_order(),
            attachments=parts["media"], keyboard=parts["keyboard"], format=parts["format"],
            notify=parts["notify"], files=parts["files"],
        )
        user.inbox.append(msg)
        self._messages[msg.mid] = msg
        self._notify("message", msg, user)
        return {"message": self._message_object(msg)}

    def _find_message(self, mid: str | None) -> ReceivedMessage:
        msg = self._messages.get(mid or "")
        if msg is None or msg.deleted:
            raise MaxEmuError(404, "not.found", "message not found")
        return msg

    def _apply_edit(self, msg: ReceivedMessage, body: Any) -> None:
        parts = self._validate_body(body, new=False)
        if parts["text"] is not None:
            msg.edits.append(msg.text)
            msg.text = parts["text"]
        if parts["attachments"] is not None:  # null keeps them, [] removes them [S]
            msg.attachments = parts["media"]
            msg.keyboard = parts["keyboard"]
            msg.files = parts["files"]
        if parts["format"] is not None:
            msg.format = parts["format"]
        self._notify("edit", msg, self._users.get(msg.user_id))

    async def _put_message(self, request: web.Request, query: dict[str, str], body: Any) -> Any:
        msg = self._find_message(query.get("message_id"))
        self._apply_edit(msg, body)
        return {"success": True}

    async def _delete_message(self, request: web.Request, query: dict[str, str],
                              body: Any) -> Any:
        msg = self._find_message(query.get("message_id"))
        msg.deleted = True
        self._notify("edit", msg, self._users.get(msg.user_id))
        return {"success": True}

    async def _get_message(self, request: web.Request, query: dict[str, str], body: Any) -> Any:
        return self._message_object(self._find_message(request.match_info["mid"]))

    # ------------------------------------------------------------------ /answers

    async def _post_answer(self, request: web.Request, query: dict[str, str], body: Any) -> Any:
        callback_id = query.get("callback_id")
        if not callback_id:
            raise MaxEmuError(400, BAD_REQUEST, "callback_id is required")
        pending = self._callbacks.get(callback_id)
        if pending is None:
            raise MaxEmuError(404, "not.found", "callback not found")  # [A] the code
        if not isinstance(body, dict):
            raise MaxEmuError(400, BAD_REQUEST, "body must be a JSON object")
        notification, message = body.get("notification"), body.get("message")
        if notification is None and message is None:
            raise MaxEmuError(400, BAD_REQUEST, "message or notification is required")
        if notification is not None and not isinstance(notification, str):
            raise MaxEmuError(400, BAD_REQUEST, "notification must be a string")
        user_id, mid = pending
        if message is not None:
            if mid is None:
                raise MaxEmuError(400, BAD_REQUEST, "the callback has no message to change")
            self._apply_edit(self._find_message(mid), message)
        answer = CallbackAnswer(callback_id, user_id, mid, notification, message,
                                self.next_order())
        self.answers.append(answer)
        self._notify("answer", answer, self._users.get(user_id))
        return {"success": True}

    # ------------------------------------------------------------------ uploads

    async def _post_uploads(self, request: web.Request, query: dict[str, str], body: Any) -> Any:
        kind = query.get("type")
        if kind not in UPLOAD_TYPES:
            raise MaxEmuError(400, BAD_REQUEST, f"type must be one of {', '.join(UPLOAD_TYPES)}")
        key = secrets.token_urlsafe(16)
        self._upload_urls[key] = kind
        result: dict[str, Any] = {"url": f"{self.base_url}/upload/{key}"}
        if kind in ("video", "audio"):
            token = secrets.token_urlsafe(24)
            self._upload_urls[key] = f"{kind}:{token}"
            result["token"] = token
        return result

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        call = ApiCall(request.method, request.path, {}, None, time.monotonic())
        if self.record_calls:
            self.calls.append(call)
        target = self._upload_urls.pop(key, None)  # one file per URL
        if target is None:
            call.status = 404
            return _json({"code": "not.found", "message": "upload url is unknown or used"}, 404)
        kind, _, av_token = target.partition(":")
        form = await request.post()
        data = form.get("data")
        if data is None or isinstance(data, str):
            call.status = 400
            return _json({"code": BAD_REQUEST, "message": "multipart field data is missing"}, 400)
        content = data.file.read()
        token = av_token or secrets.token_urlsafe(32)
        self._uploads[token] = _Upload(kind, data.filename or "file", content,
                                       self.not_ready_times)
        if kind in ("video", "audio"):
            return web.Response(text="<retval>1</retval>", content_type="text/xml")
        if kind == "image":
            return _json({"photos": {secrets.token_hex(8): {"token": token}}})
        return _json({"token": token})


# ---------------------------------------------------------------------- helpers

_BAD_JSON = object()


async def _wait(signal: Callable[[], _Signal], predicate: Callable[[], bool],
                timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        event = signal().get()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(remaining):
                await event.wait()
    return True


def _new_mid() -> str:
    return "mid." + secrets.token_hex(16)


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MaxEmuError(400, BAD_REQUEST, f"{name} must be an integer") from None


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body, ensure_ascii=False), status=status,
                        content_type="application/json")


def _drop(request: web.Request) -> web.Response:
    # Close the socket under the handler: the client gets no HTTP answer at all.
    if request.transport is not None:
        request.transport.close()
    return web.Response()


__all__ = [
    "ApiCall",
    "CallbackAnswer",
    "MaxEmuError",
    "MaxEmulator",
    "ReceivedMessage",
    "WebhookPush",
]
