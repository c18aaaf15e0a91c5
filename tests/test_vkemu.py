"""Tests of the local VK API emulator (bot/vkemu), talking to it over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.vkemu import EmulatedUser, VKEmulator, validate_keyboard

pytestmark = pytest.mark.asyncio

GID = 77
TOKEN = "test-token"


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[VKEmulator]:
    async with VKEmulator(group_id=GID, token=TOKEN, long_poll_wait_cap=2) as emulator:
        yield emulator


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    emu: VKEmulator,
    method: str,
    *,
    token: str | None = TOKEN,
    v: str | None = "5.199",
    **params: Any,
) -> dict[str, Any]:
    """POST like vkbottle does: token and v in the query, the rest form-encoded."""
    query = {k: val for k, val in (("access_token", token), ("v", v)) if val is not None}
    data = {k: str(val) for k, val in params.items()}
    async with http.post(emu.api_url + method, params=query, data=data) as resp:
        assert resp.status == 200
        return await resp.json()


async def send(http: aiohttp.ClientSession, emu: VKEmulator, **params: Any) -> dict[str, Any]:
    params.setdefault("random_id", 0)
    return await call(http, emu, "messages.send", **params)


async def poll(
    http: aiohttp.ClientSession, server: dict[str, Any], ts: Any = None, wait: int = 0
) -> dict[str, Any]:
    query = {"act": "a_check", "key": server["key"], "ts": ts or server["ts"], "wait": wait}
    async with http.post(server["server"], params=query) as resp:
        return await resp.json()


async def lp_server(http: aiohttp.ClientSession, emu: VKEmulator) -> dict[str, Any]:
    return (await call(http, emu, "groups.getLongPollServer", group_id=GID))["response"]


def error_code(body: dict[str, Any]) -> int | None:
    return body.get("error", {}).get("error_code")


# ---------------------------------------------------------------------- envelope


async def test_error_envelope(emu: VKEmulator, http: aiohttp.ClientSession) -> None:
    body = await call(http, emu, "users.get", v=None, user_ids=1)
    assert body["error"]["error_code"] == 8
    params = body["error"]["request_params"]
    assert params[:2] == [{"key": "method", "value": "users.get"}, {"key": "oauth", "value": "1"}]
    assert {"key": "user_ids", "value": "1"} in params
    assert all(p["key"] != "access_token" for p in params)

    assert error_code(await call(http, emu, "users.get", token="bad")) == 5
    assert error_code(await call(http, emu, "users.get", token=None)) == 5
    assert error_code(await call(http, emu, "nope.nothing")) == 3

    # GET with everything in the query string works too.
    url = f"{emu.api_url}users.get?access_token={TOKEN}&v=5.199&user_ids=id5"
    async with http.get(url) as resp:
        assert (await resp.json())["response"][0]["id"] == 5


async def test_groups_and_users(emu: VKEmulator, http: aiohttp.ClientSession) -> None:
    group = (await call(http, emu, "groups.getById"))["response"]["groups"][0]
    assert group["id"] == GID and group["screen_name"] == f"club{GID}"
    assert (await call(http, emu, "groups.getById"))["response"]["profiles"] == []

    emu.add_user(10, "Пётр", "Сидоров")
    users = (await call(http, emu, "users.get", user_ids="10,11", fields="sex"))["response"]
    assert users[0]["first_name"] == "Пётр" and users[0]["can_access_closed"] is True
    invented = users[1]
    assert invented["first_name"] and invented["last_name"] and "sex" in invented
    again = (await call(http, emu, "users.get", user_ids="11"))["response"][0]
    assert again["first_name"] == invented["first_name"]  # deterministic
    assert (await call(http, emu, "users.get"))["response"] == []
    assert error_code(await call(http, emu, "users.get", user_ids="-5")) == 113


# ---------------------------------------------------------------------- long poll


async def test_long_poll_delivery(emu: VKEmulator, http: aiohttp.ClientSession) -> None:
    server = await lp_server(http, emu)
    assert isinstance(server["ts"], str) and server["server"].endswith(f"/lp/{GID}")
    assert await poll(http, server) == {"ts": server["ts"], "updates": []}

    event = await emu.user_message(5, "Привет", payload={"cmd": "start"}, ref="school_1",
                                   ref_source="site")
    answer = await poll(http, server)
    assert int(answer["ts"]) == int(server["ts"]) + 1
    assert answer["updates"] == [event]
    update = answer["updates"][0]
    assert update["type"] == "message_new" and update["group_id"] == GID
    assert len(update["event_id"]) == 40 and update["v"] == "5.199"
    message = update["object"]["message"]
    assert message["payload"] == '{"cmd":"start"}'
    assert message["ref"] == "school_1" and message["ref_source"] == "site"
    assert message["peer_id"] == message["from_id"] == 5 and message["out"] == 0
    assert isinstance(message["version"], int)
    assert update["object"]["client_info"]["inline_keyboard"] is True

    plain = (await emu.user_message(5, "ещё"))["object"]["message"]
    assert "payload" not in plain and "ref" not in plain
    assert plain["conversation_message_id"] == message["conversation_message_id"] + 1
    assert plain["id"] == message["id"] + 1

    # A waiting poll returns as soon as an event arrives.
    assert not emu.long_poll_caught_up  # nobody waits for what comes next
    waiting = asyncio.create_task(poll(http, server, ts=str(emu.current_ts), wait=10))
    await emu.wait_for_long_poll()
    assert emu.long_poll_caught_up  # the client has taken every event
    await emu.user_message(6, "hi")
    assert not emu.long_poll_caught_up
    result = await asyncio.wait_for(waiting, 2)
    assert [u["object"]["message"]["text"] for u in result["updates"]] == ["hi"]
    # A poll that still asks for older events has not taken everything.
    stale = asyncio.create_task(poll(http, server, ts=server["ts"], wait=10))
    assert len((await asyncio.wait_for(stale, 2))["updates"]) == 3
    assert not emu.long_poll_caught_up


async def test_long_poll_failures(emu: VKEmulator, http: aiohttp.ClientSession) -> None:
    server = await lp_server(http, emu)
    assert await poll(http, {**server, "key": "wrong"}) == {"failed": 2}

    emu.history_limit = 3
    for i in range(5):
        await emu.user_message(5, f"m{i}")
    assert await poll(http, server) == {"failed": 1, "ts": emu.current_ts}

    emu.fail_long_poll(1)
    assert await poll(http, server, ts=emu.current_ts) == {"failed": 1, "ts": emu.current_ts}

    # failed 2: the key is expired; a new key with the OLD ts gets the queued event.
    ts = emu.current_ts
    emu.fail_long_poll(2)
    assert await poll(http, server, ts=ts) == {"failed": 2}
    await emu.user_message(5, "queued")
    assert await poll(http, server, ts=ts) == {"failed": 2}
    fresh = await lp_server(http, emu)
    got = await poll(http, fresh, ts=ts)
    assert [u["object"]["message"]["text"] for u in got["updates"]] == ["queued"]

    emu.fail_long_poll(3)
    assert await poll(http, fresh, ts=got["ts"]) == {"failed": 3}
    assert (await lp_server(http, emu))["key"] != fresh["key"]


async def test_long_poll_drop_and_replay(emu: VKEmulator, http: aiohttp.ClientSession) -> None:
    server = await lp_server(http, emu)
    event = await emu.user_message(5, "one")
    emu.drop_long_poll_connection()
    with pytest.raises(aiohttp.ClientConnectionError):
        await poll(http, server)
    got = await poll(http, server)  # same ts: nothing was lost
    assert got["updates"] == [event]

    emu.replay_event(event["event_id"])
    again = await poll(http, server, ts=got["ts"])
    assert again["updates"][0]["event_id"] == event["event_id"]

    cb = await emu.callback(5, {"act": "yes"}, conversation_message_id=3)
    update = (await poll(http, server, ts=again["ts"]))["updates"][0]
    assert update == cb and update["type"] == "message_event"
    assert update["object"]["payload"] == {"act": "yes"}
    assert update["object"]["user_id"] == update["object"]["peer_id"] == 5


# ---------------------------------------------------------------------- messages.send


@pytest.mark.parametrize(
    ("params", "code", "text"),
    [
        ({"message": "x"}, 100, "you should specify peer_id"),
        ({"peer_id": 5, "message": "x", "random_id": None}, 100, "random_id is a required"),
        ({"peer_id": 5}, 100, "message is empty"),
        ({"peer_id": 5, "message": "x" * 4097}, 914, "Message is too long"),
        ({"peer_id": 5, "message": "x", "keyboard": "{bad"}, 911, "Keyboard format is invalid"),
        ({"peer_id": 5, "message": "x", "payload": "p" * 1001}, 100, "payload"),
        ({"peer_ids": ",".join(str(i) for i in range(1, 102)), "message": "x"}, 100, "peer_ids"),
    ],
)
async def test_send_validation(
    emu: VKEmulator, http: aiohttp.ClientSession, params: dict[str, Any], code: int, text: str
) -> None:
    emu.add_user(5)
    params = dict(params)
    if "random_id" in params and params["random_id"] is None:
        del params["random_id"]
        body = await call(http, emu, "messages.send", **params)
    else:
        body = await send(http, emu, **params)
    assert body["error"]["error_code"] == code
    assert text in body["error"]["error_msg"]
    assert emu.inbox(5) == []


async def test_send_delivery_and_dedup(emu: VKEmulator, http: aiohttp.ClientSession) -> None:
    await emu.user_message(5, "hi")
    first = (await send(http, emu, peer_id=5, message="a" * 4096, random_id=123))["response"]
    again = (await send(http, emu, user_id=5, message="other", random_id=123))["response"]
    assert isinstance(first, int) and again == first
    assert len(emu.inbox(5)) == 1
    (await send(http, emu, peer_id=5, message="zero", random_id=0))
    (await send(http, emu, peer_id=5, message="zero", random_id=0))
    assert len(emu.inbox(5)) == 3  # random_id=0 never de-duplicates

    emu.advance_clock(3601)
    await emu.user_message(5, "still here")
    later = (await send(http, emu, peer_id=5, message="new", random_id=123))["response"]
    assert later != first and emu.inbox(5)[-1].text == "new"
    msg = emu.inbox(5)[0]
    assert msg.random_id == 123 and msg.conversation_message_id == 2  # user's message was 1


async def test_permissions_and_intents(emu: VKEmulator, http: aiohttp.ClientSession) -> None:
    assert error_code(await send(http, emu, peer_id=9, message="x")) == 901  # never wrote
    emu.add_user(8, allows_messages=False)
    assert error_code(await send(http, emu, peer_id=8, message="x")) == 901
    emu.set_allows_messages(8, True)
    assert "response" in await send(http, emu, peer_id=8, message="x")

    await emu.user_message(5, "hi")
    emu.advance_clock(25 * 3600)
    body = await send(http, emu, peer_id=5, message="reminder")
    assert error_code(body) == 901 and "intent is required" in body["error"]["error_msg"]
    assert error_code(await send(http, emu, peer_id=5, message="r", intent="bogus")) == 901
    assert "response" in await send(http, emu, peer_id=5, message="r", intent="customer_support")
    assert emu.inbox(5)[-1].intent == "customer_support"

    news = {"peer_id": 5, "message": "news", "intent": "promo_newsletter"}
    assert error_code(await send(http, emu, **news)) == 901
    emu.subscribe(5)
    assert "response" in await send(http, emu, **news)
    emu.unsubscribe(5)
    assert error_code(await send(http, emu, **news)) == 901

    await emu.user_message(5, "back")  # a new message reopens the 24-hour window
    assert "response" in await send(http, emu, peer_id=5, message="ok")


async def test_peer_ids_partial_failure(emu: VKEmulator, http: aiohttp.ClientSession) -> None:
    await emu.user_message(5, "hi")
    await emu.user_message(6, "hi")
    body = await send(http, emu, peer_ids="5,404,6", message="all")
    items = body["response"]
    assert [i["peer_id"] for i in items] == [5, 404, 6]
    assert items[1] == {
        "peer_id": 404,
        "error": {"code": 901, "description": "Can't send messages for users without permission"},
    }
    assert "message_id" in items[0] and "conversation_message_id" in items[2]
    assert [m.text for m in emu.inbox(6)] == ["all"]


# ---------------------------------------------------------------------- keyboards


def kb(rows: list[list[dict[str, Any]]], **flags: Any) -> dict[str, Any]:
    return {"one_time": False, "inline": False, **flags, "buttons": rows}


def text_button(label: str, **extra: Any) -> dict[str, Any]:
    return {"action": {"type": "text", "label": label, **extra}}


@pytest.mark.parametrize(
    ("keyboard", "valid"),
    [
        (kb([]), True),
        (kb([[text_button("a", payload={"x": 1})]], one_time=True), True),
        (kb([[text_button("a", payload='{"x":1}')]], inline=True), True),
        (kb([[{"action": {"type": "callback", "label": "c"}, "color": "positive"}]]), True),
        (kb([[{"action": {"type": "open_link", "label": "l", "link": "https://vk.com"}}]]), True),
        (kb([[{"action": {"type": "location"}}]]), True),
        (kb([[text_button("a")] * 5] * 8), True),
        (kb([[text_button("a")] * 5] * 9), False),  # 45 > 40 buttons
        (kb([[text_button("a")]] * 11), False),
        (kb([[text_button("a")] * 6]), False),
        (kb([[text_button("a")]] * 7, inline=True), False),
        (kb([[text_button("a")] * 5] * 3, inline=True), False),  # 15 > 10
        (kb([[text_button("a")]], inline=True, one_time=True), False),
        (kb([[]]), False),
        (kb([[text_button("x" * 41)]]), False),
        (kb([[{"action": {"type": "text"}}]]), False),
        (kb([[{"action": {"type": "open_link", "label": "l"}}]]), False),
        (kb([[{"action": {"type": "open_link", "label": "l", "link": "https://x"},
               "color": "primary"}]]), False),
        (kb([[{"action": {"type": "text", "label": "a"}, "color": "red"}]]), False),
        (kb([[{"action": {"type": "teleport", "label": "a"}}]]), False),
        (kb([[text_button("a", payload={"p": "x" * 300})]]), False),
        ({"one_time": False}, False),
    ],
)
async def test_keyboard_validation(keyboard: dict[str, Any], valid: bool) -> None:
    error = validate_keyboard(json.dumps(keyboard))
    assert (error is None) is valid, error


async def test_persistent_keyboard(emu: VKEmulator, http: aiohttp.ClientSession) -> None:
    await emu.user_message(5, "hi")
    menu = kb([[text_button("Меню", payload={"cmd": "menu"})]], one_time=True)
    await send(http, emu, peer_id=5, message="m", keyboard=json.dumps(menu))
    assert emu.keyboard_of(5) == menu
    await send(http, emu, peer_id=5, message="no keyboard")
    inline = kb([[text_button("Да")]], inline=True)
    await send(http, emu, peer_id=5, message="inline", keyboard=json.dumps(inline))
    assert emu.keyboard_of(5) == menu
    assert emu.inbox(5)[-1].inline and emu.inbox(5)[-1].buttons == ["Да"]

    user = EmulatedUser(emu, 5)
    assert user.buttons() == ["Да", "Меню"]
    await user.press("меню")  # substring, case-insensitive; one_time hides the keyboard
    assert emu.keyboard_of(5) is None

    await send(http, emu, peer_id=5, message="m2", keyboard=json.dumps(kb([[text_button("A")]])))
    assert emu.keyboard_of(5) is not None
    await send(http, emu, peer_id=5, message="bye", keyboard=json.dumps(kb([])))
    assert emu.keyboard_of(5) is None


# ---------------------------------------------------------------------- edit, callbacks


async def test_edit(emu: VKEmulator, http: aiohttp.ClientSession) -> None:
    await emu.user_message(5, "hi")
    inline = json.dumps(kb([[text_button("Да")]], inline=True))
    mid = (await send(http, emu, peer_id=5, message="v1", keyboard=inline))["response"]
    assert (await call(http, emu, "messages.edit", peer_id=5, message_id=mid,
                       message="v2", keyboard=inline))["response"] == 1
    msg = emu.inbox(5)[0]
    assert msg.text == "v2" and msg.edits == ["v1"] and msg.inline
    cmid = msg.conversation_message_id
    await call(http, emu, "messages.edit", peer_id=5, conversation_message_id=cmid, message="v3")
    assert msg.text == "v3" and msg.edits == ["v1", "v2"] and msg.keyboard is None

    assert error_code(await call(http, emu, "messages.edit", peer_id=5, message_id=999,
                                 message="x")) == 100
    assert error_code(await call(http, emu, "messages.edit", peer_id=6, message_id=mid,
                                 message="x")) == 100


async def test_event_answer(emu: VKEmulator, http: aiohttp.ClientSession) -> None:
    event = await emu.callback(5, {"a": 1}, conversation_message_id=1)
    event_id = event["object"]["event_id"]
    ids = {"event_id": event_id, "user_id": 5, "peer_id": 5}
    too_long = json.dumps({"type": "show_snackbar", "text": "x" * 91})
    assert error_code(await call(http, emu, "messages.sendMessageEventAnswer", **ids,
                                 event_data=too_long)) == 100
    data = json.dumps({"type": "show_snackbar", "text": "Готово"})
    ok = await call(http, emu, "messages.sendMessageEventAnswer", **ids, event_data=data)
    assert ok["response"] == 1
    assert emu.event_answers[0].event_data == {"type": "show_snackbar", "text": "Готово"}
    assert error_code(await call(http, emu, "messages.sendMessageEventAnswer", **ids)) == 100


# ---------------------------------------------------------------------- execute


async def test_execute(emu: VKEmulator, http: aiohttp.ClientSession) -> None:
    await emu.user_message(5, "hi")
    await emu.user_message(6, "hi")
    code = (
        'return [API.messages.send({"peer_id": 5, "random_id": 1, "message": "a"}),'
        " API.messages.send({peer_id: 404, random_id: 2, message: 'b'}),"
        ' API.messages.send({"peer_ids": [5, 6], "random_id": 3, "message": "c"})];'
    )
    body = await call(http, emu, "execute", code=code)
    first, failed, multi = body["response"]
    assert isinstance(first, int) and failed is False and len(multi) == 2
    assert body["execute_errors"] == [
        {"method": "messages.send", "error_code": 901,
         "error_msg": "Can't send messages for users without permission"}
    ]
    assert [m.text for m in emu.inbox(5)] == ["a", "c"]
    inner = [c for c in emu.calls if c.via_execute]
    assert len(inner) == 3 and inner[1].error_code == 901

    var_code = 'var u = API.users.get({"user_ids": "5"}); var n = 7; return [u, n, true];'
    response = (await call(http, emu, "execute", code=var_code))["response"]
    assert response[0][0]["id"] == 5 and response[1:] == [7, True]

    single = (await call(http, emu, "execute", code='return API.groups.getById();'))
    assert single["response"]["groups"][0]["id"] == GID and "execute_errors" not in single

    many = "return [" + ",".join(["API.utils.getServerTime()"] * 26) + "];"
    assert error_code(await call(http, emu, "execute", code=many)) == 13
    assert error_code(await call(http, emu, "execute", code="return API.x(;")) == 12

    emu.inject_error("messages.send", 9)
    body = await call(http, emu, "execute",
                      code='return API.messages.send({peer_id: 5, random_id: 0, message: "z"});')
    assert body["response"] is False and body["execute_errors"][0]["error_code"] == 9


async def test_rate_limit(emu: VKEmulator, http: aiohttp.ClientSession) -> None:
    emu.rate_limit = 5
    batch = 'return [' + ",".join(["API.utils.getServerTime()"] * 20) + "];"
    results = await asyncio.gather(
        call(http, emu, "execute", code=batch),
        *(call(http, emu, "utils.getServerTime") for _ in range(7)),
    )
    codes = [error_code(r) for r in results]
    assert codes.count(None) == 5 and codes.count(6) == 3
    assert results[0]["response"] and len(results[0]["response"]) == 20  # one request
    emu.rate_limit = None
    results = await asyncio.gather(*(call(http, emu, "utils.getServerTime") for _ in range(30)))
    assert all("response" in r for r in results)


async def test_injected_failures(emu: VKEmulator, http: aiohttp.ClientSession) -> None:
    await emu.user_message(5, "hi")
    await emu.user_message(6, "hi")
    emu.inject_error("messages.send", 10, peer_id=6)
    assert "response" in await send(http, emu, peer_id=5, message="ok")
    assert error_code(await send(http, emu, peer_id=6, message="x")) == 10
    assert "response" in await send(http, emu, peer_id=6, message="now ok")

    emu.inject_error("messages.send", 901, peer_id=6)
    items = (await send(http, emu, peer_ids="5,6", message="multi"))["response"]
    assert "message_id" in items[0] and items[1]["error"]["code"] == 901

    emu.inject_http_failure("messages.send", status=502)
    url = emu.api_url + "messages.send"
    query = {"access_token": TOKEN, "v": "5.199"}
    async with http.post(url, params=query, data={"peer_id": 5, "random_id": 0,
                                                  "message": "lost"}) as resp:
        assert resp.status == 502 and "<html>" in await resp.text()
    assert emu.inbox(5)[-1].text == "multi"

    emu.inject_http_failure("messages.send", after_processing=True)
    async with http.post(url, params=query, data={"peer_id": 5, "random_id": 77,
                                                  "message": "delivered"}) as resp:
        assert resp.status == 502
    assert emu.inbox(5)[-1].text == "delivered"
    retry = await send(http, emu, peer_id=5, random_id=77, message="delivered")
    assert retry["response"] == emu.inbox(5)[-1].id and len(emu.inbox(5)) == 3


# ---------------------------------------------------------------------- uploads


async def test_uploads(emu: VKEmulator, http: aiohttp.ClientSession) -> None:
    server = (await call(http, emu, "photos.getMessagesUploadServer", peer_id=5))["response"]
    assert server["album_id"] == -64 and server["group_id"] == GID
    form = aiohttp.FormData()
    form.add_field("photo", b"\x89PNG-bytes", filename="chart.png")
    async with http.post(server["upload_url"], data=form) as resp:
        uploaded = json.loads(await resp.text())
    assert isinstance(uploaded["photo"], str)
    bad = await call(http, emu, "photos.saveMessagesPhoto", **{**uploaded, "hash": "0"})
    assert error_code(bad) == 121
    photo = (await call(http, emu, "photos.saveMessagesPhoto", **uploaded))["response"][0]
    attachment = f"photo{photo['owner_id']}_{photo['id']}_{photo['access_key']}"
    assert photo["owner_id"] == -GID and emu.uploads[attachment] == ("chart.png", b"\x89PNG-bytes")

    doc_server = (await call(http, emu, "docs.getMessagesUploadServer", type="doc",
                             peer_id=5))["response"]
    form = aiohttp.FormData()
    form.add_field("file", b"a;b\n1;2\n", filename="report.csv")
    async with http.post(doc_server["upload_url"], data=form) as resp:
        file_token = json.loads(await resp.text())["file"]
    saved = await call(http, emu, "docs.save", file=file_token, title="Отчёт.csv")
    doc = saved["response"]["doc"]
    assert saved["response"]["type"] == "doc" and doc["ext"] == "csv" and doc["size"] == 8
    doc_attachment = f"doc{doc['owner_id']}_{doc['id']}"
    assert emu.uploads[doc_attachment] == ("Отчёт.csv", b"a;b\n1;2\n")

    await emu.user_message(5, "hi")
    await send(http, emu, peer_id=5, attachment=f"{attachment},{doc_attachment}")
    assert emu.inbox(5)[0].attachments == [attachment, doc_attachment]


async def test_waiting_listeners_and_clock(http: aiohttp.ClientSession) -> None:
    now = [1_700_000_000.0]
    async with VKEmulator(group_id=GID, clock=lambda: now[0]) as emu:
        seen: list[tuple[str, Any]] = []
        emu.add_listener(lambda kind, obj: seen.append((kind, obj)))
        event = await emu.user_message(5, "hi")
        assert event["object"]["message"]["date"] == 1_700_000_000
        emu.advance_clock(10)
        now[0] += 5

        async def later() -> None:
            await asyncio.sleep(0.01)
            await send(http, emu, peer_id=5, message="one")
            await send(http, emu, peer_id=5, message="two")

        task = asyncio.create_task(later())
        messages = await emu.wait_for_messages(5, 2, timeout=2)
        await task
        assert [m.text for m in messages] == ["one", "two"]
        assert messages[0].date == 1_700_000_015
        assert [kind for kind, _ in seen] == ["message", "message"]
        with pytest.raises(TimeoutError, match="expected 3 messages"):
            await emu.wait_for_messages(5, 3, timeout=0.02)
        assert [c.method for c in emu.calls] == ["messages.send", "messages.send"]
        assert emu.calls[0].params["message"] == "one" and emu.calls[0].ok


# ---------------------------------------------------------------------- driver


async def test_driver_buttons_and_transcript(emu: VKEmulator, http: aiohttp.ClientSession) -> None:
    user = EmulatedUser(emu, 5, first_name="Анна", last_name="Петрова")
    await user.send("Привет")
    details = {"action": {"type": "callback", "label": "Подробнее", "payload": {"m": 1}}}
    inline = kb([[text_button("Да", payload={"answer": "yes"}), details]], inline=True)
    await send(http, emu, peer_id=5, message="Вы учитель?", keyboard=json.dumps(inline))
    reply = await user.next_reply(timeout=1)
    assert reply.text == "Вы учитель?" and user.buttons() == ["Да", "Подробнее"]

    event = await user.press("Да")
    assert event is not None
    assert event["object"]["message"]["payload"] == '{"answer":"yes"}'
    assert event["object"]["message"]["text"] == "Да"
    cb = await user.press("подроб")
    assert cb is not None and cb["type"] == "message_event"
    assert cb["object"]["conversation_message_id"] == reply.conversation_message_id

    with pytest.raises(AssertionError, match="visible buttons: Да | Подробнее"):
        await user.press("Нет")

    await send(http, emu, peer_id=5, message="Первое")
    assert [m.text for m in user.pending(consume=False)] == ["Первое"]
    await send(http, emu, peer_id=5, message="Второе")
    busy = True  # the test plays the bot: busy until it says otherwise

    async def bot_idle() -> bool:
        return not busy

    emu.bot_idle = bot_idle
    with pytest.raises(AssertionError, match="did not become idle"):
        await user.replies(timeout=0.05)
    busy = False
    replies = await user.replies(timeout=1)
    assert [m.text for m in replies] == ["Первое", "Второе"]
    await send(http, emu, peer_id=5, message="Третье")
    assert [m.text for m in user.pending()] == ["Третье"] and user.pending() == []
    assert await user.replies() == []
    with pytest.raises(AssertionError, match="no reply"):
        await user.next_reply(timeout=0.05)

    await user.press_payload({"cmd": "forged"}, label="x")
    assert emu.user_name(5) == ("Анна", "Петрова")
    text = user.format_transcript()
    assert text.splitlines()[:3] == [
        "Person: Привет",
        "Bot: Вы учитель? [buttons: Да | Подробнее]",
        "Person: Да",
    ]
    assert "Person: [pressed: Подробнее]" in text and text.endswith("Person: x")

    sticker = await user.send_sticker()
    assert sticker["object"]["message"]["attachments"][0]["type"] == "sticker"
    photo = await user.send_photo()
    assert photo["object"]["message"]["attachments"][0]["photo"]["owner_id"] == 5


# ---------------------------------------------------------------------- real vkbottle bot


async def test_vkbottle_bot(
    emu: VKEmulator, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vkbottle import API, Bot, Callback, GroupEventType, Keyboard
    from vkbottle.bot import Message, MessageEvent
    from vkbottle.tools import PhotoMessageUploader

    monkeypatch.chdir(tmp_path)  # vkbottle writes .vkbottle/ into the cwd
    api = API(TOKEN)
    api.API_URL = emu.api_url
    bot = Bot(api=api)

    @bot.on.message(text="фото")
    async def photo(message: Message) -> None:
        attachment = await PhotoMessageUploader(bot.api).upload(b"img", peer_id=message.peer_id)
        await message.answer("Вот", attachment=attachment)

    @bot.on.message(text="меню")
    async def menu(message: Message) -> None:
        keyboard = Keyboard(inline=True).add(Callback("Ок", {"cmd": "ok"}))
        await message.answer("Меню", keyboard=keyboard.get_json())

    @bot.on.message()
    async def echo(message: Message) -> None:
        await bot.api.messages.send(
            peer_id=message.peer_id, random_id=message.id, message=f"Эхо: {message.text}"
        )

    @bot.on.raw_event(GroupEventType.MESSAGE_EVENT, dataclass=MessageEvent)
    async def pressed(event: MessageEvent) -> None:
        await event.show_snackbar("Принято")

    task = asyncio.create_task(bot.run_polling())
    try:
        await emu.wait_for_long_poll()
        user = EmulatedUser(emu, 1001, first_name="Иван")
        await user.send("привет")
        assert (await user.next_reply()).text == "Эхо: привет"

        await user.send("меню")
        assert (await user.next_reply()).buttons == ["Ок"]
        await user.press("Ок")
        assert await emu.wait_until(lambda: len(emu.event_answers) == 1)
        answer = emu.event_answers[0]
        assert answer.event_data == {"type": "show_snackbar", "text": "Принято"}

        await user.send("фото")
        reply = await user.next_reply()
        assert emu.uploads[reply.attachments[0]][1] == b"img"

        # Long-poll trouble must not lose messages: a dropped connection and an expired key.
        emu.drop_long_poll_connection()
        await user.send("после обрыва")
        assert (await user.next_reply()).text == "Эхо: после обрыва"
        emu.fail_long_poll(2)
        await user.send("после ключа")
        assert (await user.next_reply()).text == "Эхо: после ключа"
        assert (tmp_path / ".vkbottle").exists()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await api.http_client.close()


async def test_abandoned_poll_is_released(emu: VKEmulator, http: aiohttp.ClientSession) -> None:
    server = await lp_server(http, emu)
    waiting = asyncio.create_task(poll(http, server, wait=10))
    await emu.wait_for_long_poll()
    waiting.cancel()  # the client goes away mid-poll
    assert await emu.wait_until(lambda: emu.long_poll_clients == 0, timeout=2)
    emu.fail_long_poll(2)  # must reach the next live poll, not the abandoned one
    assert await poll(http, server) == {"failed": 2}
