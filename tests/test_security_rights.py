"""Rights and territory, tried as an attacker would (issue 15, classes 3, 6, 7).

Every service that reads or changes other people's data refuses a person without the right by
itself (not only through the handler rules); forged buttons and typed commands from teachers,
parents and a municipal coordinator of another municipality reveal nothing; a coordinator
revoked or narrowed in the middle of a dialog sees nothing outside their new territory from the
next screen on; a revoked coordinator's scheduled broadcasts are withheld and the bot admins
are told, and the scheduler re-checks the author's rights at send time.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.vkemu import VKEmulator
from core.admin import service as admin
from core.broadcasts import service as broadcasts
from core.activation import queue as coordination
from core.faq import dialog as faq_dialog
from core.tickets import service as tickets
from core.kernel.access import NOBODY, REGION, Access, NotAllowed, Scope, territory
from core.kernel.clock import unix
from core.kernel.conversation import Conversation, Incoming
from tests.conftest import BOT_ADMIN, COORDINATOR, MUNICIPAL_COORDINATOR, InProcessBot
from tests.dsl import admin_with_consent, press, say, start_as, teacher_asked_for_a_code
from tests.test_broadcasts import municipality_ids, new_org, seed_people

PHONE = "+79131234567"
EMAIL = "secret.director@school.example"
OTHER_QUESTION = "Как подключить школу? Мой телефон +7 913 555-12-34, пишите на boss@nsk.example"
OWN_QUESTION = "Где взять ссылку для педагогов Искитимской школы?"
REFUSED = "Эта команда Вам недоступна."


def test_no_rights_never_means_the_whole_region() -> None:
    municipal = Scope.of_grant(5)
    assert Access(1).scope == NOBODY and not Access(1).coordinator
    with pytest.raises(NotAllowed):
        _ = Access(1).municipality_id
    with pytest.raises(NotAllowed):
        territory(Access(1))
    assert REGION.filter is None and municipal.filter == 5
    assert not NOBODY.sees(5) and not NOBODY.sees(None)
    assert municipal.sees(5) and not municipal.sees(6) and not municipal.sees(None)
    assert REGION.covers(municipal) and REGION.covers(REGION)
    assert municipal.covers(municipal) and not municipal.covers(REGION)
    assert not municipal.covers(Scope.of_grant(6)) and not NOBODY.covers(municipal)


async def _seed_other_municipality(app: Any) -> dict[str, int]:
    """An application (with phone and e-mail), an open question and a help miss in
    г. Новосибирск; a question and a miss in Искитимский район."""
    muns = await municipality_ids(app)
    nsk, isk = muns["г. Новосибирск"], muns["Искитимский район"]
    now = unix(app.deps.clock)
    async with app.deps.db.transaction() as tx:
        await tx.users.upsert_seen(5001, now)
        await tx.users.upsert_seen(5002, now)
        org = await tx.activation.upsert_org(None, "Гимназия № 3 Новосибирска", "school", nsk,
                                             5001, 1, now)
        own = await tx.activation.upsert_org(None, "Искитимская СОШ № 1", "school", isk, 5002,
                                             1, now)
        await tx.execute("UPDATE users SET org_id = ? WHERE vk_id = 5001", (org.id,))
        await tx.execute("UPDATE users SET org_id = ? WHERE vk_id = 5002", (own.id,))
        app_id = await tx.activation.insert_application(org.id, 5001, "Тайнова Вера Петровна",
                                                        PHONE, EMAIL, now)
        ticket = await tx.tickets.insert_ticket(5001, "faq", OTHER_QUESTION, nsk, now)
        own_ticket = await tx.tickets.insert_ticket(5002, "faq", OWN_QUESTION, isk, now)
        await tx.tickets.insert_miss(OTHER_QUESTION, "подключить школу", now, 5001, nsk)
        await tx.tickets.insert_miss(OWN_QUESTION, "ссылка педагог", now, 5002, isk)
        await tx.audit.insert_entry(COORDINATOR, "activation.export",
                                    {"municipality_id": nsk, "count": 1}, now)
    return {"nsk": nsk, "isk": isk, "app": app_id, "ticket": ticket.id,
            "own_ticket": own_ticket.id, "org": org.id, "own_org": own.id}


def _leaks(text: str) -> list[str]:
    return [s for s in ("Тайнова", PHONE, "913", EMAIL, "boss@", "Гимназия № 3", "подключить школу")
            if s in text]


async def _conversation(app: Any, vk_id: int, access: Access, state: str = "menu",
                        data: dict[str, Any] | None = None) -> Conversation:
    async with app.deps.db.transaction() as tx:
        await tx.users.upsert_seen(vk_id, unix(app.deps.clock))
        await tx.users.update_state(vk_id, state, data or {}, unix(app.deps.clock))
        person = await tx.users.get_user(vk_id)
    return Conversation(app.deps, person, access, Incoming(vk_id, "", f"t{vk_id}"))


async def test_every_service_refuses_by_itself(bot_inprocess: InProcessBot) -> None:
    """Defence in depth: called directly (as if a handler rule were missing), each service that
    reads or changes other people's data refuses a person without rights, and changes nothing."""
    app = bot_inprocess.app
    seeded = await _seed_other_municipality(app)
    calls = {
        "applications": lambda c: coordination.applications(c),
        "set_status": lambda c: coordination.set_status(c, seeded["app"], "sent"),
        "reject": lambda c: coordination.set_status(c, seeded["app"], "rejected"),
        "export": lambda c: coordination.export(c),
        "mark_sent": lambda c: coordination.mark_sent(c, 100),
        "stuck": lambda c: coordination.stuck(c),
        "panel": lambda c: coordination.panel(c),
        "tickets": lambda c: tickets.list_open(c),
        "answer": lambda c: tickets.start_answer(c, seeded["ticket"]),
        "misses": lambda c: faq_dialog.top_misses(c),
        "reload": lambda c: faq_dialog.reload(c),
        "summary": lambda c: admin.summary(c, ""),
        "summary_file": lambda c: admin.summary_file(c, admin.SummaryFile(w="2026-W47", f="csv")),
        "funnel": lambda c: admin.funnel(c, ""),
        "funnel_chart": lambda c: admin.funnel_chart(c, admin.FunnelChart()),
        "audit": lambda c: admin.audit_log(c),
        "grant": lambda c: admin.grant(c, "7001"),
        "revoke": lambda c: admin.revoke(c, "9002"),
        "broadcast": lambda c: broadcasts.start(c),
        "history": lambda c: broadcasts.history(c),
        "cancel": lambda c: broadcasts.cancel(c, 1),
    }
    for name, call in calls.items():
        conv = await _conversation(app, 7001, Access(7001))
        with pytest.raises(NotAllowed):
            await call(conv)
        assert name
    # A municipal coordinator (not a bot admin) may not grant or reload either.
    municipal = await _conversation(app, MUNICIPAL_COORDINATOR,
                                    Access(MUNICIPAL_COORDINATOR, scope=Scope.of_grant(seeded["isk"])))
    for call in (calls["grant"], calls["revoke"], calls["reload"]):
        with pytest.raises(NotAllowed):
            await call(municipal)
    async with app.deps.db.read() as tx:
        application = await tx.activation.get_application(seeded["app"])
        assert application is not None and application.status == "new"
        assert await tx.territory.list_grants() == []
        assert await tx.broadcasts.list_broadcasts(None) == []
        entries = await tx.audit.list_entries(100)
    assert not [e for e in entries if e.actor_id == 7001]


async def test_forged_buttons_and_commands_reveal_nothing(
        bot_inprocess: InProcessBot, emulator: VKEmulator, users: Any) -> None:
    app = bot_inprocess.app
    seeded = await _seed_other_municipality(app)
    teacher = await start_as(users, 7001, "Педагог или сотрудник", "Анна", "Иванова")
    parent = await start_as(users, 7002, "Родитель", "Мария", "Смирнова")
    admin_user = users(BOT_ADMIN, "Админ", "Бота")
    await admin_user.send(f"назначить координатора {MUNICIPAL_COORDINATOR} Искитимский")
    await admin_user.next_reply()
    municipal = await start_as(users, MUNICIPAL_COORDINATOR, "Координатор", "Ирина", "Соколова")

    forged = [{"cmd": "crd.apps"}, {"cmd": "crd.export"}, {"cmd": "crd.stuck"},
              {"cmd": "crd.status", "app": seeded["app"], "status": "created"},
              {"cmd": "crd.status", "app": seeded["app"], "status": "rejected"},
              {"cmd": "crd.mark", "upto": 1000}, {"cmd": "ticket.list"},
              {"cmd": "ticket.answer", "id": seeded["ticket"]}, {"cmd": "fun"},
              {"cmd": "fun.chart", "m": None}, {"cmd": "fun.chart", "m": seeded["nsk"]},
              {"cmd": "sum.file", "w": "2026-W47", "m": seeded["nsk"], "o": None, "f": "csv"},
              {"cmd": "sum.file", "w": "2026-W47", "m": None, "o": seeded["org"], "f": "xlsx"},
              {"cmd": "bc.kind", "kind": "municipality"}, {"cmd": "bc.list"}]
    typed = ["заявки", "выгрузка", "застряли", "вопросы", "частые вопросы", "журнал",
             "сводка г. Новосибирск", f"сводка орг {seeded['org']}", "воронка г. Новосибирск",
             "координатору"]
    for person in (teacher, parent, municipal):
        for payload in forged:
            await person.press_payload(payload, label="…")
            got = await person.replies(timeout=20)
            assert got, (person.uid, payload, "no answer at all")
            for reply in got:
                assert not _leaks(reply.text), (person.uid, payload, reply.text)
                assert not reply.attachments, (person.uid, payload)
        for text in typed:
            await person.send(text)
            got = await person.replies(timeout=20)
            assert got, (person.uid, text, "no answer at all")
            for reply in got:
                assert not _leaks(reply.text), (person.uid, text, reply.text)
                assert not reply.attachments, (person.uid, text)

    # What the municipal coordinator does see is their own municipality, contacts masked.
    await municipal.send("частые вопросы")
    misses = (await municipal.next_reply()).text
    assert "Где взять ссылку для педагогов" in misses and "подключить школу" not in misses
    await municipal.send("вопросы")
    questions = await municipal.replies()
    assert any(OWN_QUESTION in r.text for r in questions)
    regional = await start_as(users, COORDINATOR, "Координатор")
    await regional.send("частые вопросы")
    misses = (await regional.next_reply()).text
    assert "Как подключить школу? Мой телефон •••, пишите на •••" in misses
    assert "555" not in misses and "boss@" not in misses

    async with app.deps.db.read() as tx:
        application = await tx.activation.get_application(seeded["app"])
        ticket = await tx.tickets.get_ticket(seeded["ticket"])
    assert application is not None and application.status == "new"
    assert ticket is not None and ticket.status == "open"
    for person in (teacher, parent):
        assert (await _state(app, person.uid)) in ("menu", "")


async def _state(app: Any, vk_id: int) -> str:
    async with app.deps.db.read() as tx:
        person = await tx.users.get_user(vk_id)
    return person.state if person else ""


async def test_revoked_in_the_middle_of_a_broadcast_dialog(
        bot_inprocess: InProcessBot, emulator: VKEmulator, users: Any) -> None:
    app = bot_inprocess.app
    muns = await municipality_ids(app)
    await new_org(app, "Искитимская СОШ № 1", muns["Искитимский район"])
    await new_org(app, "Новосибирская гимназия № 3", muns["г. Новосибирск"])
    admin_user = users(BOT_ADMIN, "Админ", "Бота")
    await admin_user.send(f"назначить координатора {MUNICIPAL_COORDINATOR} Искитимский")
    await admin_user.next_reply()
    municipal = await start_as(users, MUNICIPAL_COORDINATOR, "Координатор", "Ирина", "Соколова")
    await municipal.send("рассылка")
    await municipal.next_reply()
    await municipal.press("Организация")
    assert "Искитимская СОШ № 1" in (await municipal.next_reply()).text

    await admin_user.send(f"снять координатора {MUNICIPAL_COORDINATOR}")
    assert "больше не координатор" in (await admin_user.next_reply()).text

    # The next screen of the dialog (typed, a forged button, an FAQ detour) shows no one's data.
    for action in ("школа", "гимназия", "1"):
        await municipal.send(action)
        for reply in await municipal.replies():
            assert "СОШ" not in reply.text and "гимназия" not in reply.text.lower(), reply.text
            assert "Получателей" not in reply.text
    for payload in ({"cmd": "bc.kind", "kind": "all"}, {"cmd": "bc.pick", "v": "1"},
                    {"cmd": "bc.now"}, {"cmd": "bc.new"}):
        await municipal.press_payload(payload, label="…")
        for reply in await municipal.replies():
            assert "Получателей" not in reply.text and "СОШ" not in reply.text, reply.text
    assert await _state(app, MUNICIPAL_COORDINATOR) == "menu"
    async with app.deps.db.read() as tx:
        assert [b for b in await tx.broadcasts.list_broadcasts(None)] == []


async def test_narrowed_in_the_middle_of_a_dialog_sees_only_the_new_territory(
        bot_inprocess: InProcessBot, emulator: VKEmulator, users: Any) -> None:
    app = bot_inprocess.app
    muns = await municipality_ids(app)
    own = await new_org(app, "Искитимская СОШ № 1", muns["Искитимский район"])
    other = await new_org(app, "Новосибирская гимназия № 3", muns["г. Новосибирск"])
    await seed_people(app, emulator, [4001], own, "staff")
    await seed_people(app, emulator, [4101, 4102], other, "staff")
    admin_user = users(BOT_ADMIN, "Админ", "Бота")
    await admin_user.send("назначить координатора 9003")
    assert "весь регион" in (await admin_user.next_reply()).text
    coordinator = await start_as(users, 9003, "Координатор", "Павел", "Орлов")
    await coordinator.send("рассылка")
    await coordinator.next_reply()
    await coordinator.press("Всем")
    assert "Получателей сейчас: 5" in (await coordinator.next_reply()).text  # 3 staff, admin, himself

    await admin_user.send("назначить координатора 9003 Искитимский")
    assert "Искитимский район" in (await admin_user.next_reply()).text

    await coordinator.send("Новость для всех.")
    shown = await coordinator.replies()
    text = "\n".join(r.text for r in shown)
    assert "Новая рассылка (Искитимский район)" in text and "Получателей" not in text
    await coordinator.press("Всем")
    assert "Получателей сейчас: 1" in (await coordinator.next_reply()).text
    await coordinator.press_payload({"cmd": "bc.kind", "kind": "org"}, label="Организация")
    await coordinator.press("Отменить")
    await coordinator.replies()
    await coordinator.send("рассылка")
    await coordinator.next_reply()
    await coordinator.press("Организация")
    listing = (await coordinator.next_reply()).text
    assert "Искитимская СОШ № 1" in listing and "Новосибирская" not in listing


async def test_revocation_withholds_scheduled_broadcasts_and_tells_admins(
        bot_inprocess: InProcessBot, emulator: VKEmulator, users: Any, clock: Any) -> None:
    app = bot_inprocess.app
    muns = await municipality_ids(app)
    own = await new_org(app, "Искитимская СОШ № 1", muns["Искитимский район"])
    await seed_people(app, emulator, [4001, 4002], own, "staff")
    admin_user = users(BOT_ADMIN, "Админ", "Бота")
    await admin_user.send(f"назначить координатора {MUNICIPAL_COORDINATOR} Искитимский")
    await admin_user.next_reply()
    await admin_user.send("назначить координатора 9004 Искитимский")
    await admin_user.next_reply()

    async def schedule(person: Any, text: str) -> None:
        await person.send("рассылка")
        await person.next_reply()
        await person.press("Всем")
        await person.next_reply()
        await person.send(text)
        await person.replies()
        await person.press("Запланировать")
        await person.next_reply()
        await person.send("25.11 10:00")
        assert "запланирована" in (await person.next_reply()).text

    municipal = await start_as(users, MUNICIPAL_COORDINATOR, "Координатор", "Ирина", "Соколова")
    await schedule(municipal, "Совещание в пятницу.")
    second = await start_as(users, 9004, "Координатор", "Олег", "Титов")
    await schedule(second, "Вебинар в субботу.")

    # Revoked through the bot: withheld at once, the admins told, the author sent nothing.
    before = len(emulator.inbox(MUNICIPAL_COORDINATOR))
    await admin_user.send(f"снять координатора {MUNICIPAL_COORDINATOR}")
    revoked = await admin_user.replies()
    text = "\n".join(r.text for r in revoked)
    assert "Остановлено запланированных и идущих рассылок этого координатора: 1" in text
    assert "№1 · автор: Ирина Соколова, координатор — vk.com/id9002 · " in text, text
    assert "«Совещание в пятницу.»" in text and "по новосибирскому времени (UTC+7)" in text
    assert len(emulator.inbox(MUNICIPAL_COORDINATOR)) == before

    # Removed behind the bot's back (e.g. a config change): the scheduler checks at send time.
    seen = {MUNICIPAL_COORDINATOR: before, 9004: len(emulator.inbox(9004))}
    async with app.deps.db.transaction() as tx:
        await tx.territory.delete_grant(9004)
    clock.advance(days=3)
    service = app.deps.services["broadcasts"]
    assert await service.tick() == 0
    notice = await admin_user.next_reply()
    assert "№2 · автор: Олег Титов, координатор — vk.com/id9004 · " in notice.text
    assert "не будут отправлены" in notice.text
    for uid in (4001, 4002):
        assert emulator.inbox(uid) == []
    for uid, count in seen.items():  # nothing, let alone a cancel button, after losing rights
        assert emulator.inbox(uid)[count:] == []
    await admin_user.send("рассылки")
    history = (await admin_user.next_reply()).text
    assert "№1 · остановлена: у автора больше нет прав" in history
    assert "№2 · остановлена: у автора больше нет прав" in history
    assert await service.tick() == 0


def _labels(message: Any) -> list[str]:
    keyboard = message.keyboard or {}
    return [b["action"].get("label", "") for row in keyboard.get("buttons", []) for b in row]


# -- abuse limits ------------------------------------------------------------------------------
CODE = "KX7M4TP"


async def _org_with_admin(app: Any, name: str, municipality: int, admin: int) -> int:
    now = unix(app.deps.clock)
    async with app.deps.db.transaction() as tx:
        await tx.users.upsert_seen(admin, now)
        org = await tx.activation.upsert_org(None, name, "school", municipality, admin, 6, now)
        await tx.activation.update_invite_code(org.id, CODE)
    return org.id


async def test_invitation_code_guessing_is_throttled(
        bot_inprocess: InProcessBot, emulator: VKEmulator, users: Any, clock: Any) -> None:
    app = bot_inprocess.app
    muns = await municipality_ids(app)
    await _org_with_admin(app, "МБОУ «СОШ № 5»", muns["Искитимский район"], 8800)
    guesser = users(7101, "Игорь", "Подбиралов")
    assert "код приглашения" in await teacher_asked_for_a_code(guesser)
    for wrong in ("KX7M4TA", "KX7M4TC", "KX7M4TE", "KX7M4TH"):
        await guesser.send(wrong)
        assert "Такого кода приглашения нет" in (await guesser.next_reply()).text
    await guesser.send("KX7M4TK")
    wait = (await guesser.next_reply()).text
    assert "Слишком много неверных кодов подряд" in wait and "после 23.11.2026 10:30" in wait
    assert "через 30 мин" in wait
    # The right code, typed or in a forged «Присоединиться», waits too; a restart resets nothing.
    await guesser.send(CODE)
    assert "Слишком много неверных кодов" in (await guesser.next_reply()).text
    await bot_inprocess.restart()
    await guesser.press_payload({"cmd": "stf.join", "code": CODE}, label="Присоединиться")
    assert "Слишком много неверных кодов" in (await guesser.next_reply()).text
    async with bot_inprocess.app.deps.db.read() as tx:  # a new app after the restart
        assert await tx.activation.get_staff(7101) is None
    clock.advance(minutes=31)
    await guesser.send(CODE)
    assert "Вы присоединились к организации «МБОУ «СОШ № 5»»" in \
        "\n".join(r.text for r in await guesser.replies())
    # Format mistakes are not guesses: someone who mistypes is never made to wait for them.
    typo = users(7102, "Нина", "Опечаткина")
    await teacher_asked_for_a_code(typo)
    for _ in range(7):
        await typo.send("KX7M4")
        assert "в коде 7 знаков, а здесь 5" in (await typo.next_reply()).text


async def test_one_digest_to_the_admin_instead_of_a_notice_per_person(
        bot_inprocess: InProcessBot, emulator: VKEmulator, users: Any, clock: Any) -> None:
    app = bot_inprocess.app
    muns = await municipality_ids(app)
    org = await _org_with_admin(app, "МБОУ «СОШ № 5»", muns["Искитимский район"], 8800)
    emulator.add_user(8800, "Алла", "Директорова", allows_messages=True)
    now = unix(app.deps.clock)
    staff = {7201: ("Анна", "Первая"), 7202: ("Борис", "Второй"), 7203: ("Вера", "Третья"),
             7204: ("Глеб", "Четвёртый")}
    async with app.deps.db.transaction() as tx:
        for vk_id, (first, last) in staff.items():
            await tx.users.upsert_seen(vk_id, now)
            await tx.users.update_role(vk_id, "staff", now)
            await tx.users.update_name(vk_id, first, last)
            await tx.personal.upsert_consent(vk_id, "v1", now)
            await tx.activation.upsert_staff(vk_id, org, now)
            await tx.users.update_org(vk_id, org, now)
    people = {vk_id: users(vk_id, *name) for vk_id, name in staff.items()}

    async def confirm(vk_id: int) -> None:
        await people[vk_id].press_payload({"cmd": "stf.done", "item": "reg"},
                                          label="Я зарегистрировался(ась)")
        assert "Я сообщил администратору" in "\n".join(r.text for r in await people[vk_id].replies())

    await confirm(7201)  # the first after a quiet spell goes at once
    assert await emulator.wait_for_user(8800, lambda: len(emulator.inbox(8800)) == 1, 10)
    assert "Анна Первая (МБОУ «СОШ № 5») сообщила, что зарегистрировалась" in \
        emulator.inbox(8800)[0].text  # VK gives her sex: the text agrees
    for vk_id in (7202, 7203):
        await confirm(vk_id)
    service = app.deps.services["staff_digest"]
    assert await service.tick() == 0 and len(emulator.inbox(8800)) == 1
    await bot_inprocess.restart()          # the waiting ones survive a restart
    service = bot_inprocess.app.deps.services["staff_digest"]
    clock.advance(minutes=61)
    assert await service.tick() == 1
    assert await emulator.wait_for_user(8800, lambda: len(emulator.inbox(8800)) == 2, 10)
    digest = emulator.inbox(8800)[1].text
    assert "Сотрудники, сообщившие, что зарегистрировались" in digest and ": 2." in digest
    assert "• Борис Второй (МБОУ «СОШ № 5»)" in digest and "• Вера Третья" in digest
    assert "Анна" not in digest
    assert await service.tick() == 0
    await confirm(7204)  # right after a digest: waits for the next one
    assert len(emulator.inbox(8800)) == 2
    clock.advance(minutes=61)
    assert await service.tick() == 1
    assert await emulator.wait_for_user(8800, lambda: len(emulator.inbox(8800)) == 3, 10)
    # the emulator's VK does not state Глеб's sex: the neutral wording
    assert "Глеб Четвёртый (МБОУ «СОШ № 5») сообщает о регистрации" in emulator.inbox(8800)[2].text


async def test_duplicate_organisation_is_flagged_to_the_coordinator(
        bot_inprocess: InProcessBot, emulator: VKEmulator, users: Any) -> None:

    app = bot_inprocess.app
    muns = await municipality_ids(app)
    await _org_with_admin(app, "МБОУ «СОШ № 17»", muns["г. Новосибирск"], 8800)
    await new_org(app, "МБОУ «СОШ № 17»", muns["Искитимский район"])  # same name, elsewhere
    coordinator = await start_as(users, COORDINATOR, "Координатор")
    poser = users(7301, "Павел", "Самозванов")
    await admin_with_consent(poser)
    await say(poser, "мбоу сош №17")
    await press(poser, "Школа (общее образование)")
    await press(poser, "г. Новосибирск")
    await say(poser, "Самозванов Павел Петрович")
    await say(poser, "8 913 000-11-22")
    await press(poser, "Пропустить")
    assert "Заявка №1 отправлена" in await press(poser, "Отправить заявку")
    notice = (await coordinator.next_reply()).text
    assert "Новая заявка №1" in notice and "Возможный дубликат" in notice
    assert "«МБОУ „СОШ № 17“» (организация №1)" in notice and "№2" not in notice
    await coordinator.send("заявки")
    cards = "\n".join(r.text for r in await coordinator.replies())
    assert "Заявка №1" in cards and "⚠ Возможный дубликат" in cards and "«МБОУ „СОШ № 17“» (№1)" in cards
