"""The MAX client (bot/max) against the MAX API emulator (bot/maxemu), over HTTP on 127.0.0.1.

Synchronisation is on facts the emulator records (a poll is parked, a push was answered, a
request was logged), never on sleeps. Backoff pauses of the client are shortened by its policy.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from bot.max import (
    CallbackButton,
    KeyboardLimitError,
    LinkButton,
    MaxApi,
    MaxBadRequestError,
    MaxBlockedError,
    MaxNotFoundError,
    MaxPoller,
    MaxRateLimitError,
    MaxServerError,
    MaxTokenError,
    MaxTransportError,
    MaxWebhook,
    MessageTooLongError,
    RetryPolicy,
    inline_keyboard,
    message_body,
    split_text,
    update_key,
)
from bot.max.ratelimit import RequestWindow
from bot.maxemu import MaxEmulator, MaxUser, keyboard_error

TOKEN = "max-test-token"
FAST = RetryPolicy(base_delay=0.01, max_delay=0.05, jitter=0.0, not_ready_delay=0.01)
TRANSCRIPTS = Path(__file__).resolve().parent / "output" / "transcripts"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[MaxEmulator]:
    async with MaxEmulator(token=TOKEN, long_poll_cap=5) as emulator:
        yield emulator


def client(emu: MaxEmulator, **kwargs: Any) -> MaxApi:
    kwargs.setdefault("retry", FAST)
    return MaxApi(TOKEN, emu.base_url, **kwargs)


@pytest_asyncio.fixture
async def api(emu: MaxEmulator) -> AsyncIterator[MaxApi]:
    async with client(emu) as max_api:
        yield max_api


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def person(emu: MaxEmulator, uid: int, name: str = "Анна") -> MaxUser:
    user = MaxUser(emu, uid, first_name=name, last_name="Петрова")
    await user.start()
    return user


# ---------------------------------------------------------------------- auth, /me


async def test_auth_and_me(emu: MaxEmulator, api: MaxApi, http: aiohttp.ClientSession) -> None:
    me = await api.get_me()
    assert me["is_bot"] is True and me["user_id"] == emu.bot_id
    call = emu.api_calls("GET", "/me")[-1]
    assert call.status == 200

    async with client(emu) as other:
        other._token = "wrong"
        with pytest.raises(MaxTokenError) as bad:
            await other.get_me()
    assert (bad.value.status, bad.value.code) == (401, "verify.token")

    # "Bearer <token>" is not MAX's form, and the token in the query is refused outright.
    async with http.get(emu.base_url + "/me", headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        assert r.status == 401
    async with http.get(emu.base_url + "/me", params={"access_token": TOKEN},
                        headers={"Authorization": TOKEN}) as r:
        assert r.status == 403 and (await r.json())["code"] == "deprecated.token"


# ---------------------------------------------------------------------- polling


async def test_marker_across_restart(emu: MaxEmulator) -> None:
    """A poller that saves the marker after each handled batch loses nothing and repeats
    nothing across a restart; a crash before the save gets the same batch again, and the
    repeat is recognisable by its key."""
    store: dict[str, int] = {}
    handled: list[str] = []
    fail_on: set[str] = set()

    async def handle(update: dict[str, Any]) -> None:
        key = update_key(update)
        if key in fail_on:
            fail_on.discard(key)
            raise RuntimeError("crash while handling")
        handled.append(key)

    async def load() -> int | None:
        return store.get("marker")

    async def save(marker: int) -> None:
        store["marker"] = marker

    anna = await person(emu, 101)
    await anna.send("Здравствуйте")
    await anna.send("Как подключиться?")

    async with client(emu) as first:
        poller = MaxPoller(first, handle, load, save, timeout=0)
        assert await poller.poll_once() == 3
        assert handled[0].startswith("bot_started:101:")
        assert emu.pending_updates == 3  # not committed until the next poll passes the marker

    # A clean restart: the new process reads the marker, MAX commits the first batch.
    await anna.send("Я учитель")
    async with client(emu) as second:
        poller = MaxPoller(second, handle, load, save, timeout=0)
        assert await poller.poll_once() == 1
        assert emu.pending_updates == 1
        # A crash in the middle of the next batch: its marker is never saved.
        await anna.send("А родителям?")
        await anna.send("Спасибо")
        fail_on.add(update_key(emu._updates[-1]))
        with pytest.raises(RuntimeError):
            await poller.poll_once()

    async with client(emu) as third:
        poller = MaxPoller(third, handle, load, save, timeout=0)
        assert await poller.poll_once() == 2  # the unsaved batch, again
        assert await poller.poll_once() == 0
    assert emu.pending_updates == 0
    texts = [key for key in handled if key.startswith("message_created")]
    assert len(texts) == 6 and len(set(texts)) == 5  # «А родителям?» was handled twice
    assert len(set(handled)) == 6  # nothing lost: bot_started + 5 messages


async def test_long_poll_limit_types(emu: MaxEmulator, api: MaxApi) -> None:
    anna = await person(emu, 102)
    batch = await api.get_updates(None, timeout=0)
    assert [u["update_type"] for u in batch.updates] == ["bot_started"]
    started = batch.updates[0]
    assert started["user"]["user_id"] == 102 and started["payload"] is None
    assert started["timestamp"] > 1_700_000_000_000  # milliseconds

    # A parked poll returns as soon as something happens.
    import asyncio
    waiting = asyncio.create_task(api.get_updates(batch.marker, timeout=30))
    await emu.wait_for_poll()
    await anna.send("Привет")
    got = await asyncio.wait_for(waiting, 5)
    message = got.updates[0]["message"]
    assert message["body"]["text"] == "Привет" and message["body"]["mid"].startswith("mid.")
    assert message["recipient"]["chat_type"] == "dialog"
    assert message["sender"]["user_id"] == 102 and got.updates[0]["user_locale"] == "ru"

    for n in range(5):
        await anna.send(f"m{n}")
    await anna.stop()
    part = await api.get_updates(got.marker, timeout=0, limit=2)
    assert [u["message"]["body"]["text"] for u in part.updates] == ["m0", "m1"]
    only_stop = await api.get_updates(part.marker, timeout=0, types=["bot_stopped"])
    assert [u["update_type"] for u in only_stop.updates] == ["bot_stopped"]
    empty = await api.get_updates(only_stop.marker, timeout=0)
    assert empty.updates == [] and empty.marker == only_stop.marker


# ---------------------------------------------------------------------- webhooks


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[dict[str, Any]]:
    """A webhook endpoint on 127.0.0.1 served by MaxWebhook."""
    state: dict[str, Any] = {"got": [], "fail": 0}

    async def handle(update: dict[str, Any]) -> None:
        if state["fail"]:
            state["fail"] -= 1
            raise RuntimeError("the inbox is down")
        state["got"].append(update)

    hook = MaxWebhook(handle, secret="s3cret-Value_1")
    app = web.Application()
    hook.add_to(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.update(hook=hook, url=f"http://127.0.0.1:{port}{hook.path}")
    yield state
    await runner.cleanup()


async def test_webhook(emu: MaxEmulator, api: MaxApi, receiver: dict[str, Any],
                       http: aiohttp.ClientSession) -> None:
    await api.subscribe(receiver["url"], secret="s3cret-Value_1",
                        update_types=["message_created", "bot_started"])
    assert [s["url"] for s in await api.list_subscriptions()] == [receiver["url"]]
    anna = await person(emu, 103)
    await anna.send("Здравствуйте")
    assert await emu.wait_until(lambda: len(receiver["got"]) == 2)
    assert [u["update_type"] for u in receiver["got"]] == ["bot_started", "message_created"]
    assert all(p.secret_sent and p.status == 200 for p in emu.webhook_log)
    # While subscribed, polling gets nothing.
    assert (await api.get_updates(None, timeout=0)).updates == []

    # A push that fails is retried until it gets a 200; nothing is lost or doubled.
    receiver["fail"] = 2
    await anna.send("Повтор")
    assert await emu.wait_until(lambda: len(receiver["got"]) == 3)
    assert [p.status for p in emu.webhook_log[-3:]] == [500, 500, 200]

    # Wrong or missing secret: refused, not handed over.
    body = json.dumps({"update_type": "message_created", "timestamp": 1}).encode()
    for headers in ({"X-Max-Bot-Api-Secret": "s3cret-Value_2"}, {}):
        async with http.post(receiver["url"], data=body, headers=headers) as resp:
            assert resp.status == 403
    assert receiver["hook"].refused == 2 and len(receiver["got"]) == 3

    # A subscription with another secret: every push is refused and retried.
    await api.subscribe(receiver["url"], secret="another-secret")
    await anna.send("Чужой")
    assert await emu.wait_until(lambda: sum(p.status == 403 for p in emu.webhook_log) >= 2)
    assert len(receiver["got"]) == 3

    await api.unsubscribe(receiver["url"])
    assert await api.list_subscriptions() == []
    await anna.send("Снова опрос")
    batch = await api.get_updates(None, timeout=0)
    assert [u["message"]["body"]["text"] for u in batch.updates] == ["Снова опрос"]

    with pytest.raises(MaxBadRequestError):
        await api.subscribe("http://example.org/hook")  # MAX takes https only
    with pytest.raises(ValueError):
        MaxWebhook(receiver["hook"]._handle, secret="no spaces allowed")


async def test_webhook_given_up_after_max_age(receiver: dict[str, Any]) -> None:
    async with MaxEmulator(token=TOKEN, webhook_max_age=0.1) as emu, client(emu) as api:
        await api.subscribe(receiver["url"], secret="s3cret-Value_1")
        receiver["fail"] = 10_000
        await (await person(emu, 104)).send("никто не ответит")
        assert await emu.wait_until(lambda: not emu.subscriptions)
        assert len(emu.webhook_log) >= 2 and receiver["got"] == []


# ---------------------------------------------------------------------- sending


async def test_send_text_and_keyboard(emu: MaxEmulator, api: MaxApi) -> None:
    anna = await person(emu, 105)
    rows = [[CallbackButton("Педагог", '{"cmd":"role","r":"t"}'),
             CallbackButton("Родитель", '{"cmd":"role","r":"p"}')],
            [LinkButton("Сайт Сферума", "https://sferum.ru")]]
    sent = await api.send_message(105, "Кто вы? **не жирный**", keyboard=inline_keyboard(rows))
    assert sent["body"]["mid"].startswith("mid.") and sent["recipient"]["user_id"] == 105
    msg = await anna.next_reply()
    assert msg.text == "Кто вы? **не жирный**" and msg.format is None  # markup is off
    assert anna.buttons() == ["Педагог", "Родитель", "Сайт Сферума"]
    posted = emu.api_calls("POST", "/messages")[-1]
    assert "format" not in posted.body and posted.query == {"user_id": "105"}

    await api.send_message(105, "x" * 4000)
    with pytest.raises(MessageTooLongError):
        await api.send_message(105, "x" * 4001)
    with pytest.raises(MaxBadRequestError) as too_long:  # the emulator checks it too
        await api.call("POST", "/messages", query={"user_id": 105}, body={"text": "я" * 4001})
    assert too_long.value.status == 400
    assert len(anna.inbox) == 2


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([[CallbackButton(f"b{i}", "p") for i in range(8)]], "in a row"),
        ([[LinkButton(f"l{i}", "https://max.ru") for i in range(4)]], "in a row"),
        ([[CallbackButton("b", "p")]] * 31, "rows"),
        ([[CallbackButton("x" * 129, "p")]], "label"),
        ([[CallbackButton("b", "p" * 1025)]], "payload"),
        ([[LinkButton("b", "https://max.ru/" + "a" * 2040)]], "link"),
    ],
)
async def test_keyboard_limits(emu: MaxEmulator, api: MaxApi,
                               rows: list[list[Any]], problem: str) -> None:
    await person(emu, 106)
    with pytest.raises(KeyboardLimitError, match=problem):
        inline_keyboard(rows)
    # The same keyboard built by hand is refused by the emulator's own check.
    raw = {"buttons": [[({"type": "link", "text": b.label, "url": b.link}
                         if isinstance(b, LinkButton)
                         else {"type": "callback", "text": b.label, "payload": b.payload})
                        for b in row] for row in rows]}
    assert keyboard_error(raw) is not None
    with pytest.raises(MaxBadRequestError):
        await api.call("POST", "/messages", query={"user_id": 106},
                       body={"text": "?", "attachments": [{"type": "inline_keyboard",
                                                           "payload": raw}]})
    assert emu.inbox(106) == []


async def test_keyboard_at_the_limits_is_accepted(emu: MaxEmulator, api: MaxApi) -> None:
    await person(emu, 107)
    # 30 rows of 7 is exactly the 210-button limit; a row with a link holds at most 3.
    rows = [[CallbackButton(f"{r}.{c}", f"p{r}.{c}") for c in range(7)] for r in range(30)]
    await api.send_message(107, "all", keyboard=inline_keyboard(rows))
    rows[0] = [LinkButton(str(i), "https://max.ru") for i in range(3)]
    await api.send_message(107, "links", keyboard=inline_keyboard(rows))
    assert [len(m.buttons) for m in emu.inbox(107)] == [210, 3 + 29 * 7]


async def test_blocked_and_unknown_people(emu: MaxEmulator, api: MaxApi) -> None:
    anna = await person(emu, 108)
    await api.send_message(108, "Добро пожаловать")
    await anna.stop()
    with pytest.raises(MaxBlockedError) as blocked:
        await api.send_message(108, "Вы здесь?")
    assert (blocked.value.status, blocked.value.code) == (403, "chat.denied")
    with pytest.raises(MaxBlockedError):
        await api.send_message(999, "кто вы?")  # never started the bot
    assert len(emu.api_calls("POST", "/messages")) == 3  # a 403 is not retried
    await anna.start("school_42")
    await api.send_message(108, "С возвращением")
    assert [m.text for m in anna.inbox] == ["Добро пожаловать", "С возвращением"]


# ---------------------------------------------------------------------- edits, callbacks


async def test_edit_and_callback_answers(emu: MaxEmulator, api: MaxApi) -> None:
    anna = await person(emu, 109)
    keyboard = inline_keyboard([[CallbackButton("Да", '{"cmd":"yes"}'),
                                 CallbackButton("Нет", '{"cmd":"no"}')]])
    sent = await api.send_message(109, "Вы учитель?", keyboard=keyboard)
    mid = sent["body"]["mid"]
    await api.edit_message(mid, "Вы педагог?")  # attachments None: the keyboard stays
    assert emu.message(mid).text == "Вы педагог?" and anna.buttons() == ["Да", "Нет"]

    start = await api.get_updates(None, timeout=0)
    await anna.press("да")
    press = (await api.get_updates(start.marker, timeout=0)).updates[0]
    callback = press["callback"]
    assert press["update_type"] == "message_callback"
    assert callback["payload"] == '{"cmd":"yes"}' and callback["user"]["user_id"] == 109
    assert press["message"]["body"]["mid"] == mid

    await api.answer_callback(callback["callback_id"], notification="Принято")
    await api.answer_callback(callback["callback_id"],
                              message=message_body("Вы педагог? — Да", attachments=[]))
    assert emu.message(mid).text == "Вы педагог? — Да" and emu.message(mid).keyboard is None
    assert [a.notification for a in anna.answers] == ["Принято", None]
    with pytest.raises(MaxNotFoundError):
        await api.answer_callback("no-such-callback", notification="?")
    with pytest.raises(MaxNotFoundError):
        await api.edit_message("mid.0000", "нет такого")
    await api.delete_message(mid)
    assert emu.message(mid).deleted


# ---------------------------------------------------------------------- uploads


async def test_upload_flow_with_not_ready(emu: MaxEmulator, api: MaxApi) -> None:
    anna = await person(emu, 110)
    image = await api.upload_image(PNG, "chart.png")
    assert image["type"] == "image"
    assert emu.upload_of(image["payload"]["token"]) == ("image", "chart.png", PNG)
    await api.send_message(110, "Охват по школам", attachments=[image])
    posts = emu.api_calls("POST", "/messages")
    assert [(c.status, c.code) for c in posts] == [(400, "attachment.not.ready"), (200, None)]
    assert anna.inbox[0].files == ["chart.png"]

    table = b"PK\x03\x04 xlsx bytes"
    doc = await api.upload_file(table, "report.xlsx")
    kind, name, data = emu.upload_of(doc["payload"]["token"]) or ("", "", b"")
    assert (kind, name, data) == ("file", "report.xlsx", table)
    await api.send_message(110, None, attachments=[doc])
    assert anna.inbox[1].files == ["report.xlsx"] and anna.inbox[1].text == ""
    await api.send_message(110, "ещё раз", attachments=[doc])  # a token is reusable
    assert [c.path for c in emu.api_calls() if c.path == "/uploads"] == ["/uploads"] * 2

    with pytest.raises(MaxBadRequestError):
        await api.call("POST", "/uploads", query={"type": "photo"})
    with pytest.raises(MaxBadRequestError):
        await api.send_message(110, "?", attachments=[{"type": "image",
                                                      "payload": {"token": "forged"}}])


# ---------------------------------------------------------------------- rate and faults


async def test_rate_window_never_exceeded(emu: MaxEmulator, api: MaxApi) -> None:
    """A burst of 75 sends: MAX (the emulator) never sees more than 30 in any second."""
    import asyncio
    for uid in range(1000, 1075):
        emu.user_started(uid)
    await asyncio.gather(*(api.send_message(uid, "Напоминание") for uid in range(1000, 1075)))
    calls = emu.api_calls("POST", "/messages")
    assert len(calls) == 75 and all(c.status == 200 for c in calls)
    assert emu.max_requests_in_window(1.0) <= 30


async def test_window_counts_from_answers() -> None:
    """The window frees a slot `period` after the answer, so a slow request cannot let a
    31st arrive within one second of it."""
    now = [0.0]
    window = RequestWindow(rate=2, period=1.0, clock=lambda: now[0])
    async with window.slot():
        now[0] = 5.0  # a request in flight for 5 s keeps its slot
        async with window.slot():
            pass
        assert window.in_flight == 1
    now[0] = 5.5
    assert window.busy()
    now[0] = 6.0
    assert not window.busy()


async def test_429_and_5xx_are_retried(emu: MaxEmulator, api: MaxApi) -> None:
    anna = await person(emu, 111)
    emu.inject_error("/messages", 429, count=2)
    await api.send_message(111, "после 429")
    assert [c.status for c in emu.api_calls("POST", "/messages")] == [429, 429, 200]

    emu.inject_error("/messages", 503, count=1)
    await api.send_message(111, "после 503")
    emu.inject_error("/messages", 429, count=10)
    with pytest.raises(MaxRateLimitError):
        await api.send_message(111, "не дойдёт")  # 5 tries in all, then the caller decides
    emu.clear_faults()
    async with client(emu, resend_unconfirmed=False) as careful:
        emu.inject_error("/messages", 500)
        with pytest.raises(MaxServerError):
            await careful.send_message(111, "может быть, дошло")
        emu.inject_error("/updates", 502)
        assert (await careful.get_updates(None, timeout=0)).updates  # reads are retried
    assert [m.text for m in anna.inbox] == ["после 429", "после 503"]


async def test_dropped_connections(emu: MaxEmulator, api: MaxApi) -> None:
    anna = await person(emu, 112)
    emu.drop_connections("/updates")
    batch = await api.get_updates(None, timeout=0)
    assert [u["update_type"] for u in batch.updates] == ["bot_started"]
    assert [c.dropped for c in emu.api_calls("GET", "/updates")] == [True, False]

    emu.drop_connections("/messages")  # lost before MAX saw it: resent, delivered once
    await api.send_message(112, "первое")
    emu.drop_connections("/messages", after_processing=True)  # delivered, the answer lost
    await api.send_message(112, "второе")
    assert [m.text for m in anna.inbox] == ["первое", "второе", "второе"]  # no idempotency key

    async with client(emu, resend_unconfirmed=False) as careful:
        emu.drop_connections("/messages", after_processing=True)
        with pytest.raises(MaxTransportError) as lost:
            await careful.send_message(112, "третье")
        assert lost.value.sent
        emu.drop_connections("/messages/" + anna.inbox[0].mid)
        assert (await careful.call("GET", "/messages/" + anna.inbox[0].mid))["body"]
    assert [m.text for m in anna.inbox][-1] == "третье"  # delivered once, caller told "maybe"


async def test_connection_refused_is_a_transport_error() -> None:
    async with MaxApi(TOKEN, "http://127.0.0.1:9", retry=FAST) as api:
        with pytest.raises(MaxTransportError) as refused:
            await api.get_me()
    assert not refused.value.sent


async def test_per_dialog_window(emu: MaxEmulator, api: MaxApi) -> None:
    """MAX takes ≤2 messages/s into one dialog: a third waits a second."""
    import asyncio
    anna = await person(emu, 113)
    await asyncio.gather(*(api.send_message(113, f"{n}") for n in range(3)))
    times = [c.arrived for c in emu.api_calls("POST", "/messages")]
    assert len(anna.inbox) == 3 and times[2] - times[0] >= 1.0


# ---------------------------------------------------------------------- the driver


async def test_driver_conversation(emu: MaxEmulator, api: MaxApi) -> None:
    """A person arrives by an invitation link, answers with a button, reads the notice."""
    olga = MaxUser(emu, 114, first_name="Ольга", last_name="Смирнова")
    await olga.start("inv_AbC123")
    first = await api.get_updates(None, timeout=0)
    started = first.updates[0]
    assert started["payload"] == "inv_AbC123" and started["user"]["name"] == "Ольга Смирнова"
    await api.send_message(114, "Здравствуйте! Вы пришли по приглашению школы. Кто вы?",
                           keyboard=inline_keyboard([[CallbackButton("Педагог", "role:t"),
                                                      CallbackButton("Родитель", "role:p")]]))
    await olga.next_reply()
    await olga.press("Родитель")
    press = (await api.get_updates(first.marker, timeout=0)).updates[0]
    await api.answer_callback(press["callback"]["callback_id"], notification="Записали: родитель")
    await api.send_message(114, "Спасибо! Вот что сделать дальше.")
    await olga.next_reply()
    await olga.send_photo("скриншот")
    with pytest.raises(AssertionError, match="not found"):
        await olga.press("Директор")

    long_start = MaxUser(emu, 115)
    await long_start.start("x" * 129)  # a start parameter over 128 characters is dropped
    assert emu._updates[-1]["payload"] is None

    transcript = olga.format_transcript()
    TRANSCRIPTS.mkdir(parents=True, exist_ok=True)
    (TRANSCRIPTS / "test_maxemu_driver_conversation.txt").write_text(
        f"=== MAX user 114\n{transcript}\n", encoding="utf-8")
    assert transcript.splitlines() == [
        "Person: [start: inv_AbC123]",
        "Bot: Здравствуйте! Вы пришли по приглашению школы. Кто вы? "
        "[buttons: Педагог | Родитель]",
        "Person: [pressed: Родитель]",
        "Bot: [notice: Записали: родитель]",
        "Bot: Спасибо! Вот что сделать дальше.",
        "Person: скриншот [image]",
    ]


async def test_poller_run_outlasts_failures_and_stops_on_a_bad_token(emu: MaxEmulator) -> None:
    import asyncio
    pauses: list[float] = []
    got = asyncio.Event()
    store: dict[str, int] = {}

    async def fake_sleep(seconds: float) -> None:
        pauses.append(seconds)

    async def handle(update: dict[str, Any]) -> None:
        got.set()

    async def load() -> int | None:
        return store.get("marker")

    async def save(marker: int) -> None:
        store["marker"] = marker

    async with client(emu) as api:
        emu.inject_error("/updates", 503, count=FAST.attempts)  # the client's tries run out
        await person(emu, 116)
        poller = MaxPoller(api, handle, load, save, timeout=1, sleep=fake_sleep)
        task = asyncio.create_task(poller.run())
        await asyncio.wait_for(got.wait(), 10)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert pauses == [5.0] and store["marker"] == poller.marker

        api._token = "revoked"
        with pytest.raises(MaxTokenError):
            await MaxPoller(api, handle, load, save, timeout=0, sleep=fake_sleep).run()


async def test_driver_auto_start_and_saved_people(emu: MaxEmulator, api: MaxApi) -> None:
    ivan = MaxUser(emu, 117, first_name="Иван")
    await ivan.send("Здравствуйте")  # MAX makes a newcomer press «Начать» first
    batch = await api.get_updates(None, timeout=0)
    assert [u["update_type"] for u in batch.updates] == ["bot_started", "message_created"]
    await api.send_message(117, "Добрый день!")
    assert [m.text for m in await ivan.replies(1)] == ["Добрый день!"]
    await ivan.stop()

    async with MaxEmulator(token=TOKEN) as later, client(later) as api2:
        later.import_users(emu.export_users())
        assert later.user_status(117) == "stopped"
        with pytest.raises(MaxBlockedError):
            await api2.send_message(117, "Вы здесь?")


async def test_emulator_refuses_over_its_window(http: aiohttp.ClientSession) -> None:
    """Over the per-second limit the emulator answers 429 (and refused requests don't count)."""
    import asyncio
    async with MaxEmulator(token=TOKEN, rate_limit=5) as emu:

        async def me() -> int:
            async with http.get(emu.base_url + "/me", headers={"Authorization": TOKEN}) as r:
                if r.status == 429:
                    assert (await r.json())["code"] == "too.many.requests"
                return r.status

        statuses = await asyncio.gather(*(me() for _ in range(8)))
        times = [c.arrived for c in emu.api_calls()]
        accepted = [c.arrived for c in emu.api_calls() if c.status == 200]
        assert all(b - a >= 1.0 for a, b in zip(accepted, accepted[5:]))
        if max(times) - min(times) < 1.0:  # all in one second, as on any usable machine
            assert sorted(statuses) == [200] * 5 + [429] * 3


@pytest.mark.parametrize(
    ("text", "limit", "parts"),
    [
        ("короткий", 4000, ["короткий"]),
        ("", 4000, [""]),
        ("абзац один\n\nабзац два", 15, ["абзац один", "абзац два"]),
        ("строка один\nстрока два", 15, ["строка один", "строка два"]),
        ("слово слово слово", 12, ["слово слово", "слово"]),
        ("ооооооооооо", 4, ["оооо", "оооо", "ооо"]),
    ],
)
def test_split_text(text: str, limit: int, parts: list[str]) -> None:
    assert split_text(text, limit) == parts
    assert all(len(p) <= limit for p in split_text(text, limit))


async def test_long_text_goes_as_several_messages(emu: MaxEmulator, api: MaxApi) -> None:
    anna = await person(emu, 118)
    text = "\n\n".join(f"Абзац {n}: " + "слово " * 150 for n in range(8))
    assert len(text) > 4000
    for part in split_text(text):
        await api.send_message(118, part)
    got = await anna.replies(len(split_text(text)))
    assert "\n\n".join(m.text for m in got).split() == text.split()
