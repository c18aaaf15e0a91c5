"""The activation's pure logic: what people type (phones, links, dates, codes), the transition
tables, the texts they name, and the keyboards each step shows."""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from bot.config import settings_from_dict
from bot.deps import Deps
from core.activation import checks, steps
from core.activation import service as act
from core.kernel import domain
from core.features import registry
from core.kernel import dates
from core.activation import queue as crd
from core.activation import staff as stf
from core.kernel.access import Access
from core.kernel.clock import FixedClock
from core.kernel.conversation import Conversation, Incoming
from core.kernel.payloads import Payload
from core.personal_data.service import consent_folder, load_consents
from core.kernel.texts import Texts, content_root
from storage.activation import OrgProgress
from storage.models import Person

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ROOT / "content" / "texts"
OWN_TEXT_FILES = ("activation.toml", "coordination.toml", "personal_data.toml")
OWN_SOURCES = tuple(f"core/activation/{m}.py" for m in (
    "service", "staff", "queue", "steps", "common", "checks", "payloads", "feature")) + (
    "core/personal_data/service.py", "core/personal_data/feature.py")


# -- phones -------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, expected", [
    ("+7 913 123-45-67", "+79131234567"),
    ("8 (913) 123-45-67", "+79131234567"),
    ("89131234567", "+79131234567"),
    ("79131234567", "+79131234567"),
    ("9131234567", "+79131234567"),
    ("+7(913)1234567", "+79131234567"),
    ("8.913.123.45.67", "+79131234567"),
    ("  +8 913 123 45 67 ", "+79131234567"),
])
def test_phone_is_normalised(typed: str, expected: str) -> None:
    assert checks.parse_phone(typed) == (expected, None)


@pytest.mark.parametrize("typed, error", [
    ("8 913 123", "phone_short"),
    ("+1 555 123 4567", "phone_foreign"),
    ("+44 20 7946 0958", "phone_foreign"),
    ("телефон школы", "phone_letters"),
    ("8913abc4567", "phone_letters"),
    ("", "phone_letters"),
    ("8 913 123 45 67 8 913 123 45 67", "phone_long"),
    ("+7 (383) 123-45-67", "phone_not_mobile"),
    ("8 383 123 45 67", "phone_not_mobile"),
    ("7+9131234567", "phone_letters"),
    ("59131234567", "phone_foreign"),
])
def test_wrong_phones_are_refused_with_a_reason(typed: str, error: str) -> None:
    assert checks.parse_phone(typed) == (None, error)


# -- names, e-mail --------------------------------------------------------------------------------

def test_full_name_and_org_name_and_email() -> None:
    assert checks.parse_full_name("  Иванова   Ольга Петровна ") == ("Иванова Ольга Петровна", None)
    assert checks.parse_full_name("Салтыков-Щедрин Михаил") == ("Салтыков-Щедрин Михаил", None)
    assert checks.parse_full_name("Ольга") == (None, "name_format")
    assert checks.parse_full_name("Иванова 0льга") == (None, "name_format")
    assert checks.parse_org_name("МБОУ «СОШ № 17»") == ("МБОУ «СОШ № 17»", None)
    assert checks.parse_org_name("17") == (None, "org_name_short")
    assert checks.parse_org_name("Ш" * 301) == (None, "org_name_long")
    assert checks.parse_email("olga@school17.ru") == ("olga@school17.ru", None)
    assert checks.parse_email("olga@school17") == (None, "email_format")
    assert checks.parse_email("olga school17.ru") == (None, "email_format")


# -- links ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, expected", [
    ("https://sferum.ru/?invite=7f3k9q", ["https://sferum.ru/?invite=7f3k9q"]),
    ("Вот ссылка: https://sferum.ru/join/abc123.", ["https://sferum.ru/join/abc123"]),
    ("sferum.ru/join/abc", ["https://sferum.ru/join/abc"]),
    ("https://web.sferum.ru/invite/x", ["https://web.sferum.ru/invite/x"]),
    ("https://vk.com/join/abc", ["https://vk.com/join/abc"]),
    ("Учителя: https://sferum.ru/a1 Кафедра: https://sferum.ru/b2",
     ["https://sferum.ru/a1", "https://sferum.ru/b2"]),
])
def test_direct_links_are_accepted(typed: str, expected: list[str]) -> None:
    assert checks.parse_links(typed, own_group_id=1) == (expected, None)


@pytest.mark.parametrize("typed, error", [
    ("http://sferum.ru/join/abc", "link_not_https"),
    ("https://example.com/invite", "link_domain"),
    ("https://sferum.ru.evil.com/join", "link_domain"),
    ("https://sferum.ru@evil.com/join", "link_domain"),
    ("https://notsferum.ru/join", "link_domain"),
    ("https://sferum.ru:8443/join", "link_domain"),
    ("https://sferum.ru/", "link_site_root"),
    ("https://web.vk.me/", "link_site_root"),
    ("https://vk.me/club1?ref=ACEHKMP", "link_own_invite"),
    ("ftp://sferum.ru/join", "link_format"),
    ("просто текст", "link_format"),
    ("https://sferum.ru/ok http://sferum.ru/bad", "link_not_https"),
])
def test_garbage_links_are_refused(typed: str, error: str) -> None:
    assert checks.parse_links(typed, own_group_id=1) == (None, error)


def test_links_are_found_in_text() -> None:
    assert checks.find_links("готово") == []
    assert checks.find_links("ссылка (https://sferum.ru/x)") == ["https://sferum.ru/x"]


# -- dates and codes --------------------------------------------------------------------------------

TODAY = date(2026, 11, 23)
WORDS = dates.words_of(Texts.load(content_root() / "texts"))


@pytest.mark.parametrize("typed, expected", [
    ("15.12.2026", date(2026, 12, 15)),
    ("15.12.26", date(2026, 12, 15)),
    ("15/12/2026", date(2026, 12, 15)),
    ("2026-12-15", date(2026, 12, 15)),
    ("23.11.2026", TODAY),
    ("15.12", date(2026, 12, 15)),
    ("10.01", date(2027, 1, 10)),      # no year: the next such date
    ("15.12.2026 г.", date(2026, 12, 15)),
    ("до 15 декабря", date(2026, 12, 15)),
    ("20 декабря", date(2026, 12, 20)),
    ("срок — до 15-го декабря 2026 года", date(2026, 12, 15)),
    ("завтра", date(2026, 11, 24)),
    ("послезавтра", date(2026, 11, 25)),
    ("в пятницу", date(2026, 11, 27)),   # TODAY is a Monday
    ("к следующей пятнице", date(2026, 12, 4)),
    ("через неделю", date(2026, 11, 30)),
    ("через две недели", date(2026, 12, 7)),
    ("10 января", date(2027, 1, 10)),   # no year, already passed this year: next year
    ("сегодня", TODAY),
])
def test_deadlines(typed: str, expected: date) -> None:
    assert checks.parse_deadline(typed, TODAY, WORDS) == (expected, None)


@pytest.mark.parametrize("typed, error", [
    ("01.01.2020", "date_past"),
    ("22.11.2026", "date_past"),
    ("31.02.2027", "date_format"),
    ("32.13.2026", "date_format"),
    ("15 декабря 2025", "date_past"),
    ("вчера вечером", "date_format"),
    ("14:30", "date_format"),              # a time is not a day
    ("Кто зарегистрировался", "date_format"),
    ("не могу до 15 декабря", "date_format"),  # a sentence with a date is not a date
    ("01.01.2029", "date_far"),
])
def test_wrong_deadlines(typed: str, error: str) -> None:
    assert checks.parse_deadline(typed, TODAY, WORDS) == (None, error)


def test_invite_codes() -> None:
    codes = {checks.new_invite_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert checks.normalise_code(code) == code
        assert checks.normalise_code(code.lower()) == code
    # typed on a Russian keyboard: Cyrillic twins of the Latin letters; spaces and dashes
    assert checks.normalise_code("КХ7М-4ТР") == "KX7M4TP"
    assert checks.normalise_code("КХ7М4Т") is None  # 6 characters
    assert checks.normalise_code("кх7м 4-тр") == "KX7M4TP"
    assert checks.normalise_code("кх7м4тр") == "KX7M4TP"
    assert checks.normalise_code("KX7M4T0") is None   # 0 is not in the alphabet
    assert checks.normalise_code("hello world") is None
    assert checks.invite_link(42, "KX7M4TP") == "https://vk.me/club42?ref=KX7M4TP"


# -- the transition tables ---------------------------------------------------------------------------

def test_steps_form_one_chain_from_1_to_activated() -> None:
    assert sorted(steps.STEPS) == list(range(1, domain.TOTAL_STEPS + 1))
    step, seen = 1, []
    while step != domain.ACTIVATED:
        seen.append(step)
        step = steps.STEPS[step].next
    assert seen == list(range(1, 9))
    for number, spec in steps.STEPS.items():
        assert spec.number == number
        if spec.back is not None:
            assert spec.back == number - 1 and steps.STEPS[spec.back].actor == "admin"
        # the admin presses «Готово» exactly on the admin's own steps after the application
        assert (spec.done is not None) == (spec.actor == "admin" and number >= 3)
        org_fields = set(OrgProgress.model_fields)
        assert set(spec.requires) <= org_fields


def test_application_statuses_drive_steps_1_to_3() -> None:
    flow = steps.APP_FLOW
    assert flow["new"].next == {"sent", "created", "rejected"}
    assert flow["sent"].next == {"created", "rejected"}
    assert not flow["created"].next and not flow["rejected"].next
    assert {s.org_step for s in flow.values()} == {1, 2, 3}
    assert steps.STEPS[flow["created"].org_step].key == "informed"
    for status in flow.values():
        assert status.next <= set(flow)


def test_moves_are_the_tables_and_move_is_the_only_writer_of_the_step() -> None:
    # «Готово», «Назад» and (steps 1..3) the application's statuses; nothing else
    assert steps.moves(1) == {1, 2, 3}
    assert steps.moves(2) == {1, 2, 3}
    assert steps.moves(4) == {3, 5}
    assert steps.moves(8) == {7, domain.ACTIVATED}
    assert steps.moves(domain.ACTIVATED) == set()

    class Recorder:
        def __init__(self) -> None:
            self.calls: list[tuple[int, int, int]] = []

        async def update_step(self, org_id: int, step: int, now: int) -> None:
            self.calls.append((org_id, step, now))

    class Tx:
        activation = Recorder()

    import asyncio

    asyncio.run(steps.move(Tx(), 7, 4, 5, 100))  # type: ignore[arg-type]
    asyncio.run(steps.follow_application(Tx(), 7, 5, "rejected", 101))  # type: ignore[arg-type]
    assert Tx.activation.calls == [(7, 5, 100)]  # step 5 is the admin's: a status leaves it
    with pytest.raises(ValueError):
        asyncio.run(steps.move(Tx(), 7, 4, 8, 102))  # type: ignore[arg-type]
    # the only code that writes organisations.step
    writers = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "core").rglob("*.py")
                     if "update_step(" in path.read_text(encoding="utf-8"))
    assert writers == ["core/activation/steps.py"]


def test_form_and_staff_tables() -> None:
    assert act.FORM[-1] == "confirm"
    assert set(checks.FIELD_PARSERS) <= set(act.FORM)
    item, order = stf.FIRST_ITEM, []
    while item is not None:
        order.append(item)
        item = stf.STAFF_STEPS[item].next
    assert order == ["reg", "app", "chat"]
    # a staff member's own path, numbered as such («Шаг 1 из 3»), not the organisation's 6..8
    assert [stf.STAFF_STEPS[i].number for i in order] == [1, 2, 3] and stf.STAFF_TOTAL == 3


# -- texts -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts.load(TEXTS)


def _own_keys() -> set[str]:
    keys: set[str] = set()

    def walk(prefix: str, table: dict[str, Any]) -> None:
        for key, value in table.items():
            full = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                walk(full, value)
            else:
                keys.add(full)

    for name in OWN_TEXT_FILES:
        walk("", tomllib.loads((TEXTS / name).read_text(encoding="utf-8")))
    return keys


def _dynamic_keys() -> set[str]:
    """Keys the code builds from its tables."""
    keys = {f"activation.steps.{s.key}.{part}" for s in steps.STEPS.values()
            for part in ("title", "help", "todo")}
    keys |= {f"activation.steps.{s.key}.text" for s in steps.STEPS.values() if s.number > 1}
    keys |= {"activation.steps.application.rejected", "activation.steps.application.wait",
             "activation.steps.handover.wait"}
    keys |= {f"activation.form.{f}" for f in act.FORM}
    keys |= {f"btn.kind_{k}" for k in act.ORG_KINDS}
    keys |= {f"activation.words.{w}" for w in ("done", "registered", "problem", "skip", "filler")}
    keys |= {f"activation.structure.{s}" for s in ("single", "full")}
    keys |= {f"activation.structure_saved.{s}" for s in ("single", "full")}
    keys |= {f"activation.missing.{r}" for s in steps.STEPS.values() for r in s.requires}
    keys |= {f"activation.notice.{s}" for s in ("sent", "created", "rejected")}
    keys |= {f"activation.platform.{p}" for p in ("phone", "computer")}
    keys |= {f"coord.status.{s}" for s in steps.APP_FLOW}
    keys |= {f"btn.crd_{s}" for s in ("sent", "created", "rejected")}
    keys |= {f"staff.items.{i}.{part}" for i in stf.STAFF_STEPS
             for part in ("title", "text", "help", "thanks")}
    keys |= {f"pd.roles.{r}" for r in ("org_admin", "staff", "parent", "coordinator")}
    keys |= {f"pd.sex.{n}" for n in (0, 1, 2)}  # the sex from the VK profile, in words
    keys |= {f"pd.{k}_{t}" for k in ("ask", "declined") for t in ("act", "stf")}
    from storage.personal_registry import PLACES  # «Мои данные» names each place and column

    keys |= {p.label_key for p in PLACES} | {f"pd.col.{c}" for p in PLACES for c in p.columns}
    return keys


ERROR_CODES = {"phone_letters", "phone_short", "phone_long", "phone_foreign", "phone_not_mobile",
               "name_format", "org_name_short", "org_name_long", "email_format", "link_format",
               "link_not_https", "link_domain", "link_site_root", "link_own_invite",
               "date_format", "date_past", "date_far", "use_buttons", "confirm", "incomplete"}


def test_every_key_used_exists_and_every_key_is_used(texts: Texts) -> None:
    source = "\n".join((ROOT / p).read_text(encoding="utf-8") for p in OWN_SOURCES)
    literal = set(re.findall(r'"((?:activation|staff|coord|pd|btn|cmd)\.[a-z_.]+)"', source))
    audit_actions = set(re.findall(r'(?:_audit\(conv, |insert_entry\(conv\.person\.vk_id, )"([a-z_.]+)"',
                                   source))
    # names of actions, buttons and continuations, not texts
    literal -= audit_actions | set(Payload.registry) | set(registry().continuations)
    assert audit_actions >= {"activation.status", "activation.export"}
    dynamic = _dynamic_keys() | {f"activation.errors.{c}" for c in ERROR_CODES}
    known = texts.keys
    missing = sorted(k for k in literal | dynamic if k not in known and not k.endswith("."))
    assert not missing, f"keys used but not in the catalog: {missing}"
    unused = sorted(k for k in _own_keys() if k not in literal and k not in dynamic)
    assert not unused, f"catalog keys nobody uses: {unused}"


def test_templates_render_with_the_values_the_code_gives(texts: Texts) -> None:
    for code in ERROR_CODES:
        assert texts.render(f"activation.errors.{code}", today="23.11.2026", example="07.12.2026",
                            example_words="7 декабря")
    for spec in steps.STEPS.values():
        values = dict(org="Школа", n=spec.number, total=8, app_id=1, app_date="23.11.2026",
                      status="новая", reason="нет", structure="", links=[], deadline="",
                      code="", link="", example="07.12.2026", example_words="7 декабря",
                      joined=0, confirmed=0)
        for part in ("title", "help"):
            assert texts.render(f"activation.steps.{spec.key}.{part}", **values)
        if spec.number > 1:
            assert "{{" not in texts.render(f"activation.steps.{spec.key}.text", **values)


def test_consent_is_versioned_and_names_the_law() -> None:
    book = load_consents(consent_folder(None))
    # the highest version is in force; the one people agreed to earlier can still be shown
    assert book.current == "v2" and "v1" in book.versions
    assert "(версия 1)" in book.render("Новосибирская область", "v1")
    text = book.render("Новосибирская область")
    assert "(версия 2)" in text and "пол" in text
    assert "152-ФЗ" in text and "Новосибирская область" in text and "Отозвать" in text
    # what people are shown first: the short form — who, what, why, how to withdraw
    summary = book.summary("Новосибирская область")
    assert len(summary) <= 420 and "152-ФЗ" in summary and "Отозвать согласие" in summary
    assert "Новосибирская область" in summary and "телефон" in summary


# -- keyboards of every step ---------------------------------------------------------------------------

@pytest.fixture
def conv(texts: Texts) -> Conversation:
    settings = settings_from_dict({"vk": {"token": "t", "group_id": 1},
                                   "region": {"name": "Тестовая область"}}, environ={})
    deps = Deps(settings=settings, db=None, texts=texts, registry=registry(),  # type: ignore[arg-type]
                clock=FixedClock(datetime(2026, 11, 23, 3, tzinfo=timezone.utc)),
                messenger=None)  # type: ignore[arg-type]
    person = Person(vk_id=101, role="org_admin", state=act.STATE_STEP)
    return Conversation(deps, person, Access(101), Incoming(101, "", "e1"))


@pytest.mark.parametrize("step", range(1, 10))
def test_each_step_keyboard_is_valid(conv: Conversation, step: int) -> None:
    org = OrgProgress(id=1, name="Школа", kind="school", municipality_id=1, step=step,
                      invite_code="ACEHKMP" if step >= 6 else None,
                      structure="single" if step >= 5 else None)
    keyboard = steps.step_keyboard(conv, org)
    keyboard.validate()
    labels = [b.label for b in keyboard.buttons]
    assert len(labels) == len(set(labels))
    assert labels[-1] == "Главное меню"
    if 3 <= step <= 8:
        assert "Не получается" in labels and "Где я?" in labels
        assert ("Готово" in labels) or ("Я зарегистрировался(ась)" in labels)
    if step in (4, 5, 6, 7, 8):
        assert "Назад" in labels
    for button in keyboard.buttons:
        if button.link:
            row = next(r for r in keyboard.rows if button in r)
            assert len(row) == 1, "link buttons take a whole row"


def test_status_buttons_follow_the_flow(conv: Conversation) -> None:
    new = crd._status_buttons(conv, 1, "new")
    assert new is not None and [b.label for b in new.buttons] == ["Передана", "Профиль создан",
                                                                  "Отклонить"]
    sent = crd._status_buttons(conv, 1, "sent")
    assert sent is not None and [b.label for b in sent.buttons] == ["Профиль создан", "Отклонить"]
    assert crd._status_buttons(conv, 1, "created") is None


def test_shortcuts_that_move_on_need_the_whole_message(texts: Texts) -> None:
    def words(kind: str) -> list[str]:
        return [checks.normalise_words(w) for w in texts.render(f"activation.words.{kind}").split(",")]

    done, filler = words("done") + words("registered"), words("filler")
    for typed in ("Готово", "я уже зарегистрировался", "Всё, готово!", "Готово, зарегистрировалась"):
        assert checks.means_only(typed, done, filler), typed
    for typed in ("Кто зарегистрировался", "как узнать, кто зарегистрировался?",
                  "не могу понять, зарегистрировался ли я", "я", ""):
        assert not checks.means_only(typed, done, filler), typed
    assert checks.means_only("нет", words("skip"), filler)
    assert not checks.means_only("olga@school.ru, другой нет", words("skip"), filler)
