"""The terminal sandbox through standard input, as a person pipes a script into it: their words are
echoed, every button number means one button for the whole session, /ref opens an invitation,
/tick delivers the weekly survey, charts land in files, and a restart with --db keeps what VK
remembers about people."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from storage import Database

ROOT = Path(__file__).resolve().parent.parent
CODE = "KX7M4TP"
LINK = "https://sferum.ru/?invite=7f3k9q"


def sandbox_env() -> dict[str, str]:
    """This checkout's code, whatever the working directory (the sandbox writes files there)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFERUM_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class Session:
    """`sferum-bot sandbox` with a pipe for input: a line is written once the sandbox asks for it
    (its prompt), as a person at the terminal would; everything printed is kept."""

    PROMPT = re.compile(r"Вы \(\d+\)> ")

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "sandbox", "--db", str(tmp_path / "demo.sqlite3"),
             "--files", str(tmp_path / "files"), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=tmp_path, env=sandbox_env())
        self.out = ""
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._wait_prompts(1)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := self.proc.stdout.read(1):
            with self._changed:
                self.out += chunk
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def _wait_prompts(self, count: int) -> None:
        with self._changed:
            ok = self._changed.wait_for(
                lambda: len(self.PROMPT.findall(self.out)) >= count or self.proc.poll() is not None,
                timeout=60)
        if not (ok and len(self.PROMPT.findall(self.out)) >= count):
            self.proc.kill()
            self.proc.wait()
            errors = self.proc.stderr.read() if self.proc.stderr else ""
            self._close()
            raise AssertionError(f"the sandbox stopped answering:\n{self.out}\n{errors}")

    def _close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None and not stream.closed:
                stream.close()

    def say(self, line: str) -> str:
        """Type a line; what the sandbox printed in answer."""
        before = len(self.out)
        count = len(self.PROMPT.findall(self.out))
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        self._wait_prompts(count + 1)
        return self.out[before:]

    def quit(self) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write("/quit\n")
        self.proc.stdin.close()
        code = self.proc.wait(timeout=30)
        self._reader.join(5)
        errors = self.proc.stderr.read() if self.proc.stderr else ""
        self._close()
        assert code == 0, errors
        return self.out


def number_of(out: str, label: str) -> str:
    """The number printed last for a button with this label."""
    found = re.findall(r"\[(\d+)\] " + re.escape(label), out)
    assert found, f"no button {label!r} in:\n{out}"
    return found[-1]


def save(out: str, name: str) -> None:
    (ROOT / "tests" / "output").mkdir(exist_ok=True)
    (ROOT / "tests" / "output" / name).write_text(out, encoding="utf-8")


async def prepare_school(db_path: Path) -> None:
    """A school at step 6 with its invitation code, as its administrator left it."""
    db = await Database(db_path).open()
    now = int(datetime.now(timezone.utc).timestamp())
    deadline = (datetime.now(timezone.utc) + timedelta(days=10)).date().isoformat()
    try:
        async with db.transaction() as tx:
            await tx.territory.upsert_municipality("г. Новосибирск", None)
            places = {m.name: m.id for m in await tx.territory.list_municipalities()}
            municipality = places["г. Новосибирск"]
            await tx.users.upsert_seen(1001, now)
            org = await tx.activation.upsert_org(None, "МБОУ «СОШ № 5»", "school",
                                                 municipality, 1001, 6, now)
            await tx.activation.update_links(org.id, [LINK])
            await tx.activation.update_deadline(org.id, deadline)
            assert await tx.activation.update_invite_code(org.id, CODE)
            await tx.users.update_role(1001, "org_admin", now)
            await tx.users.update_org(1001, org.id, now)
    finally:
        await db.close()


def test_sandbox_demo_session(tmp_path: Path) -> None:
    """The product demo in one piped session: a teacher joins by the code alone, a coordinator
    works by button numbers only (funnel chart saved to a file, a broadcast scheduled in words),
    /tick delivers the weekly survey, /ref opens an invitation link."""
    asyncio.run(prepare_school(tmp_path / "demo.sqlite3"))
    teacher = Session(tmp_path, "--user", "1002")
    # a piped transcript shows what the person typed; the code alone leads to joining
    said = teacher.say(f"Добрый день, мне дали код {CODE}")
    assert f"Вы (1002)> Добрый день, мне дали код {CODE}\n" in teacher.out
    assert "Это код приглашения организации «МБОУ «СОШ № 5»»" in said
    said = teacher.say(number_of(said, "Даю согласие"))
    assert "→ нажата кнопка «Даю согласие» из сообщения" in said
    assert "Вы присоединились к организации «МБОУ «СОШ № 5»»" in said and "Шаг 1 из 3" in said
    teacher.say(number_of(said, "Да"))
    # the coordinator: only button numbers
    teacher.say("/as 9001")
    said = teacher.say("Начать")
    said = teacher.say(number_of(said, "Координатор"))
    said = teacher.say(number_of(said, "Координатору"))
    panel = said
    said = teacher.say(number_of(panel, "Воронка"))
    said = teacher.say(number_of(said, "График воронки"))
    saved = re.search(r"файл сохранён: (\S+\.png)", said)
    assert saved, said
    assert Path(saved[1]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    said = teacher.say(number_of(panel, "Новая рассылка"))
    said = teacher.say(number_of(said, "Всем"))
    said = teacher.say("Коллеги, в четверг в 15:00 — вебинар о чатах класса в «Сферуме».")
    said = teacher.say(number_of(said, "Запланировать"))
    # a date in words
    said = teacher.say("завтра в 10:00")
    assert re.search(r"Рассылка №1 запланирована на \d+ \w+ в 10:00 по новосибирскому времени", said)
    # /tick: the survey of the week is delivered now
    said = teacher.say("/tick")
    assert re.search(r"опросов — [1-9]", said)
    said = teacher.say("/as 1002")
    assert "Пройти опрос" in said
    # /ref: an invitation link opened by another teacher
    teacher.say("/as 1003")
    said = teacher.say(f"/ref {CODE}")
    assert "по приглашению организации" in said
    out = teacher.quit()
    save(out, "sandbox_demo.txt")
    # one number is one button for the whole session
    by_number: dict[str, set[str]] = {}
    for n, label in re.findall(r"\[(\d+)\] (.+?)(?=   \[|\n| \(открывает)", out):
        by_number.setdefault(n, set()).add(label.strip())
    assert by_number and all(len(labels) == 1 for labels in by_number.values()), by_number


def test_sandbox_numbers_are_stable_and_old_keyboards_are_not_pressed(tmp_path: Path) -> None:
    session = Session(tmp_path)
    said = session.say("привет")
    admin_number = number_of(said, "Администратор школы")
    said = session.say(number_of(said, "Педагог или сотрудник"))
    faq_number = number_of(said, "Вопросы и ответы")
    # the role keyboard was replaced by the menu: its number presses nothing
    said = session.say(admin_number)
    assert "уже скрыта" in said and "Администратор" not in said.split("\n", 1)[1]
    session.say("/as 9001")
    assert f"Кнопка [{faq_number}] — в диалоге пользователя 1001" in session.say(faq_number)
    session.say("/as 1001")
    said = session.say(faq_number)
    assert "нажата кнопка «Вопросы и ответы»" in said
    session.quit()


def test_sandbox_restart_with_db_keeps_deliverability(tmp_path: Path) -> None:
    first = Session(tmp_path)
    said = first.say("привет")
    first.say(number_of(said, "Педагог или сотрудник"))
    first.quit()
    assert (tmp_path / "demo.sqlite3.sandbox.json").exists()
    # a new sandbox (and a new emulator) with the same database: VK still remembers that 1001
    # wrote to the community, so the survey is delivered, not marked undeliverable
    again = Session(tmp_path, "--user", "9000")
    assert re.search(r"опросов — 1", again.say("/tick"))
    again.quit()
    with sqlite3.connect(tmp_path / "demo.sqlite3") as conn:
        statuses = conn.execute("SELECT o.status FROM outbox o JOIN outbox_texts t"
                                " ON t.id = o.text_id WHERE t.kind = 'survey'").fetchall()
    assert statuses == [("delivered",)]
    # the clock moves forward, and only forward; a restart keeps it
    later = Session(tmp_path)
    assert "впереди настоящих на 7.0 дн." in later.say("/clock +7d")
    assert "только вперёд" in later.say("/clock -1d")
    later.quit()
    restarted = Session(tmp_path)
    assert "впереди настоящих на 7.0 дн." in restarted.say("/clock")
    restarted.quit()
