"""The 8-step activation through the emulator with the real bot process: an organisation admin
from the consent to the activated organisation, a regional coordinator acting in steps 2–3, three
staff members (one never confirms), a bot restart in the middle, a municipal coordinator who sees
only their municipality, and «Мои данные» with erasing.

Each conversation reads as (what the person does, what they must see)."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.vkemu import VKEmulator
from storage import Database
from tests.conftest import COORDINATOR, MUNICIPAL_COORDINATOR, BotProcess
from tests.dsl import become, inline, kb, press, said, say, teacher_asked_for_a_code

PHONE = "+79131234567"
PHONE_SHOWN = "+7 913 123-45-67"  # how people see it
ADMIN_NAME = "Иванова Ольга Петровна"
LINK = "https://sferum.ru/?invite=7f3k9q"
ZONE = ZoneInfo("Asia/Novosibirsk")


def db_rows(tmp_path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(tmp_path / "data" / "bot.sqlite3") as db:
        return db.execute(sql, params).fetchall()


async def prepare_during_restart(tmp_path: Path) -> None:
    """While the bot is stopped: a municipal coordinator's grant, and a second organisation in
    another municipality whose application has waited 10 days (stuck on step 2)."""
    db = await Database(tmp_path / "data" / "bot.sqlite3").open()
    try:
        async with db.transaction() as tx:
            places = {m.name: m.id for m in await tx.territory.list_municipalities()}
            iskitim = places["Искитимский район"]
            await tx.territory.upsert_grant(MUNICIPAL_COORDINATOR, iskitim, 9000, 0)
            ten_days_ago = int((datetime.now(timezone.utc) - timedelta(days=10)).timestamp())
            org = await tx.activation.upsert_org(None, "МКОУ «Лесная СОШ»", "school", iskitim,
                                                 102, 2, ten_days_ago)
            await tx.activation.insert_application(org.id, 102, "Петров Иван Сергеевич",
                                                   "+79230001122", None, ten_days_ago)
            await tx.users.update_role(102, "org_admin", ten_days_ago)
            await tx.users.update_org(102, org.id, ten_days_ago)
            await tx.personal.upsert_consent(102, "v1", ten_days_ago)
    finally:
        await db.close()


async def test_activation_whole_path(bot: BotProcess, emulator: VKEmulator, users,
                                     tmp_path: Path) -> None:
    admin = users(101, "Ольга", "Иванова")
    coordinator = users(COORDINATOR, "Галина", "Петрова")
    other_admin = users(102, "Иван", "Петров")
    await become(coordinator, "Координатор")
    await say(other_admin, "Начать")

    # -- step 1: the consent first, then the application --------------------------------------
    await say(admin, "Здравствуйте")
    await press(admin, "Администратор школы")
    assert kb(admin)[0] == "Активация профиля" and kb(admin)[-1] == "Мои данные"
    text = await press(admin, "Активация профиля")
    # the consent's short form (who, what, why, how to withdraw); the full text one press away
    assert "Согласие на обработку персональных данных (152-ФЗ), коротко" in text
    assert "Вы согласны?" in text and "Вопрос" not in text  # nothing personal asked yet
    assert kb(admin) == ["Даю согласие", "Полный текст", "Не даю согласие", "Главное меню"]
    text = await press(admin, "Полный текст")
    assert "Согласие на обработку персональных данных (версия 2)" in text and "152-ФЗ" in text
    assert kb(admin) == ["Даю согласие", "Не даю согласие", "Главное меню"]

    text = await press(admin, "Даю согласие")
    assert "согласие записано" in text and "Вопрос 1 из 6" in text
    assert "Вопрос 2 из 6" in await say(admin, "МБОУ «СОШ № 17»")
    assert kb(admin)[:6] == ["Школа (общее образование)", "Колледж, техникум (СПО)",
                                   "Дополнительное образование", "Детский сад",
                                   "Орган управления образованием", "Методический центр"]
    text = await press(admin, "Школа (общее образование)")
    assert "Вопрос 3 из 6" in text and "г. Новосибирск" in kb(admin)
    assert "Вопрос 4 из 6" in await press(admin, "г. Новосибирск")
    assert "Вопрос 5 из 6" in await say(admin, ADMIN_NAME)
    for wrong, explained in [("8 913 123", "не хватает цифр"),
                             ("+1 555 123 4567", "российский мобильный"),
                             ("телефон школы", "цифрами"),
                             ("+7 383 123-45-67", "городской")]:
        text = await say(admin, wrong)
        assert explained in text and "Вопрос 5 из 6" in text, wrong
    assert "Вопрос 6 из 6" in await say(admin, "8 (913) 123-45-67")
    assert "name@example.ru" in await say(admin, "olga@school17")
    text = await say(admin, "olga@school17.ru")
    assert "Проверьте заявку" in text and PHONE_SHOWN in text and ADMIN_NAME in text
    assert kb(admin)[:2] == ["Отправить заявку", "Исправить данные"]

    text = await press(admin, "Отправить заявку")
    assert "Заявка №1 отправлена" in text and "Шаг 2 из 8" in text
    assert "Новая заявка №1" in (await coordinator.next_reply()).text
    assert "Вы на шаге 2 из 8" in await press(admin, "Где я?")
    # an admin's own «Готово» does not exist on step 2; a forged one is answered, not applied
    await admin.press_payload({"cmd": "act.done", "step": 2}, "Готово")
    assert "действуют координаторы" in await said(admin)

    # -- steps 2–3: the coordinator exports, marks «передана», then «профиль создан» -----------
    text = await say(coordinator, "выгрузка")
    assert "Новые заявки для федеральных координаторов: 1" in text
    attachment = emulator.inbox(COORDINATOR)[-1].attachments[0]
    name, data = emulator.upload_of(attachment)
    csv_text = data.decode("utf-8-sig")
    assert name.endswith(".csv") and "ФИО администратора" in csv_text
    assert PHONE in csv_text and "МБОУ «СОШ № 17»" in csv_text and "г. Новосибирск" in csv_text
    text = await press(coordinator, "Отметить 1 как переданные")
    assert "Отмечено как переданные федеральным координаторам: 1" in text
    assert "передана федеральным координаторам" in (await admin.next_reply()).text

    text = await say(coordinator, "/applications")
    assert "Заявка №1" in text and PHONE_SHOWN in text
    assert inline(coordinator) == ["Профиль создан", "Отклонить"]
    text = await press(coordinator, "Профиль создан")
    assert "статус «профиль создан»" in text and "уведомлён" in text
    notice = await admin.next_reply()
    # a typed name is quoted safely: its own «» become the nested „“ (core/untrusted.relayed)
    assert "профиль организации «МБОУ „СОШ № 17“» в «Сферуме» создан" in notice.text
    # the same button pressed again (another coordinator, an old message) changes nothing
    await coordinator.press_payload({"cmd": "crd.status", "app": 1, "status": "created"},
                                    "Профиль создан")
    assert "уже в статусе «профиль создан»" in await said(coordinator)

    # -- steps 3–5 -------------------------------------------------------------------------
    text = await press(admin, "Продолжить активацию")
    assert "Шаг 3 из 8" in text and "нажмите «Готово»" in text
    text = await press(admin, "Готово")
    assert "Шаг 3 «Профиль создан" in text and "Шаг 4 из 8" in text and "https://sferum.ru" in text
    assert kb(admin)[:2] == ["Открыть sferum.ru", "Я зарегистрировался(ась)"]
    await admin.press_payload({"cmd": "act.done", "step": 3}, "Готово")  # an old «Готово»
    text = await said(admin)
    assert "Шаг 3 уже пройден" in text and "Шаг 4 из 8" in text
    text = await press(admin, "Не получается")
    assert "Войти или создать аккаунт" in text and inline(admin) == ["Спросить координатора"]

    text = await say(admin, "я уже зарегистрировался")
    assert "Шаг 4 «Регистрация администратора" in text and "Шаг 5 из 8" in text
    assert "Сначала выберите вариант структуры" in await press(admin, "Готово")
    for wrong, explained in [("http://sferum.ru/join/abc", "https://"),
                             ("https://example.com/invite", "не на «Сферум»"),
                             ("https://sferum.ru/", "адрес самого сайта")]:
        text = await say(admin, wrong)
        assert explained in text and "Один класс «Сотрудники»" in kb(admin), wrong
    assert "Записал: один класс «Сотрудники»" in await press(admin, "Один класс «Сотрудники»")
    text = await say(admin, f"Вот ссылка: {LINK}")
    assert "сохранена" in text and "Всё на месте" in text
    text = await press(admin, "Готово")
    assert "Шаг 6 из 8" in text and "Назначьте срок" in text

    # -- step 6: the deadline, the invitation ---------------------------------------------------
    assert "уже прошла" in await say(admin, "01.01.2020")
    assert "Не понял дату" in await say(admin, "31.02.2027")
    deadline = (datetime.now(ZONE).date() + timedelta(days=10)).strftime("%d.%m.%Y")
    text = await say(admin, deadline)
    assert f"до {deadline}" in text
    code = re.search(r"код приглашения: ([A-Z0-9]{7})", text)[1]
    assert f"https://vk.me/club1?ref={code}" in text
    assert kb(admin)[:2] == ["Кто зарегистрировался", "Приглашение для сотрудников"]

    # -- a restart in the middle: progress is in SQLite -----------------------------------------
    await bot.stop()
    await prepare_during_restart(tmp_path)
    await bot.start()
    assert "Вы на шаге 6 из 8" in await say(admin, "где я")

    # -- staff: by the deep link, by a typed code, and one who never confirms -------------------
    anna = users(201, "Анна", "Смирнова")
    text = await say(anna, "Начать", ref=code, ref_source="other")
    assert "по приглашению организации" in text
    # the role chosen, the organisation of the link is offered at once, above the menu
    text = await press(anna, "Педагог или сотрудник")
    assert "Вы — педагог или сотрудник" in text
    assert "по приглашению организации «МБОУ «СОШ № 17»»" in text
    assert kb(anna)[:2] == ["Присоединиться", "Регистрация в Сферуме"]
    assert "Мои данные" in kb(anna)
    assert len(anna.inbox) == 3  # greeting; role + offer; «Присылать напоминания?»
    # one press: the consent (asked once, a separate act), and «Даю согласие» joins
    text = await press(anna, "Присоединиться")
    assert "Согласие на обработку" in text and "увидит администратор" in text
    text = await press(anna, "Даю согласие")
    assert "согласие записано" in text and "Вы присоединились к организации «МБОУ «СОШ № 17»»" in text
    # a teacher's own path: «Шаг 1 из 3», not the organisation's «Шаг 6 из 8»
    assert "Шаг 1 из 3" in text and "из 8" not in text and LINK in text
    assert f"до {deadline}" in text
    text = await press(anna, "Я зарегистрировался(ась)")
    assert "Я сообщил администратору" in text and "Шаг 2 из 3" in text
    notice = await admin.next_reply()
    assert "Анна Смирнова" in notice.text and "подтвердите" in notice.text.lower()
    assert "Шаг 3 из 3" in await press(anna, "Мессенджер работает")
    assert "Всё готово" in await press(anna, "Я в чате сотрудников")

    petr = users(202, "Пётр", "Кузнецов")
    assert "Напишите код приглашения" in await teacher_asked_for_a_code(petr)
    assert "Такого кода приглашения нет" in await say(petr, "KX7M4TP" if code != "KX7M4TP" else "KX7M4TA")
    assert "Вы присоединились" in await say(petr, code.lower())
    # an admin-only button, forged by a staff member: refused, the organisation does not move
    await petr.press_payload({"cmd": "act.done", "step": 6}, "Готово")
    text = await said(petr)
    assert "Эта команда Вам недоступна" in text and "Шаг 1 из 3" in text
    assert db_rows(tmp_path, "SELECT step FROM organisations WHERE id = 1") == [(6,)]
    assert "Я сообщил администратору" in await say(petr, "Готово, зарегистрировался")
    # a second confirmation within the hour waits for the admin's next digest (one message per
    # limits.staff_digest_minutes, not one per person); the list below already shows it
    assert not [m for m in admin.pending() if "Пётр" in m.text]

    maria = users(203, "Мария", "Попова")
    await teacher_asked_for_a_code(maria)
    assert "Вы присоединились" in await say(maria, code)

    text = await press(admin, "Кто зарегистрировался")
    assert "присоединившиеся по приглашению: 3, подтвердили регистрацию: 2" in text
    assert "✅ Анна Смирнова" in text and "✅ Пётр Кузнецов" in text
    assert "⏳ Мария Попова — ещё не подтвердила регистрацию" in text  # VK: sex 1
    assert "Подтвердите в «Сферуме» профили" in text

    # -- steps 6–8 and the activated organisation -------------------------------------------------
    text = await press(admin, "Готово")
    assert "Не забудьте подтвердить" in text and "Шаг 7 из 8" in text
    assert "RuStore" in await press(admin, "Для телефона")
    assert "https://web.vk.me/" in await press(admin, "Для компьютера")
    # two presses of «Готово» at once (two devices): one is applied, the other is told so
    await admin.press("Готово")
    await admin.press_payload({"cmd": "act.done", "step": 7}, "Готово")
    text = await said(admin)
    assert text.count("Шаг 7 «VK Мессенджер") == 1 and "Шаг 7 уже пройден" in text
    assert db_rows(tmp_path, "SELECT step FROM organisations WHERE id = 1") == [(8,)]
    text = await press(admin, "Назад")
    assert "Вернулись к шагу 7" in text
    await press(admin, "Готово")
    text = await press(admin, "Где я?")
    assert "Вы на шаге 8 из 8" in text and "✅ 7. VK Мессенджер" in text
    text = await press(admin, "Готово")
    assert "Все 8 шагов пройдены" in text and "считается активированной" in text
    step, activated_at = db_rows(tmp_path, "SELECT step, activated_at FROM organisations"
                                           " WHERE id = 1")[0]
    assert step == 9 and activated_at

    # -- coordinators: the funnel, the stuck, a municipal coordinator's view ---------------------
    text = await press(coordinator, "Координатору")
    assert "Выгрузка CSV" in kb(coordinator)
    text = await press(coordinator, "Воронка")
    assert "Всего организаций: 2, активированы: 1" in text and "Шаг 2. Передано" in text
    assert "• г. Новосибирск — 1: активированы — 1" in text
    assert "• Искитимский район — 1: шаг 2 — 1" in text
    assert inline(coordinator) == ["График воронки"]
    text = await say(coordinator, "застряли")
    assert "«МКОУ „Лесная СОШ“» (Искитимский район) — шаг 2" in text and "ждёт координаторов" in text

    municipal = users(MUNICIPAL_COORDINATOR, "Нина", "Орлова")
    await become(municipal, "Координатор")
    text = await say(municipal, "заявки")
    assert "Искитимский район" in text and "Лесная" in text and "+7 923 000-11-22" in text
    assert "СОШ № 17" not in text and PHONE_SHOWN not in text
    await press(municipal, "Отклонить")
    text = await say(municipal, "Не указана электронная почта школы, уточните данные")
    assert "статус «отклонена»" in text
    notice = await other_admin.next_reply()
    assert "вернул на доработку" in notice.text and "Не указана электронная почта" in notice.text
    assert inline(other_admin) == ["Исправить и отправить заново"]
    # the returned application is corrected and sent again: the same organisation, a new number
    text = await press(other_admin, "Исправить и отправить заново")
    assert "Пройдёмся по заявке" in text and "Сейчас записано: «МКОУ «Лесная СОШ»»" in text
    for _ in range(5):  # name, kind, municipality, full name, phone are right
        await press(other_admin, "Оставить как есть")
    text = await say(other_admin, "lesnaya@school.ru")
    assert "+7 923 000-11-22" in text and "lesnaya@school.ru" in text
    text = await press(other_admin, "Отправить заявку")
    assert "Заявка №3 отправлена" in text and "Шаг 2 из 8" in text
    assert "Новая заявка №3" in (await municipal.next_reply()).text
    assert "Новая заявка №3" in (await coordinator.next_reply()).text
    assert db_rows(tmp_path, "SELECT COUNT(*) FROM organisations") == [(2,)]
    # an application of another municipality, forged: refused
    await municipal.press_payload({"cmd": "crd.status", "app": 1, "status": "rejected"}, "Отклонить")
    assert "недоступна" in await said(municipal)
    assert "Воронка" in kb(municipal)  # the panel is back after the reason
    text = await press(municipal, "Воронка")
    assert "— Искитимский район. Всего организаций: 1, активированы: 0" in text
    assert "Шаг 2. Передано федеральным координаторам: 1" in text
    assert "г. Новосибирск" not in text and "По муниципалитетам" not in text
    text = await press(municipal, "Застряли")
    assert "Организаций без движения больше 7 дн. (Искитимский район) нет" in text
    text = await press(municipal, "Выгрузка CSV")
    assert "Новые заявки для федеральных координаторов: 1" in text
    _, data = emulator.upload_of(emulator.inbox(MUNICIPAL_COORDINATOR)[-1].attachments[0])
    assert "Лесная" in data.decode("utf-8-sig") and PHONE not in data.decode("utf-8-sig")

    audit = db_rows(tmp_path, "SELECT actor_id, action FROM audit_log WHERE action LIKE 'activation.%'")
    assert (COORDINATOR, "activation.export") in audit
    assert (COORDINATOR, "activation.status") in audit
    assert (MUNICIPAL_COORDINATOR, "activation.status") in audit
    assert (MUNICIPAL_COORDINATOR, "activation.applications_viewed") in audit

    # -- «Мои данные»: what is stored, and erasing ----------------------------------------------
    text = await say(admin, "мои данные")
    assert PHONE_SHOWN in text and ADMIN_NAME in text and "версия v2" in text
    text = await press(maria, "Главное меню")
    text = await press(maria, "Мои данные")
    assert "Регистрация сотрудника: присоединились" in text and "СОШ № 17" in text
    assert "Отменить удаление нельзя" in await press(maria, "Отозвать согласие и удалить")
    text = await press(maria, "Да, удалить мои данные")
    assert "согласие отозвано" in text and kb(maria) == ["Начать"]
    assert db_rows(tmp_path, "SELECT COUNT(*) FROM staff WHERE vk_id = 203") == [(0,)]
    assert db_rows(tmp_path, "SELECT role, first_name FROM users WHERE vk_id = 203") == [(None, "")]
    assert db_rows(tmp_path, "SELECT withdrawn_at IS NOT NULL FROM consents WHERE vk_id = 203") == [(1,)]
    text = await press(admin, "Кто зарегистрировался")
    assert "Мария Попова" not in text and "присоединившиеся по приглашению: 2" in text

    # personal data never reaches the log
    log = bot.log_text()
    assert PHONE not in log and ADMIN_NAME not in log and "+79230001122" not in log


async def test_help_ticket_decline_and_erasing_an_admin(bot: BotProcess, users,
                                                        tmp_path: Path) -> None:
    coordinator = users(COORDINATOR, "Галина", "Петрова")
    await become(coordinator, "Координатор")
    admin = users(111, "Елена", "Соколова")
    await become(admin, "Администратор школы")

    # «где я» before anything: step 1, and the way in (the consent first)
    text = await say(admin, "где я")
    assert "Вы на шаге 1 из 8" in text and "Вы согласны?" in text

    # no consent, no form; the menu stays
    text = await press(admin, "Не даю согласие")
    assert "Без согласия я не могу принять заявку" in text and "Активация профиля" in kb(admin)

    # the form is kept while the admin leaves and comes back
    await press(admin, "Активация профиля")
    await press(admin, "Даю согласие")
    await say(admin, "МАДОУ «Детский сад № 3»")
    await press(admin, "Детский сад")
    await press(admin, "Главное меню")
    text = await press(admin, "Активация профиля")
    assert "Продолжим заявку" in text and "Вопрос 3 из 6" in text
    await press(admin, "Назад")
    assert "Вопрос 3 из 6" in await press(admin, "Оставить как есть")
    await say(admin, "искитимский")  # typed instead of pressed
    await say(admin, "Соколова Елена Викторовна")
    await say(admin, "+7 923 555 44 33")
    await press(admin, "Пропустить")
    text = await press(admin, "Отправить заявку")
    assert "Шаг 2 из 8" in text
    await coordinator.replies()
    # a button of the form, pressed after the form is sent: answered, nothing changes
    await admin.press_payload({"cmd": "act.kind", "kind": "school"}, "Школа (общее образование)")
    text = await said(admin)
    assert "относится к другому шагу" in text and "Шаг 2 из 8" in text
    assert db_rows(tmp_path, "SELECT kind FROM organisations") == [("preschool",)]

    # text the step does not understand: what the step expects, with its keyboard
    text = await say(admin, "12345")
    assert "не совсем понял" in text and "Шаг 2 из 8" in text and "Где я?" in kb(admin)

    # «Не получается» with a typed problem goes to the coordinator as it is
    text = await say(admin, "не получается, заявка висит уже неделю")
    assert inline(admin) == ["Передать координатору"]
    text = await press(admin, "Передать координатору")
    assert "Передал Ваш вопрос координатору" in text and "Шаг 2 из 8" in text
    question = await coordinator.next_reply()
    assert "заявка висит уже неделю" in question.text
    assert "Напишите ответ" in await press(coordinator, "Ответить")
    assert "отправлен" in await say(coordinator, "Заявку передали, профиль создадут за неделю")
    assert "профиль создадут за неделю" in (await admin.next_reply()).text

    # what the erasing must also reach: another open question, this week's reminder and survey
    # runs, a reminder still waiting in the outbox (and someone else's, which stays)
    db_rows(tmp_path, "INSERT INTO tickets (vk_id, source, question, created_at)"
                      " VALUES (111, 'faq', 'Где взять код приглашения?', 0)")
    db_rows(tmp_path, "INSERT INTO schedule_runs (job, period, peer_id, queued_at) VALUES"
                      " ('reminders', '2026-W48', 111, 0), ('survey', '2026-W48', 111, 0),"
                      " ('reminders', '2026-W48', ?, 0)", (COORDINATOR,))
    db_rows(tmp_path, "INSERT INTO outbox_jobs (id, name, complete, total, pending, delivered,"
                      " created_at, updated_at) VALUES (1, 'reminder:w48', 1, 2, 2, 0, 0, 0),"
                      " (2, 'reminder:w47', 1, 1, 0, 1, 0, 0)")
    db_rows(tmp_path, "INSERT INTO outbox_texts (id, job_id, key, kind, text) VALUES"
                      " (1, 1, 'a', 'reminder', 'x'), (2, 2, 'b', 'reminder', 'x'),"
                      " (3, 1, 'c', 'reminder', 'x')")
    db_rows(tmp_path, "INSERT INTO outbox (job_id, peer_id, text_id, status, updated_at) VALUES"
                      " (1, 111, 1, 'pending', 0), (2, 111, 2, 'delivered', 0),"
                      " (1, ?, 3, 'pending', 0)", (COORDINATOR,))

    # erasing an admin blanks the application and the organisation loses its admin
    await press(admin, "Главное меню")
    await press(admin, "Мои данные")
    await press(admin, "Отозвать согласие и удалить")
    assert "согласие отозвано" in await press(admin, "Да, удалить мои данные")
    assert db_rows(tmp_path, "SELECT admin_full_name, admin_phone, admin_email, applicant_vk_id"
                             " FROM applications") == [("", "", None, 0)]
    assert db_rows(tmp_path, "SELECT admin_vk_id FROM organisations") == [(None,)]
    # the questions stay counted, without their text or the answer's
    assert db_rows(tmp_path, "SELECT status, question, answer FROM tickets WHERE vk_id = 111"
                             " ORDER BY id") == [("answered", "", ""), ("open", "", None)]
    assert db_rows(tmp_path, "SELECT job, peer_id FROM schedule_runs") == [
        ("reminders", COORDINATOR)]
    assert db_rows(tmp_path, "SELECT t.key, o.status FROM outbox o JOIN outbox_texts t"
                             " ON t.id = o.text_id ORDER BY t.key") == [
        ("a", "cancelled"), ("b", "delivered"), ("c", "pending")]
    assert db_rows(tmp_path, "SELECT pending, cancelled FROM outbox_jobs WHERE id = 1") == [(1, 1)]
    # coordinators: the erased open question is not in the list, its old «Ответить» says why
    assert "Открытых вопросов нет" in await say(coordinator, "вопросы")
    open_id = db_rows(tmp_path, "SELECT id FROM tickets WHERE status = 'open'")[0][0]
    await coordinator.press_payload({"cmd": "ticket.answer", "id": open_id}, "Ответить")
    assert "удалил свои данные" in await said(coordinator)
    text = await say(coordinator, "заявки")
    # an erased application leaves the queue (never a «новая» card with empty fields)
    assert "Новых заявок нет" in text and "+7 923 555-44-33" not in text
    # the old «Да» button again: nothing is erased twice, the person is asked first
    assert kb(admin) == ["Начать"]
