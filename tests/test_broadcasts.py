"""Coordinator broadcasts through the VK emulator, against the in-process bot (a clock we move).

People who only receive broadcasts are seeded straight into the bot's database (with their
organisation, role and the 24-hour/subscription facts the sender checks) and registered in the
emulator; people who talk to the bot are EmulatedUsers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from bot.vkemu import VKEmulator
from core.kernel.clock import unix
from tests.conftest import BOT_ADMIN, COORDINATOR, MUNICIPAL_COORDINATOR, InProcessBot
from tests.dsl import start_as

NOT_ALLOWED = "Эта команда Вам недоступна.\n\n"
REFUSED = ("Эта команда Вам недоступна. Если Вы хотели задать вопрос, напишите его подробнее "
           "своими словами.")
PHOTO = b"\x89PNG\r\n\x1a\n" + b"broadcast-photo" * 50
PDF = b"%PDF-1.4\n" + b"programme" * 40
DB_NAMES = ("Людмила", "Виктор", "Галина", "Юрий")  # never invented by the emulator


@pytest.fixture
async def file_server() -> AsyncIterator[dict[str, Any]]:
    """Where the files a coordinator attaches live (VK's userapi servers, here on 127.0.0.1)."""
    files = {"photo.jpg": PHOTO, "programme.pdf": PDF}

    async def serve(request: web.Request) -> web.Response:
        data = files.get(request.match_info["name"])
        return web.Response(body=data) if data is not None else web.Response(status=404)

    app = web.Application()
    app.router.add_get("/files/{name}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield {"url": f"http://127.0.0.1:{port}/files/"}
    await runner.cleanup()


def photo(url: str) -> dict[str, Any]:
    return {"type": "photo", "photo": {
        "album_id": -3, "date": 1_700_000_000, "id": 457_239_500, "owner_id": COORDINATOR,
        "access_key": "a1b2c3", "has_tags": False, "text": "",
        "sizes": [{"type": "s", "width": 75, "height": 56, "url": url + "?size=s"},
                  {"type": "x", "width": 604, "height": 453, "url": url}]}}


def document(url: str, title: str) -> dict[str, Any]:
    return {"type": "doc", "doc": {
        "id": 700_001, "owner_id": COORDINATOR, "title": title, "size": len(PDF), "ext": "pdf",
        "date": 1_700_000_000, "type": 1, "url": url}}


async def municipality_ids(app: Any) -> dict[str, int]:
    async with app.deps.db.read() as tx:
        return {m.name: m.id for m in await tx.territory.list_municipalities()}


async def seed_people(app: Any, emulator: VKEmulator, ids: list[int], org_id: int | None,
                      role: str, names: dict[int, str] | None = None, recent: bool = True,
                      allowed: bool = True) -> None:
    """People the bot knows (as if they had talked to it), without a conversation."""
    now = unix(app.deps.clock)
    names = names or {}
    async with app.deps.db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO users (vk_id, first_name, role, org_id, state, newsletter_ok,"
            " last_inbound_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'menu', 1, ?, ?, ?)",
            [(i, names.get(i, ""), role, org_id, now - 3600 if recent else now - 5 * 86400,
              now, now) for i in ids])
    for i in ids:
        emulator.add_user(i, allows_messages=allowed)
        emulator.subscribe(i, 1)  # allowed «Присылать напоминания и опросы»


async def new_org(app: Any, name: str, municipality_id: int, step: int = 1) -> int:
    async with app.deps.db.transaction() as tx:
        org = await tx.territory.insert_organisation(name, "school", municipality_id, None,
                                                     unix(app.deps.clock))
        await tx.execute("UPDATE organisations SET step = ? WHERE id = ?", (step, org.id))
    return org.id


async def wait_for_report(emulator: VKEmulator, uid: int, needle: str, timeout: float = 30) -> Any:
    """The delivery report: one new message; the status message before it ends as a last
    progress line («Итоги — в следующем сообщении»), never as a second copy of the report."""
    def found() -> list[Any]:
        return [m for m in emulator.inbox(uid) if needle in m.text]

    assert await emulator.wait_for_user(uid, lambda: len(found()) >= 1, timeout), \
        [m.text for m in emulator.inbox(uid)]
    assert len(found()) == 1, [m.text for m in found()]
    return found()[0]


async def test_compose_preview_schedule_restart_and_cancel(
        bot_inprocess: InProcessBot, emulator: VKEmulator, users: Any, clock: Any,
        file_server: dict[str, Any]) -> None:
    app = bot_inprocess.app
    muns = await municipality_ids(app)
    org = await new_org(app, "МБОУ СОШ № 7", muns["г. Новосибирск"])
    staff = [3001, 3002, 3003]
    await seed_people(app, emulator, staff, org, "staff",
                      names={3001: "Людмила", 3002: "Виктор", 3003: "Галина"}, recent=False)
    await seed_people(app, emulator, [3101, 3102], org, "parent", recent=False)

    coordinator = await start_as(users, COORDINATOR, "Координатор")
    await coordinator.send("рассылка")
    audience = await coordinator.next_reply()
    assert "Новая рассылка (Тестовая область). Кому отправить?" in audience.text
    assert audience.buttons == ["Всем", "По роли", "Муниципалитет", "Организация",
                                "Шаг активации", "Трудность из опроса", "Отменить"]
    await coordinator.press("По роли")
    await coordinator.next_reply()
    await coordinator.press("Педагогам и сотрудникам")
    prompt = await coordinator.next_reply()
    assert "Получателей сейчас: 3 (педагоги и сотрудники)" in prompt.text

    # Personalisation is checked at preview: an unknown variable or unsafe code is an error.
    await coordinator.send("Здравствуйте, {{ отчество }}!")
    error = (await coordinator.next_reply()).text
    assert "неизвестная подстановка: отчество" in error and "рассылка не отправлена" in error
    await coordinator.send("{{ имя.__class__.__mro__ }}")
    assert "ошибка в подстановке" in (await coordinator.next_reply()).text
    await coordinator.send("{{ имя ")
    assert "ошибка в подстановке" in (await coordinator.next_reply()).text

    # A text with a photo: re-uploaded, previewed exactly as recipients will see it.
    await coordinator.send("Здравствуйте, {{ имя }}! В четверг — вебинар о чатах «Сферума».",
                           attachments=[photo(file_server["url"] + "photo.jpg")])
    intro, preview, confirm = [await coordinator.next_reply() for _ in range(3)]
    assert "Предпросмотр" in intro.text
    assert preview.text == "Здравствуйте, Ольга! В четверг — вебинар о чатах «Сферума»."
    assert preview.attachments[0].startswith("photo-1_")
    assert emulator.upload_of(preview.attachments[0])[1] == PHOTO
    assert preview.buttons == ["Не присылать рассылки"]
    assert "Получателей: 3 (педагоги и сотрудники). Самое длинное сообщение — 61 из 4000 " \
        "символов (организация «МБОУ СОШ № 7»). Отправить?" in confirm.text
    assert confirm.buttons == ["Отправить сейчас", "Запланировать", "Изменить текст", "Отменить"]

    # Change it: a document this time.
    await coordinator.press("Изменить текст")
    await coordinator.next_reply()
    await coordinator.send("{{ имя }}, программа вебинара — во вложении.",
                           attachments=[document(file_server["url"] + "programme.pdf",
                                                 "Программа.pdf")])
    _, preview, _ = [await coordinator.next_reply() for _ in range(3)]
    assert preview.text == "Ольга, программа вебинара — во вложении."
    assert preview.attachments[0].startswith("doc-1_")
    assert emulator.upload_of(preview.attachments[0]) == ("Программа.pdf", PDF)

    # Schedule it by a typed date and time, in the region's time zone.
    await coordinator.press("Запланировать")
    when = await coordinator.next_reply()
    assert "по новосибирскому времени (UTC+7)" in when.text and len(when.buttons) == 5  # 4 quick times + cancel
    await coordinator.send("вчера вечером")
    assert "Не понял время" in (await coordinator.next_reply()).text
    await coordinator.send("23.11 09:00")  # an hour ago in Novosibirsk
    assert "уже прошло" in (await coordinator.next_reply()).text
    await coordinator.send("24.11 09:00")
    scheduled = await coordinator.next_reply()
    assert ("Рассылка №1 запланирована на 24 ноября в 09:00 "
            "по новосибирскому времени (UTC+7)") in scheduled.text
    async with app.deps.db.read() as tx:
        first = await tx.broadcasts.get_broadcast(1, None)
    assert first is not None and first.send_at == int(
        datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Novosibirsk")).timestamp())

    # A second one, scheduled by a quick button, then cancelled.
    await coordinator.send("/broadcast")
    await coordinator.next_reply()
    await coordinator.press("Всем")
    assert "Получателей сейчас: 6" in (await coordinator.next_reply()).text
    await coordinator.send("Это сообщение никто не должен получить.")
    await coordinator.replies()
    await coordinator.press("Запланировать")
    await coordinator.next_reply()
    await coordinator.press(coordinator.buttons()[0])  # in about an hour
    assert "Рассылка №2 запланирована" in (await coordinator.next_reply()).text
    await coordinator.send("отменить рассылку 2")
    assert "Рассылка №2 отменена и не будет отправлена." in (await coordinator.next_reply()).text
    await coordinator.send("рассылки")
    history = await coordinator.next_reply()
    assert "№1 · запланирована" in history.text and "№2 · отменена" in history.text
    assert "Отменить рассылку №1" in history.buttons and "Отменить рассылку №2" not in history.buttons

    # The bot restarts; the next day the scheduler sends №1 (and never №2).
    await bot_inprocess.restart()
    clock.advance(days=1, hours=1)
    service = bot_inprocess.app.deps.services["broadcasts"]
    assert await service.tick() == 1
    report = await wait_for_report(emulator, COORDINATOR, "Рассылка №1 завершена")
    assert "Получателей: 3" in report.text and "Доставлено: 3" in report.text
    coordinator.pending()  # the status message and the report
    for uid, name in ((3001, "Людмила"), (3002, "Виктор"), (3003, "Галина")):
        got = emulator.inbox(uid)
        assert [m.text for m in got] == [f"{name}, программа вебинара — во вложении."]
        assert got[0].attachments == preview.attachments and got[0].intent == "non_promo_newsletter"
    for uid in (3101, 3102):
        assert emulator.inbox(uid) == []
    assert await service.tick() == 0  # a second tick sends nothing again

    # A teacher opts out with the button under the broadcast, and back in with a command.
    teacher = users(3001)
    teacher.pending()
    await teacher.press("Не присылать рассылки")
    assert "больше не будут приходить" in (await teacher.next_reply()).text
    await coordinator.send("рассылка")
    await coordinator.next_reply()
    await coordinator.press("По роли")
    await coordinator.next_reply()
    await coordinator.press("Педагогам и сотрудникам")
    assert "Получателей сейчас: 2" in (await coordinator.next_reply()).text
    await coordinator.press("Отменить")
    assert "Рассылка отменена, ничего не отправлено." in (await coordinator.next_reply()).text
    await teacher.send("присылать рассылки")
    assert "снова будут приходить" in (await teacher.next_reply()).text

    async with bot_inprocess.app.deps.db.read() as tx:
        actions = [e.action for e in await tx.audit.list_entries(50)]
    assert {"broadcast_schedule", "broadcast_cancel", "broadcast_history"} <= set(actions)


async def test_personalised_broadcast_to_2000(bot_inprocess: InProcessBot, emulator: VKEmulator,
                                              users: Any) -> None:
    app = bot_inprocess.app
    muns = await municipality_ids(app)
    orgs = [await new_org(app, "Лицей № 9", muns["г. Новосибирск"]),
            await new_org(app, "Гимназия № 2", muns["Искитимский район"])]
    ids = list(range(200_000, 202_000))
    # Half have names in the bot (unique, so texts differ and cannot share one peer_ids call);
    # the other half have none: the bot must ask users.get.
    db_names = {uid: f"{DB_NAMES[uid % 4]}-{uid}" for uid in ids if uid % 2 == 0}
    opted_out = ids[10:15]
    blocked = ids[20:23]  # never allowed the community's messages
    for k, org in enumerate(orgs):
        part = [uid for uid in ids if uid % 2 == k and uid not in blocked]
        await seed_people(app, emulator, part, org, "staff", names=db_names)
    await seed_people(app, emulator, blocked, orgs[0], "staff", names=db_names, allowed=False)
    async with app.deps.db.transaction() as tx:
        for uid in opted_out:
            await tx.users.update_flags(uid, broadcasts_on=False)
    calls_before = len(emulator.calls_of("users.get"))
    app.deps.services["broadcasts"].progress_every = 0.5  # see a few edits in a short run

    coordinator = await start_as(users, COORDINATOR, "Координатор")
    await coordinator.send("рассылка")
    await coordinator.next_reply()
    await coordinator.press("По роли")
    await coordinator.next_reply()
    await coordinator.press("Педагогам и сотрудникам")
    assert "Получателей сейчас: 1995" in (await coordinator.next_reply()).text
    await coordinator.send("{{ имя }}, добрый день! {{ организация }}: проверьте, пожалуйста, "
                           "чаты классов до пятницы.")
    _, preview, _ = [await coordinator.next_reply() for _ in range(3)]
    assert preview.text == "Ольга, добрый день! : проверьте, пожалуйста, чаты классов до пятницы."
    await coordinator.press("Отправить сейчас")
    status = await coordinator.next_reply()
    assert "Рассылка №1: отправлено 0 из 1995" in status.text
    assert status.buttons == ["Отменить рассылку №1"]
    report = await wait_for_report(emulator, COORDINATOR, "Рассылка №1 завершена", timeout=60)
    assert "Получателей: 1995" in report.text
    assert "Доставлено: 1992" in report.text
    assert "Не разрешили сообщения от сообщества: 3" in report.text
    assert "Не удалось доставить: 0" in report.text

    # Exactly once each, with the right name and organisation.
    for uid in ids:
        inbox = emulator.inbox(uid)
        if uid in opted_out or uid in blocked:
            assert inbox == [], uid
            continue
        assert len(inbox) == 1, (uid, [m.text for m in inbox])
        name = db_names.get(uid) or emulator.user_name(uid)[0]
        org_name = "Лицей № 9" if uid % 2 == 0 else "Гимназия № 2"
        assert inbox[0].text == (f"{name}, добрый день! {org_name}: проверьте, пожалуйста, "
                                 "чаты классов до пятницы."), uid
        assert inbox[0].buttons == ["Не присылать рассылки"]

    # Missing names were fetched with users.get, at most 1000 ids a call, and kept.
    lookups = emulator.calls_of("users.get")[calls_before:]
    asked = [int(x) for c in lookups for x in c.params["user_ids"].split(",")]
    assert all(len(c.params["user_ids"].split(",")) <= 1000 for c in lookups)
    nameless = {uid for uid in ids if uid not in db_names and uid not in opted_out}
    assert nameless <= set(asked) and not set(asked) & set(db_names)
    assert len(lookups) <= 3  # the coordinator's own name + two batches
    async with app.deps.db.read() as tx:
        people = await tx.users.list_users(sorted(nameless))
    assert all(p.first_name == emulator.user_name(p.vk_id)[0] for p in people)

    # The status message was edited with progress while it ran, and ends with the report.
    status_now = next(m for m in emulator.inbox(COORDINATOR) if m.id == status.id)
    assert status_now.text == ("Рассылка №1: отправлено 1995 из 1995. "
                               "Итоги — в следующем сообщении."), status_now.text
    assert status_now.buttons == [] and status_now.id < report.id
    progress = [t for t in status_now.edits if "отправлено" in t]
    assert len(progress) >= 2 and any(" 0 из" not in t for t in progress), status_now.edits
    async with app.deps.db.read() as tx:
        done = await tx.broadcasts.get_broadcast(1, None)
    assert done is not None and (done.status, done.delivered, done.not_allowed) == ("done", 1992, 3)


async def test_municipal_coordinator_stays_in_their_municipality(
        bot_inprocess: InProcessBot, emulator: VKEmulator, users: Any) -> None:
    app = bot_inprocess.app
    muns = await municipality_ids(app)
    own_org = await new_org(app, "Искитимская СОШ № 1", muns["Искитимский район"], step=4)
    other_org = await new_org(app, "Новосибирская гимназия № 3", muns["г. Новосибирск"], step=4)
    await seed_people(app, emulator, [4001, 4002, 4003], own_org, "staff")
    await seed_people(app, emulator, [4101, 4102], other_org, "staff")

    admin = users(BOT_ADMIN, "Админ", "Бота")
    await admin.send(f"назначить координатора {MUNICIPAL_COORDINATOR} Искитимский")
    assert "назначена координатором: Искитимский район" in (await admin.next_reply()).text

    municipal = await start_as(users, MUNICIPAL_COORDINATOR, "Координатор", "Ирина", "Соколова")
    await municipal.send("рассылка")
    audience = await municipal.next_reply()
    assert "Новая рассылка (Искитимский район)" in audience.text
    assert "Муниципалитет" not in audience.buttons
    await municipal.press("Организация")
    listing = (await municipal.next_reply()).text
    assert "Искитимская СОШ № 1" in listing and "Новосибирская" not in listing
    await municipal.send(str(other_org))
    assert "Такой организации среди доступных Вам нет" in (await municipal.next_reply()).text
    await municipal.send("гимназия")
    assert "Такой организации среди доступных Вам нет" in (await municipal.next_reply()).text
    await municipal.send(str(own_org))
    assert "Получателей сейчас: 3 (организация «Искитимская СОШ № 1»)" in \
        (await municipal.next_reply()).text
    await municipal.press("Отменить")
    await municipal.replies()

    # «Step 4» and «all» reach only their municipality, and so does the broadcast itself.
    await municipal.send("рассылка")
    await municipal.next_reply()
    await municipal.press("Шаг активации")
    await municipal.next_reply()
    await municipal.press("Шаг 4")
    assert "Получателей сейчас: 3 (организации на шаге 4 из 8)" in (await municipal.next_reply()).text
    await municipal.press("Отменить")
    await municipal.replies()
    await municipal.send("рассылка")
    await municipal.next_reply()
    await municipal.press_payload({"cmd": "bc.kind", "kind": "municipality"}, label="Муниципалитет")
    assert "Получателей сейчас: 3" in (await municipal.next_reply()).text
    await municipal.send("Совещание администраторов — в среду в 15:00.")
    await municipal.replies()
    await municipal.press("Отправить сейчас")
    await wait_for_report(emulator, MUNICIPAL_COORDINATOR, "Рассылка №3 завершена")
    municipal.pending()
    for uid in (4001, 4002, 4003):
        assert [m.text for m in emulator.inbox(uid)] == ["Совещание администраторов — в среду в 15:00."]
    for uid in (4101, 4102):
        assert emulator.inbox(uid) == []

    # The regional coordinator's broadcast is invisible to the municipal one.
    regional = await start_as(users, COORDINATOR, "Координатор")
    await regional.send("рассылка")
    await regional.next_reply()
    await regional.press("Всем")
    # 5 staff + the municipal coordinator, the bot admin and the regional coordinator himself
    assert "Получателей сейчас: 8" in (await regional.next_reply()).text
    await regional.send("Региональная новость.")
    await regional.replies()
    await regional.press("Запланировать")
    await regional.next_reply()
    await regional.send("25.11 10:00")
    assert "Рассылка №4 запланирована" in (await regional.next_reply()).text

    await municipal.send("отменить рассылку 4")
    assert "Рассылки №4 среди Ваших нет." in (await municipal.next_reply()).text
    await municipal.press_payload({"cmd": "bc.cancel", "id": 4}, label="Отменить рассылку №4")
    assert "Рассылки №4 среди Ваших нет." in (await municipal.next_reply()).text
    await municipal.send("рассылки")
    history = (await municipal.next_reply()).text
    assert "№3" in history and "№4" not in history and "Региональная" not in history
    await regional.send("рассылки")
    assert "№4 · запланирована" in (await regional.next_reply()).text
    async with app.deps.db.read() as tx:
        still = await tx.broadcasts.get_broadcast(4, None)
    assert still is not None and still.status == "scheduled"


async def test_admin_commands_are_refused_to_teachers_and_parents(
        bot_inprocess: InProcessBot, users: Any) -> None:
    teacher = await start_as(users, 7001, "Педагог или сотрудник", "Анна", "Иванова")
    parent = await start_as(users, 7002, "Родитель", "Мария", "Смирнова")
    typed = ["рассылка", "/broadcast", "Рассылки", "/broadcasts", "отменить рассылку 1",
             "/cancel 1", "сводка", "Сводка 2026-W47 Искитимский", "/summary", "воронка",
             "/funnel график", "журнал", "/audit", f"назначить координатора {teacher.uid}",
             f"/grant {parent.uid} Искитимский район", f"снять координатора {COORDINATOR}",
             "/revoke 9002"]
    pressed = [{"cmd": "bc.new"}, {"cmd": "bc.list"}, {"cmd": "bc.cancel", "id": 1},
               {"cmd": "bc.now"}, {"cmd": "bc.kind", "kind": "all"},
               {"cmd": "sum.file", "w": "2026-W47", "m": None, "o": None, "f": "xlsx"},
               {"cmd": "fun.chart", "m": None}, {"cmd": "fun"}]
    for person in (teacher, parent):
        for text in typed:
            await person.send(text)
            reply = await person.next_reply()
            assert reply.text == REFUSED and not reply.attachments, (person.uid, text, reply.text)
        for payload in pressed:
            await person.press_payload(payload, label="…")
            reply = await person.next_reply()  # a button: «нет прав» and the screen they are on
            assert reply.text.startswith(NOT_ALLOWED) and "Главное меню" in reply.text \
                and not reply.attachments, (person.uid, payload)
        await person.send("команды")
        help_text = (await person.next_reply()).text
        assert "не присылать рассылки" in help_text and "сводка" not in help_text

    # A coordinator who is not a bot admin may not grant the role either.
    coordinator = await start_as(users, COORDINATOR, "Координатор")
    await coordinator.send(f"назначить координатора {teacher.uid}")
    assert (await coordinator.next_reply()).text == REFUSED

    async with bot_inprocess.app.deps.db.read() as tx:
        assert await tx.territory.list_grants() == []
        assert await tx.broadcasts.list_broadcasts(None) == []
        entries = await tx.audit.list_entries(100)
    assert not [e for e in entries if e.actor_id in (teacher.uid, parent.uid)]
