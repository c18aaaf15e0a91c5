"""Attacks on the FAQ's per-role wording, its unsure reply with a best guess and what
coordinators teach it: every keyboard fits VK for every role, a coordinator's words stay data,
forged buttons and garbage get a polite answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.vkemu.keyboard import validate_keyboard
from core.faq import dialog
from core.faq.index import LEARNED_ENTRIES, Match, Scored
from core.kernel.access import Access
from core.kernel.clock import unix
from core.kernel.conversation import Conversation, Incoming
from core.kernel.domain import ROLES
from core.kernel.ui import Keyboard, Reply
from tests.conftest import BOT_ADMIN, COORDINATOR, BotProcess, InProcessBot
from tests.dsl import become

# What a coordinator might type: live VK markup, a template, invisible direction marks.
MENTION = "[id1|Вася Пупкин]"
HOSTILE_TITLE = "\u202eконкурс {{ 7*7 }} [id1|Вася] @all в чате класса\u200b"
HOSTILE_ANSWER = (f"{MENTION}, @all: конкурс {{{{ 7*7 }}}} {{% if x %}}объявят{{% endif %}} в "
                  "октябре \u202eследите\u202c за рассылкой.")


def vk_keyboard(keyboard: Keyboard) -> dict[str, Any]:
    """The keyboard as the VK adapter sends it (for the emulator's validator)."""
    return {"inline": keyboard.inline, "one_time": keyboard.one_time,
            "buttons": [[{"action": {"type": "text", "label": b.label,
                                     "payload": b.payload_json()}, "color": b.color}
                         for b in row] for row in keyboard.rows]}


def checked(replies: list[Reply], where: str) -> list[Reply]:
    for reply in replies:
        assert reply.text.strip(), where
        if reply.keyboard is not None and reply.keyboard.rows:
            reply.keyboard.validate()
            problem = validate_keyboard(vk_keyboard(reply.keyboard))
            assert problem is None, f"{where}: {problem}"
    return replies


def shown_as_written(text: str) -> None:
    """A coordinator's words in the bot's message: the template and the text as typed, no live
    VK mention (``[id1|…]``, ``@all``) and no invisible direction marks."""
    assert "{{ 7*7 }}" in text and "{% if x %}объявят{% endif %}" in text, text
    assert "[id1|" not in text and "@all" not in text, text
    assert not {"\u202e", "\u202c", "\u200b"} & set(text), text


def write_learned(folder: Path, entry_id: str, topic: str, title: str, short: str,
                  answer: str, phrasing: str) -> None:
    front = {"id": entry_id, "topic": topic, "title": title, "short": short,
             "brief": answer[:300], "phrasings": [phrasing], "related": []}
    path = folder / LEARNED_ENTRIES / f"{entry_id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
                    + "---\n" + answer + "\n", encoding="utf-8")


async def conversation(app: Any, vk_id: int, role: str | None, state: str) -> Conversation:
    async with app.deps.db.transaction() as tx:
        await tx.users.upsert_seen(vk_id, unix(app.deps.clock))
        await tx.users.update_state(vk_id, state, {}, unix(app.deps.clock))
        person = await tx.users.get_user(vk_id)
    person = person.model_copy(update={"role": role})
    return Conversation(app.deps, person, Access(vk_id), Incoming(vk_id, "вопрос", f"t{vk_id}"))


async def test_every_faq_keyboard_fits_vk_for_every_role(bot_inprocess: InProcessBot) -> None:
    """Every entry (a learned one with a coordinator's longest words among them) as an answer,
    its details, several answers at once, a best guess and «did you mean», every topic page
    and the topics menu, for a newcomer and every role, in and out of a flow: labels within
    40 characters, at most 6 rows and 10 buttons, and a newcomer's answer with «кто Вы?» too."""
    app = bot_inprocess.app
    probe = await conversation(app, 70_000, None, "menu")
    faq = dialog.service(probe)
    write_learned(faq.learned, "learned-77", faq.book.topics[0].id,
                  (HOSTILE_TITLE + " " + "Я" * 80)[:80], "\u202e" + "Щ" * 39,
                  HOSTILE_ANSWER, "вопрос координатору о конкурсе")
    faq.reload()
    entries = list(faq.book.entries.values())
    assert any(e.learned for e in entries)
    rendered = 0
    for number, role in enumerate((None, *ROLES)):
        for state in ("menu", "activation:step1"):
            conv = await conversation(app, 70_001 + number, role, state)
            where = f"{role}/{state}"
            checked(dialog.topics_menu(conv), f"topics {where}")
            for topic in faq.book.topics:
                pages = (len(faq.book.by_topic(topic.id)) + dialog.PAGE - 1) // dialog.PAGE
                for page in range(pages):
                    checked(dialog.topic_page(conv, topic.id, page), f"{topic.id} {where}")
            for entry in entries:
                here = f"{entry.id} {where}"
                answer = checked(dialog.answer_entry(conv, entry.id), here)
                checked(await dialog.after_answer(conv, answer), f"with roles {here}")
                checked(dialog.details(conv, entry.id), f"details {here}")
                near = [entry.id, *(e.id for e in faq.book.related_of(entry, role))][:4]
                checked(dialog.answer_parts(conv, near), f"parts {here}")
                others = [e for e in entries if e.id != entry.id][:3]
                alternatives = tuple(Scored(e, 0.3) for e in [entry, *others])[:3]
                found = Match("вопрос", ("вопрос",), None, 0.35, alternatives,
                              tuple(t.id for t in faq.book.topics[:2]), False)
                guess = checked(await dialog.dont_know(conv, found, True, entry.id), here)
                assert guess[0].template == "faq.best_guess"
                if entry.learned:
                    for reply in (*answer, *guess, *dialog.details(conv, entry.id)):
                        shown_as_written(reply.text)
                    assert "[id1|" not in guess[0].text.split("\n")[0]  # nor in its title
                checked(await dialog.dont_know(conv, found, True), f"did you mean {here}")
                rendered += 5
    assert rendered == 5 * 2 * (1 + len(ROLES)) * len(entries)


@pytest.mark.parametrize("messenger", ["vk", "max"])
async def test_a_coordinators_answer_taught_to_the_faq_stays_data(bot_fast: InProcessBot,
                                                                 users) -> None:
    """A coordinator answers with VK mention markup, a template and a direction override; an
    admin publishes the draft; whoever asks next reads those words as typed, with no live link
    to anyone's page and nothing reversed, in the short answer and in «Подробнее»."""
    admin = users(BOT_ADMIN)
    await become(admin, "Координатор")
    coordinator = users(COORDINATOR)
    await become(coordinator, "Координатор")
    teacher = users(3306)
    await become(teacher, "Педагог или сотрудник")
    question = "будет ли в районе конкурс на лучший чат класса"
    await teacher.send(f"[id2|Мария] {question}")
    await teacher.next_reply()
    await teacher.press("Спросить координатора")
    await teacher.replies()
    await admin.replies()
    await coordinator.next_reply()
    await coordinator.press("Ответить")
    await coordinator.next_reply()
    await coordinator.send(HOSTILE_ANSWER)
    await coordinator.replies()
    await teacher.replies()
    await coordinator.press("Добавить в справку")
    await coordinator.next_reply()
    await coordinator.press("Новый вопрос (черновик)")
    assert "Черновик" in (await coordinator.next_reply()).text
    await admin.replies()
    await admin.send("черновики справки")
    await admin.next_reply()
    await admin.press("Опубликовать")
    assert "опубликован" in (await admin.next_reply()).text

    parent = users(3307)
    await become(parent, "Родитель")
    await parent.send(question)
    answer = await parent.next_reply()
    assert "Ответ координатора" in answer.text
    shown_as_written(answer.text)
    await parent.press(answer.buttons[0])  # «Подробнее», or the guess's
    details = await parent.next_reply()
    shown_as_written(details.text)
    assert "[id2|" not in details.text  # the asker's markup is not in the title either


STAFF_ONLY = "mon-active-org"  # audience: [org_admin, staff, coordinator]


@pytest.mark.parametrize("messenger", ["vk", "max"])
async def test_forged_faq_buttons_get_a_polite_answer_and_lose_nothing(
        bot_fast: InProcessBot, users, messenger: str) -> None:
    """Forged «Подробнее» and question buttons: a staff-only entry (a parent may read it, as
    in its topic, but is offered no staff-only question under it), unknown, huge and
    wrongly typed ids, pages out of range. Each gets a polite Russian answer; the person's
    place in their flow is kept."""
    app = bot_fast.app
    teacher = users(3401)
    await become(teacher, "Педагог или сотрудник")
    await teacher.press("Регистрация в Сферуме")
    await teacher.replies()
    async with app.deps.db.read() as tx:
        before = await tx.users.get_user(teacher.uid if messenger == "vk" else
                                         (await tx.accounts.get_person("max", teacher.uid)))
    staff_only = app.deps.services["faq"].book.get(STAFF_ONLY)
    assert staff_only is not None and "parent" not in staff_only.audience
    for payload in [
        {"cmd": "faq.more", "id": STAFF_ONLY},
        {"cmd": "faq.show", "id": STAFF_ONLY},
        {"cmd": "faq.more", "id": "no-such-entry"},
        {"cmd": "faq.more", "id": "x" * 230},
        {"cmd": "faq.show", "id": "../../../etc/passwd"},
        {"cmd": "faq.more", "id": 12345},
        {"cmd": "faq.show", "id": None},
        {"cmd": "faq.more", "id": ["a"]},
        {"cmd": "faq.more"},
        {"cmd": "faq.topic", "t": "calls", "p": -5},
        {"cmd": "faq.topic", "t": "calls", "p": 2 ** 53},
        {"cmd": "faq.topic", "t": "calls", "p": 2 ** 60},
        {"cmd": "faq.topic", "t": "calls", "p": "1"},
        {"cmd": "faq.topic", "t": {"id": 1}},
    ]:
        await teacher.press_payload(payload, label="Подробнее")
        got = await teacher.replies()
        assert got, payload
        text = "\n".join(m.text for m in got)
        assert any("а" <= ch <= "я" for ch in text.lower()), (payload, text)
        assert "Traceback" not in text and "error" not in text.lower(), (payload, text)
    async with app.deps.db.read() as tx:
        after = await tx.users.get_user(before.vk_id)
    assert (after.state, after.state_data) == (before.state, before.state_data)

    parent = users(3402)
    await become(parent, "Родитель")
    await parent.press_payload({"cmd": "faq.more", "id": STAFF_ONLY}, label="Подробнее")
    details = await parent.next_reply()
    assert details.text.startswith("Тема: ")
    book = app.deps.services["faq"].book
    staff_labels = {book.label(e, "parent") for e in book.entries.values()
                    if e.audience and "parent" not in e.audience}
    assert not staff_labels & set(details.buttons), details.buttons


# A question typed in Latin letters (the FAQ reads it transliterated): the log's redaction of
# Cyrillic text does not hide it, so the bot's own lines must not carry it.
LATIN_QUESTION = "Ivanova Masha iz 5b ne mozhet voyti v chat klassa, kuda pisat"


async def ask_and_draft(asker: Any, coordinator: Any) -> None:
    """The person asks, the coordinator answers and makes a draft of the help from it."""
    await asker.send(LATIN_QUESTION)
    await asker.replies()
    await asker.press("Спросить координатора")
    await asker.replies()
    await coordinator.replies()
    await coordinator.press("Ответить")
    await coordinator.replies()
    await coordinator.send("Напишите классному руководителю, он добавит в чат.")
    await coordinator.replies()
    await coordinator.press("Добавить в справку")
    await coordinator.replies()
    await coordinator.press("Новый вопрос (черновик)")
    assert "Черновик" in "\n".join(m.text for m in await coordinator.replies())


@pytest.mark.parametrize("config_overrides", [{"log": {"level": "DEBUG"}}])
async def test_a_refused_learned_entry_leaves_no_question_in_the_log(bot: BotProcess,
                                                                      users) -> None:
    """The same question asked twice and drafted twice: the second draft clashes with the
    first once published (the same button label in one topic). The admin is told why; the
    log (at DEBUG) says how many problems, never the label, which is what the person typed."""
    admin = users(BOT_ADMIN)
    await become(admin, "Координатор")
    coordinator = users(COORDINATOR)
    await become(coordinator, "Координатор")
    for uid in (3501, 3502):
        parent = users(uid)
        await become(parent, "Родитель")
        await ask_and_draft(parent, coordinator)
    await admin.replies()
    for number in (1, 2):
        await admin.press_payload({"cmd": "learn.pub", "id": f"learned-{number}"}, label="x")
        reply = "\n".join(m.text for m in await admin.replies())
        assert ("опубликован" if number == 1 else "Не получилось добавить") in reply, reply
    log = bot.log_text()
    assert "refused" in log  # the refusal is logged, without what was typed
    leaks = [w for w in ("Ivanova", "Masha", "mozhet", "klassa") if w.lower() in log.lower()]
    assert not leaks, f"a person's words in the log: {leaks}\n{log[-3000:]}"


GARBAGE = [
    "yyyyyyyy", "iyiyiy", "iy", "yi", "y", "12yi34", "iy1 yi2 3iy", "zzzzzzziy", "ii oy ey",
    "😀😀😀", "👍", "\u200b\u202e\u200f", "[id1|x] @all {{ 7*7 }} {% raw %}", "ыыы йййй",
    "как " * 2500, "абвгд " * 1666, "ёж" * 5000,
]


@pytest.mark.parametrize("messenger", ["vk", "max"])
async def test_garbage_gets_a_polite_answer_and_no_guess(bot_fast: InProcessBot, users) -> None:
    """Latin gibberish, bare transliteration endings, emoji, invisible characters, markup and
    10 000 characters: each gets a short polite Russian answer (the bot logs no error), and
    none is answered as if it were a question the FAQ knows, nor with a guess at one."""
    parent = users(3601)
    await become(parent, "Родитель")
    for text in GARBAGE:
        await parent.send(text)
        got = await parent.replies()
        assert got, text[:40]
        reply = "\n".join(m.text for m in got)
        assert any("а" <= ch <= "я" for ch in reply.lower()), (text[:40], reply)
        assert "Возможно, Вы спрашиваете" not in reply, (text[:40], reply)
        assert "Источники:" not in reply, (text[:40], reply)
        assert len(reply) < 1500, (text[:40], reply[:300])


@pytest.mark.parametrize("messenger", ["vk", "max"])
async def test_a_role_changed_mid_dialog_gets_its_own_words(bot_fast: InProcessBot, users) -> None:
    """A parent reads an answer, becomes a teacher, and presses the buttons of that answer:
    the entry it opens, its details and the question asked again are in the teacher's words,
    and the staff-only questions a parent was not offered are offered now; back to parent, the
    parent's words again."""
    person = users(3701)
    await become(person, "Родитель")
    await person.send("зачем привязывать сферум к госуслугам")
    as_parent = await person.next_reply()
    assert as_parent.text.startswith("Через Госуслуги можно входить в «Сферум».")
    assert "Целевые показатели" not in as_parent.buttons

    async def as_role_open_the_entry(role: str):  # type: ignore[no-untyped-def]
        await person.press("Сменить роль")
        await person.replies()
        await person.press(role)
        await person.replies()
        await person.press_payload({"cmd": "faq.show", "id": "gosuslugi-why"}, label="x")
        return await person.next_reply()

    as_teacher = await as_role_open_the_entry("Педагог или сотрудник")
    assert as_teacher.text.startswith("Всем педагогам важно")
    assert "Целевые показатели" in as_teacher.buttons
    again = await as_role_open_the_entry("Родитель")
    assert again.text.startswith("Через Госуслуги можно входить в «Сферум».")
    assert "Целевые показатели" not in again.buttons


async def test_an_entry_removed_by_a_reload_while_answering_is_skipped(
        bot_inprocess: InProcessBot) -> None:
    """The FAQ is reloaded (a methodist removed an entry, an admin reloaded) between reading a
    question and answering it: the answer, the guess and the buttons skip what is gone, and
    the person still gets a polite reply with every button working."""
    from core.faq.talk import Understanding

    app = bot_inprocess.app
    conv = await conversation(app, 70_100, "parent", "menu")
    book = dialog.service(conv).book
    real = next(iter(book.entries.values()))
    gone = real.model_copy(update={"id": "gone-entry"})
    found = Match("вопрос", ("вопрос",), None, 0.35, (Scored(gone, 0.35), Scored(real, 0.2)),
                  (real.topic,), False)
    for guess in ("gone-entry", None):
        replies = checked(await dialog.dont_know(conv, found, True, guess), "stale guess")
        assert all(b.payload.get("id") != "gone-entry" for r in replies
                   for b in (r.keyboard.buttons if r.keyboard else []))
    answered = Match("вопрос", ("вопрос",), gone, 0.9, (), (real.topic,), True)
    for kind, matches in (("answer", (answered,)), ("parts", (answered, Match(
            "вопрос", ("вопрос",), real, 0.9, (), (real.topic,), True)))):
        replies = checked(await dialog.answer_question(
            conv, Understanding(kind, "вопрос", matches=matches, best=answered)), kind)
        assert replies


def test_each_roles_labels_tell_every_question_and_topic_apart() -> None:
    """One keyboard mixes questions of several topics (related questions, «возможно, Вы
    о…») with the navigation buttons, and a typed label stands for the button it names: for
    a newcomer and every role, no two questions or topics share a label, nor one a navigation
    button's."""
    from core.faq.index import load_faq
    from core.kernel.texts import Texts, content_root

    book = load_faq(content_root() / "faq")
    texts = Texts.load(content_root() / "texts")
    navigation = {texts.label(f"btn.{k}").casefold() for k in
                  ("faq", "faq_topics", "faq_more", "resume", "faq_details", "ask_coordinator")}
    for role in (None, *ROLES):
        labels = [book.label(item, role).casefold()
                  for item in (*book.entries.values(), *book.topics)]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        assert not twice, (role, twice)
        assert not navigation & set(labels), (role, navigation & set(labels))


@pytest.mark.parametrize("messenger", ["vk", "max"])
async def test_latin_look_alikes_inside_russian_words_are_read_as_russian(
        bot_fast: InProcessBot, users) -> None:
    """«кaк вoйти в cфepум» with Latin «a», «o», «c», «e», «p» (a keyboard or an autocorrect
    slipped them in) is the question «как войти в сферум», not «цфепум»; alone or as one of
    two questions; a word all in Latin letters is still transliterated by sound."""
    parent = users(3801)
    await become(parent, "Родитель")
    await parent.send("как войти в сферум")
    plain = (await parent.next_reply()).text
    await parent.send("кaк вoйти в cфepум")
    assert (await parent.next_reply()).text == plain
    await parent.send("кaк вoйти в cфepум? и кaк пoднять руку на урoке")
    both = (await parent.next_reply()).text
    assert "1. " in both and "2. " in both and "«Поднять руку»" in both
    await parent.send("kak voyti v sferum")
    assert (await parent.next_reply()).text == plain


async def test_several_answers_say_which_is_a_coordinators(bot_inprocess: InProcessBot) -> None:
    """Several questions in one message, one of them answered by what a coordinator taught:
    that answer is marked as the coordinator's, the sources line names only the documents of
    the others, and with no document at all there is no empty «Источники: .»."""
    app = bot_inprocess.app
    conv = await conversation(app, 70_200, "parent", "menu")
    faq = dialog.service(conv)
    topic = faq.book.topics[0].id
    write_learned(faq.learned, "learned-81", topic, "Когда конкурс чатов", "Конкурс чатов",
                  "Конкурс объявят в октябре.", "когда конкурс чатов")
    write_learned(faq.learned, "learned-82", topic, "Где запись в лагерь", "Запись в лагерь",
                  "Запись в лагерь — на сайте управления образования.", "где запись в лагерь")
    faq.reload()
    seed = next(e for e in faq.book.entries.values() if not e.learned)
    mixed = dialog.answer_parts(conv, ["learned-81", seed.id])[0].text
    assert "(ответ координатора)" in mixed.split("\n\n")[0], mixed
    assert "ответ координатора" not in mixed.split("\n\n")[1], mixed
    assert "Источники: " + "; ".join(faq.book.sources_of(seed)) + "." in mixed, mixed
    taught = dialog.answer_parts(conv, ["learned-81", "learned-82"])[0].text
    assert "Источники" not in taught, taught
    assert taught.count("(ответ координатора)") == 2, taught
