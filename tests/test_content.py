"""Content files are data with a schema: every text key used in code exists, every one is used."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from core.kernel.texts import Texts, TextsError, content_root
from storage.db import migration_files

ROOT = Path(__file__).resolve().parent.parent
CODE = [p for d in ("bot", "core", "handlers", "storage") for p in (ROOT / d).rglob("*.py")]
LITERAL = re.compile(r"""["']([a-z_]+(?:\.[a-z0-9_]+)+)["']""")
# f-strings that build a key: f"start.role_saved_{role}" -> prefix "start.role_saved_"
PREFIX = re.compile(r"""f["']([a-z_]+(?:\.[a-z0-9_]*)+)\{""")


def catalog() -> Texts:
    return Texts.load(content_root() / "texts")


def used_literals() -> tuple[set[str], set[str]]:
    literals: set[str] = set()
    prefixes: set[str] = set()
    for path in CODE:
        source = path.read_text(encoding="utf-8")
        literals |= set(LITERAL.findall(source))
        prefixes |= set(PREFIX.findall(source))
    return literals, prefixes


def test_catalog_loads_and_every_template_compiles() -> None:
    texts = catalog()
    assert len(texts.keys) > 20


CALLED = re.compile(r"""(?:render|label|TextCommand)\(\s*["']([a-z_]+(?:\.[a-z0-9_]+)+)["']""")


def test_every_key_used_in_code_exists() -> None:
    texts = catalog()
    referenced = {key for path in CODE for key in CALLED.findall(path.read_text(encoding="utf-8"))}
    missing = sorted(k for k in referenced if not texts.has(k))
    assert not missing, f"text keys used in code but missing from content/texts: {missing}"


def test_every_catalog_key_is_used() -> None:
    texts = catalog()
    literals, prefixes = used_literals()
    unused = sorted(k for k in texts.keys
                    if k not in literals and not any(k.startswith(p) for p in prefixes))
    assert not unused, f"content/texts keys no code uses: {unused}"


def test_button_labels_fit_vk() -> None:
    texts = catalog()
    for key in texts.keys:
        if key.startswith("btn."):
            assert len(texts.sources[key]) <= 40, key


def russian_literals(path: Path) -> list[int]:
    """Lines of string literals (not docstrings) holding a Russian word of 4+ letters."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    word = re.compile(r"[А-Яа-яЁё]{4,}")
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings and word.search(node.value)]


def test_no_russian_text_in_python() -> None:
    # The emulator plays VK (it invents Russian names for people), it is not the bot.
    code = [p for p in CODE if "vkemu" not in p.parts]
    offenders = [f"{p.relative_to(ROOT)}:{line}" for p in code for line in russian_literals(p)]
    assert not offenders, f"user-facing text belongs in content/: {offenders}"


def test_migrations_are_numbered_without_gaps() -> None:
    numbers = [n for n, _, _ in migration_files()]
    assert numbers == list(range(1, len(numbers) + 1))


async def test_blank_database_migrates_to_the_head_schema(tmp_path: Path) -> None:
    from storage import Database

    db = await Database(tmp_path / "x.sqlite3").open()
    async with db.read() as tx:
        tables = {r[0] for r in await tx.fetchall("SELECT name FROM sqlite_master WHERE type='table'")}
        applied = await tx.scalar("SELECT COUNT(*) FROM schema_migrations")
        foreign_keys = await tx.scalar("PRAGMA foreign_keys")
        journal = await tx.scalar("PRAGMA journal_mode")
    await db.close()
    assert {"users", "organisations", "municipalities", "outbox", "tickets", "applications",
            "staff", "survey_answers", "broadcasts", "audit_log"} <= tables
    assert applied == len(migration_files())
    assert foreign_keys == 1 and journal == "wal"
    # Re-opening applies nothing twice.
    db = await Database(tmp_path / "x.sqlite3").open()
    async with db.read() as tx:
        assert await tx.scalar("SELECT COUNT(*) FROM schema_migrations") == applied
    await db.close()


def test_rendered_texts_are_reused_only_for_the_same_values() -> None:
    # Texts.render keeps renders with plain values; equal-but-different values (True == 1)
    # and different values must still render their own text.
    texts = Texts({"t.x": "{{ v }}!", "t.y": "{{ a }}-{{ b }}"})
    assert texts.render("t.x", v=True) == "True!"
    assert texts.render("t.x", v=1) == "1!"
    assert texts.render("t.x", v="a") == "a!"
    assert texts.render("t.x", v="b") == "b!"
    assert texts.render("t.y", a=1, b=2) == texts.render("t.y", b=2, a=1) == "1-2"
    assert texts.render("t.x", v=["list"]) == "['list']!"


def test_a_messenger_variant_replaces_the_text_only_in_that_messenger(tmp_path: Path) -> None:
    import asyncio

    from core.kernel.texts import speaking_in

    (tmp_path / "a.toml").write_text('[app]\nname = "VK Мессенджер"\nother = "Общий текст"\n',
                                     encoding="utf-8")
    (tmp_path / "max").mkdir()
    (tmp_path / "max" / "a.toml").write_text('[app]\nname = "MAX"\n', encoding="utf-8")
    texts = Texts.load(tmp_path)
    assert texts.keys == {"app.name", "app.other"}

    async def in_messenger(messenger: str) -> tuple[str, str]:
        speaking_in(messenger)  # as the adapter does for each event (its own task)
        return texts.render("app.name"), texts.render("app.other")

    async def both() -> list[tuple[str, str]]:
        return list(await asyncio.gather(in_messenger("max"), in_messenger("vk")))

    assert asyncio.run(both()) == [("MAX", "Общий текст"), ("VK Мессенджер", "Общий текст")]
    assert texts.render("app.name") == "VK Мессенджер"  # outside any event: the base text

    (tmp_path / "max" / "b.toml").write_text('[app]\nnew = "нет в каталоге"\n', encoding="utf-8")
    with pytest.raises(TextsError, match="app.new"):
        Texts.load(tmp_path)


def test_the_invitation_names_the_link_of_each_messenger() -> None:
    texts = catalog()
    import asyncio

    from core.kernel.texts import speaking_in

    values = {"org": "МБОУ «СОШ № 17»", "deadline": "10.12.2026", "code": "KX7M4TP",
              "link": "https://vk.me/club1?ref=KX7M4TP"}
    max_link = "https://max.ru/sferum_help_bot?start=KX7M4TP"

    async def render(messenger: str, **more: str) -> str:
        speaking_in(messenger)
        return texts.render("activation.invite_text", **values, **more)

    vk_only = asyncio.run(render("vk", max_link=""))
    assert values["link"] in vk_only and "MAX" not in vk_only and "сообществу" in vk_only
    both_from_vk = asyncio.run(render("vk", max_link=max_link))
    assert both_from_vk.index(values["link"]) < both_from_vk.index(max_link)
    both_from_max = asyncio.run(render("max", max_link=max_link))
    assert both_from_max.index(max_link) < both_from_max.index(values["link"])
    assert "напишите боту" in both_from_max and "сообществу" not in both_from_max


def test_yaml_content_reads_the_same_with_the_c_parser_as_with_python() -> None:
    """Content is read with libyaml's parser for speed (core/kernel/yamltext.py); it must build
    exactly what PyYAML's own safe parser builds from every content file."""
    import yaml

    from core.kernel.yamltext import load_yaml

    files = sorted(content_root().rglob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert load_yaml(text) == yaml.safe_load(text), path
    for path in sorted((content_root() / "faq").glob("*/*.md")):
        front = path.read_text(encoding="utf-8").split("---")[1]
        assert load_yaml(front) == yaml.safe_load(front), path
