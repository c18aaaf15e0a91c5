"""What teachers, parents and school administrators tripped over in the first week (issue 13),
through the VK emulator against the in-process bot with a clock the test sets:

- an invitation code as the very first message, in the menu or inside a sentence joins;
- a typed button label does what the button does (and «Кто зарегистрировался» is not «готово»);
- a code that is not one is told which characters codes never contain;
- dates in Russian words at step 6 and in the broadcast schedule; examples computed from today;
- the consent as a short summary with the full text one press away;
- a teacher's own path, numbered as such.

Each test reads as (what the person does, what they must see). Replies are read once the bot
has handled the update and its sender is idle — a fact, not a quiet window.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from bot.vkemu import EmulatedUser, VKEmulator
from core.kernel.clock import unix
from tests.conftest import COORDINATOR, InProcessBot
from tests.dsl import kb, press, say

CODE = "KX7M4TP"
ORG = "МБОУ «СОШ № 17»"
LINK = "https://sferum.ru/?invite=7f3k9q"


async def sql(bot: InProcessBot, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    async with bot.app.deps.db.read() as tx:
        return [tuple(r) for r in await tx.fetchall(query, params)]


async def school_at_step_6(bot: InProcessBot, admin_id: int, *, deadline: str | None) -> int:
    """An organisation whose admin (already talking to the bot) is on step 6; with a deadline
    it also has its invitation code."""
    deps = bot.app.deps
    now = unix(deps.clock)
    async with deps.db.transaction() as tx:
        municipality = (await tx.territory.list_municipalities())[0]
        org = await tx.activation.upsert_org(None, ORG, "school", municipality.id, admin_id, 6, now)
        await tx.activation.update_structure(org.id, "single")
        await tx.activation.update_links(org.id, [LINK])
        if deadline:
            await tx.activation.update_deadline(org.id, deadline)
            await tx.activation.update_invite_code(org.id, CODE)
        await tx.users.update_role(admin_id, "org_admin", now)
        await tx.users.update_org(admin_id, org.id, now)
        await tx.users.update_state(admin_id, "activation:step", {}, now)
        await tx.personal.upsert_consent(admin_id, "v1", now)
    return org.id


async def admin_on_step_6(bot: InProcessBot, users: Any, *, deadline: str | None) -> EmulatedUser:
    admin = users(101, "Ольга", "Иванова")
    await say(admin, "Начать")
    await press(admin, "Администратор школы")
    await school_at_step_6(bot, 101, deadline=deadline)
    return admin


# -- 1. an invitation code anywhere -----------------------------------------------------------


async def test_a_code_as_the_first_message_joins_after_the_short_consent(
        bot_inprocess: InProcessBot, users: Any) -> None:
    bot = bot_inprocess
    await admin_on_step_6(bot, users, deadline="2026-12-15")

    teacher = users(301, "Анна", "Смирнова")
    text = await say(teacher, CODE)
    # no role question, no hunting for «Регистрация в Сферуме»: the code says who they are
    assert f"Это код приглашения организации «{ORG}»" in text and "Кто Вы?" not in text
    # the consent: a short summary (who, what data, why, how to withdraw), not the 1 600 characters
    assert "152-ФЗ" in text and "ФИО" in text and "Отозвать согласие и удалить" in text
    assert "Какие данные:" not in text and len(text) < 900
    assert kb(teacher) == ["Даю согласие", "Полный текст", "Не даю согласие", "Главное меню"]
    text = await press(teacher, "Полный текст")
    assert "(версия 2)" in text and "Кому передаются" in text and "Полный текст согласия — выше" in text
    assert kb(teacher) == ["Даю согласие", "Не даю согласие", "Главное меню"]
    text = await press(teacher, "Даю согласие")
    assert f"Вы присоединились к организации «{ORG}»" in text
    # a teacher's own short path, not the organisation's «Шаг 6 из 8»
    assert "Шаг 1 из 3. Регистрация в «Сферуме»" in text and "из 8" not in text
    assert LINK in text and "до 15.12.2026" in text
    assert await sql(bot, "SELECT role FROM users WHERE vk_id = 301") == [("staff",)]
    assert await sql(bot, "SELECT version FROM consents WHERE vk_id = 301") == [("v2",)]
    assert "Вы на шаге 1 из 3" in await say(teacher, "где я")
    text = await press(teacher, "Я зарегистрировался(ась)")
    assert "Шаг 2 из 3" in text

    # inside a sentence, typed on a Russian keyboard, as the first message
    second = users(302, "Пётр", "Кузнецов")
    text = await say(second, "Добрый день, мне дали код кх7м4тр")
    assert f"Это код приглашения организации «{ORG}»" in text and "Даю согласие" in kb(second)
    assert "Присылать Вам напоминания" not in text  # one question at a time
    text = await press(second, "Даю согласие")
    assert "Вы присоединились" in text and "Шаг 1 из 3" in text
    assert "Присылать Вам напоминания" in text  # once joined


async def test_a_code_in_the_menu_or_a_sentence_and_codes_that_are_not(
        bot_inprocess: InProcessBot, users: Any) -> None:
    bot = bot_inprocess
    admin = await admin_on_step_6(bot, users, deadline="2026-12-15")

    # a parent who was given the code: in the main menu, inside a sentence
    parent = users(303, "Мария", "Попова")
    await say(parent, "Здравствуйте")
    await press(parent, "Родитель")
    text = await say(parent, f"Администратор прислал код {CODE}, что с ним делать?")
    assert f"Это код приглашения организации «{ORG}»" in text and "Даю согласие" in kb(parent)
    assert await sql(bot, "SELECT role FROM users WHERE vk_id = 303") == [("staff",)]
    assert "Вы присоединились" in await press(parent, "Даю согласие")
    # the same code again: already there, nothing starts over
    text = await say(parent, CODE.lower())
    assert f"Вы уже присоединились к организации «{ORG}»" in text and "Шаг 1 из 3" in text

    # the organisation's own admin typing the code is told what it is, nothing changes
    text = await say(admin, CODE)
    assert "код приглашения сотрудников организации" in text and "Шаг 6 из 8" in text
    assert await sql(bot, "SELECT role FROM users WHERE vk_id = 101") == [("org_admin",)]

    # an ordinary question with a code-like word that no organisation has is a question
    asker = users(304, "Ирина", "Волкова")
    await say(asker, "Начать")
    await press(asker, "Педагог или сотрудник")
    text = await say(asker, "Как зарегистрироваться в Сферуме, если код ABC1234 не подходит?")
    assert "Такого кода" not in text
    # a message that is just a code, but not a possible one: which characters codes never have
    text = await say(asker, "QWE1234")
    assert "Такого кода приглашения нет: в кодах не бывает «Q», «W», «1»" in text
    assert "A C E H K M P T X Y" in text and "2–9" in text and "7 латинских" not in text
    text = await say(asker, "KX7M4TA")
    assert "Такого кода приглашения нет: код KX7M4TA не выдан ни одной организации" in text
    text = await say(asker, "KX7M4")
    assert "в коде 7 знаков, а здесь 5" in text

    # the code screen of «Регистрация в Сферуме» says the same
    await press(asker, "Регистрация в Сферуме")
    await press(asker, "Даю согласие")
    text = await say(asker, "QWE1234")
    assert "в кодах не бывает «Q», «W», «1»" in text and "Напишите код приглашения" in text
    assert "Вы присоединились" in await say(asker, f"вот код: {CODE}")

    # a newcomer's first message that is only a wrong code: told why, then asked who they are
    stranger = users(305)
    text = await say(stranger, "QWE1234")
    assert "в кодах не бывает" in text and "Это бот-помощник по «Сферуму»" in text
    assert "Педагог или сотрудник" in kb(stranger)
    assert await sql(bot, "SELECT role FROM users WHERE vk_id = 305") == [(None,)]

    # guessing codes anywhere is throttled like guessing them on the code screen
    guesser = users(306)
    for guess in ("KX7M4T2", "KX7M4T3", "наш код KX7M4T4", "KX7M4T5"):
        assert "Слишком много" not in await say(guesser, guess)
    assert "Слишком много неверных кодов" in await say(guesser, "KX7M4T6")
    text = await say(guesser, CODE)
    assert "Слишком много неверных кодов" in text and "Вы присоединились" not in text


# -- 2, 3. typed labels do what the buttons do; shortcuts need the whole message ----------------


async def test_typed_labels_are_presses_and_shortcuts_need_the_whole_message(
        bot_inprocess: InProcessBot, users: Any) -> None:
    bot = bot_inprocess
    admin = await admin_on_step_6(bot, users, deadline="2026-12-15")
    text = await say(admin, "Главное меню")
    text = await say(admin, "Активация профиля")
    assert "Шаг 6 из 8" in text
    assert kb(admin)[:2] == ["Кто зарегистрировался", "Приглашение для сотрудников"]

    # the label, typed: the list, not «Шаг 6 … пройден»
    text = await say(admin, "Кто зарегистрировался")
    assert "присоединившиеся по приглашению: 0" in text and "пройден" not in text
    text = await say(admin, "кто зарегистрировался?")
    assert "присоединившиеся по приглашению: 0" in text
    # a sentence with the word is not «done» either
    text = await say(admin, "как узнать, кто зарегистрировался")
    assert "пройден" not in text
    text = await say(admin, "Приглашение для сотрудников")
    assert "Перешлите сотрудникам" in text and CODE in text
    assert await sql(bot, "SELECT step FROM organisations") == [(6,)]

    # menu labels typed: the menu's actions, not the FAQ
    text = await say(admin, "Мои данные")
    assert "Вот всё, что я храню о Вас" in text
    text = await say(admin, "вопросы и ответы")
    assert "Выберите тему" in text and "Роли и права" in admin.buttons()
    text = await say(admin, "Сменить роль")
    assert "кто Вы" in text and kb(admin)[:3] == ["Администратор школы", "Педагог или сотрудник",
                                                   "Родитель"]
    text = await say(admin, "Администратор школы")
    assert "Вы — администратор" in text
    await say(admin, "Активация профиля")

    # the whole message saying «done» still moves the step on
    text = await say(admin, "Всё, готово!")
    assert "Шаг 6 «Регистрация сотрудников» пройден" in text and "Шаг 7 из 8" in text
    # and a button label of the new step, typed
    text = await say(admin, "Для телефона")
    assert "RuStore" in text


# -- 5. dates in words ------------------------------------------------------------------------


async def test_deadline_in_words_with_examples_from_today(
        bot_inprocess: InProcessBot, users: Any, clock: Any) -> None:
    bot = bot_inprocess  # Monday 23 November 2026, 10:00 in Novosibirsk
    admin = await admin_on_step_6(bot, users, deadline=None)
    text = await say(admin, "Активация профиля")
    assert "напишите дату, например 07.12.2026 или «до 7 декабря»" in text
    assert "15.12.2026" not in text
    text = await press(admin, "Готово")
    assert "например 07.12.2026 или «до 7 декабря»" in text

    text = await say(admin, "до 15 декабря")
    assert "Срок регистрации сотрудников — до 15.12.2026" in text and CODE not in text
    assert await sql(bot, "SELECT staff_deadline FROM organisations") == [("2026-12-15",)]
    text = await say(admin, "20 декабря")
    assert "до 20.12.2026" in text
    text = await say(admin, "в пятницу")
    assert "до 27.11.2026" in text
    text = await say(admin, "через неделю")
    assert "до 30.11.2026" in text
    assert "уже прошла (сегодня 23.11.2026)" in await say(admin, "15 декабря 2025")
    text = await say(admin, "31.02.2027")
    assert "Не понял дату" in text and "07.12.2026" in text
    # a day and month already past this year: next year
    text = await say(admin, "10 января")
    assert "до 10.01.2027" in text

    # a week later the examples move with the clock
    clock.advance(days=7)
    async with bot.app.deps.db.transaction() as tx:
        await tx.execute("UPDATE organisations SET staff_deadline = NULL, invite_code = NULL")
    text = await say(admin, "Готово")
    assert "например 14.12.2026 или «до 14 декабря»" in text


async def test_broadcast_scheduled_in_words(bot_inprocess: InProcessBot, users: Any,
                                            emulator: VKEmulator) -> None:
    bot = bot_inprocess  # Monday 23 November 2026, 10:00 in Novosibirsk
    coordinator = users(COORDINATOR, "Галина", "Петрова")
    await say(coordinator, "Начать")
    await press(coordinator, "Координатор")
    await say(coordinator, "рассылка")
    await press(coordinator, "Всем")
    await say(coordinator, "Вебинар о чатах «Сферума» — в четверг.")
    await press(coordinator, "Запланировать")

    text = await say(coordinator, "в пятницу")
    assert "Напишите и время" in text and "24.11 14:30" in text
    text = await say(coordinator, "когда-нибудь потом")
    assert "Не понял время" in text and "«24.11 14:30» или «завтра в 10:00»" in text
    assert "25.11 14:30" not in text
    text = await say(coordinator, "20.11 10:00")  # this year's 20 November has passed
    assert "уже прошло" in text
    text = await say(coordinator, "завтра в 10:00")
    assert "Рассылка №1 запланирована на 24 ноября в 10:00" in text
    send_at = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)
    assert await sql(bot, "SELECT send_at FROM broadcasts WHERE id = 1") == [
        (int(send_at.timestamp()),)]
