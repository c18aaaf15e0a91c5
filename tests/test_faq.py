"""FAQ content and matcher: the loader, its error messages, text processing and accuracy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from core.faq.index import (
    ANSWER_MAX,
    BRIEF_MAX,
    CACHE_LIMIT,
    FaqBook,
    FaqError,
    FaqIndex,
    LanguageData,
    Synonyms,
    TextProcessor,
    is_known_word,
    is_subject_word,
    lemma,
    load_faq,
    normalize,
)
from core.faq.eval import evaluate
from core.faq.talk import composed, load_smalltalk, understand
from core.kernel.domain import ROLES

ROOT = Path(__file__).resolve().parent.parent
FAQ_DIR = ROOT / "content" / "faq"
QUESTIONS = Path(__file__).resolve().parent / "faq_questions.yaml"
# The tuning sets (never the frozen one): who asks what.
TUNING_SETS = [Path(__file__).resolve().parent / name for name in (
    "faq_questions.yaml", "faq_heldout.yaml", "faq_questions_round4.yaml",
    "faq_questions_round5.yaml")]
SEEDS = {"000", "001", "002", "003", "004", "max"}  # max: MAX_PROTOCOL.md §10

MIN_IN_SCOPE_ACCURACY = 0.92  # tuned set: measured 92.5 % of 736 (bench/faq.py, round 4)
MIN_FALLBACK_RATE = 0.95  # tuned set: measured 96.5 % of 144


@pytest.fixture(scope="module")
def book() -> FaqBook:
    return load_faq(FAQ_DIR)


@pytest.fixture(scope="module")
def index(book: FaqBook) -> FaqIndex:
    return FaqIndex.build(book)


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    return yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------
# (1) The real content loads and keeps to the house rules
# --------------------------------------------------------------------------------------------


def test_real_content_loads(book: FaqBook) -> None:
    assert len(book.entries) >= 45
    topic_ids = [t.id for t in book.topics]
    for required in ("roles", "calls", "chats", "ejd", "gosuslugi", "app", "registration",
                     "monitoring"):
        assert required in topic_ids
    for topic in book.topics:
        assert len(book.by_topic(topic.id)) >= 3, topic.id
    assert [t.order for t in book.topics] == sorted(t.order for t in book.topics)


def test_answers_are_plain_vk_text(book: FaqBook) -> None:
    for entry in book.entries.values():
        text = book.render(entry)
        assert 0 < len(text) <= ANSWER_MAX, entry.id
        assert "**" not in text and not re.search(r"^\s*#", text, re.M), entry.id
        assert set(entry.sources) <= SEEDS, entry.id
        assert book.get(entry.id) is entry
        assert entry in book.by_topic(entry.topic)


def test_urls_in_answers_come_from_the_seeds(book: FaqBook) -> None:
    seeds_dir = ROOT.parent / "shared" / "seeds"
    if not seeds_dir.is_dir():
        pytest.skip("seed documents are not available here")
    seed_text = "\n".join(p.read_text(encoding="utf-8") for p in seeds_dir.glob("*.txt"))
    for entry in book.entries.values():
        for url in re.findall(r"https?://[^\s«»()]+", book.render(entry)):
            assert url.rstrip(".,;") in seed_text, (entry.id, url)


# What a parent would not understand or would read as meant for the school's staff: the
# abbreviations of the seeds and words addressing staff.
PARENT_UNCLEAR = re.compile(
    r"\b(?:ЭЖД|ЕСИА|ИКОП|ФГИС|ЦОС|ОО|ОУ|МОУО|ОМСУ|ЛНПА|НПА|СПО|ДО|ГУ|ВКМ)\b"
    r"|\b(?:педагогам|учителям|администратору|сотрудникам)\b")


def test_briefs_for_roles_are_known_roles_short_and_rendered(book: FaqBook) -> None:
    with_variants = [e for e in book.entries.values() if e.brief_for]
    assert len(with_variants) >= 10  # the parent audit of issue 12
    for entry in with_variants:
        general = book.render_brief(entry)
        for role in entry.brief_for:
            assert role in ROLES, (entry.id, role)
            text = book.render_brief(entry, role)
            assert 0 < len(text) <= BRIEF_MAX, (entry.id, role)
            assert "{{" not in text and "{%" not in text, (entry.id, role)
            assert text != general, (entry.id, role)  # a variant says it differently
    for entry in book.entries.values():  # no role, or a role without its words: the general
        for role in (None, "", *(r for r in ROLES if r not in entry.brief_for)):
            assert book.render_brief(entry, role) == book.render_brief(entry), (entry.id, role)


def test_what_parents_ask_is_answered_without_jargon(book: FaqBook) -> None:
    """Every entry a parent asks in the tuning sets gives a parent a brief without the seeds'
    abbreviations or words addressing staff: the general one, or the entry's parent words."""
    asked: set[str] = set()
    for path in TUNING_SETS:
        for item in yaml.safe_load(path.read_text(encoding="utf-8")):
            if item.get("role") == "parent":
                asked.update(i for group in item.get("parts") or [item["expect"]] for i in group)
    asked &= set(book.entries)
    assert {"gosuslugi-why", "ejd-overview", "roles-parent"} <= asked
    unclear = {i: PARENT_UNCLEAR.findall(book.render_brief(book.entries[i], "parent"))
               for i in sorted(asked)}
    assert not {i: words for i, words in unclear.items() if words}
    for entry in book.entries.values():
        if "parent" in entry.brief_for:
            assert not PARENT_UNCLEAR.search(book.render_brief(entry, "parent")), entry.id
    # What a parent reads on buttons and in titles: every entry offered to parents unasked, so
    # every related button a parent sees too (staff-only entries keep the staff's words).
    for item in (*book.topics, *(e for e in book.entries.values() if book.meant_for(e, "parent"))):
        for shown in (book.label(item, "parent"), book.title_of(item, "parent")):
            assert not PARENT_UNCLEAR.search(shown), (item.id, shown)


def test_labels_and_titles_for_roles_are_known_roles_and_fit(book: FaqBook) -> None:
    assert sum(bool(e.short_for) for e in book.entries.values()) >= 10  # issue 12, labels
    for entry in book.entries.values():
        assert set(entry.short_for) | set(entry.title_for) | set(entry.audience) <= set(ROLES)
        for role, label in entry.short_for.items():
            assert 0 < len(label) <= 40 and label != entry.short, (entry.id, role)
        for role, title in entry.title_for.items():
            assert 0 < len(title) <= 80 and title != entry.title, (entry.id, role)
    for topic in book.topics:  # a role's buttons on a topic page are told apart
        for role in ROLES:
            labels = [book.label(e, role).casefold() for e in book.by_topic(topic.id)]
            assert len(labels) == len(set(labels)), (topic.id, role)


def test_staff_only_entries_are_few_and_parents_still_get_related_questions(
        book: FaqBook) -> None:
    staff_only = {e.id for e in book.entries.values() if not book.meant_for(e, "parent")}
    assert {"mon-targets", "mun-tasks", "reg-admin-data"} <= staff_only
    assert len(staff_only) <= len(book.entries) // 3
    for entry in book.entries.values():
        assert not entry.audience or "coordinator" in entry.audience, entry.id  # they answer
        if entry.id not in staff_only:  # what a parent asks still offers them something
            assert book.related_of(entry, "parent"), entry.id
            assert all(book.meant_for(e, "parent") for e in book.related_of(entry, "parent"))


def test_labelled_questions_point_at_existing_entries(book: FaqBook, questions: list) -> None:
    for q in questions:
        for group in q.get("parts", [q.get("expect")]):
            for entry_id in group:
                assert entry_id == "smalltalk" or entry_id in book.entries, (q["q"], entry_id)


# --------------------------------------------------------------------------------------------
# (2) Broken files are rejected with messages that name the file
# --------------------------------------------------------------------------------------------

TOPICS = """\
- {id: calls, title: Звонки, short: Звонки, order: 1}
- {id: chats, title: Чаты, short: Чаты, order: 2}
"""


def entry_text(entry_id: str, topic: str = "calls", **fields: object) -> str:
    front: dict[str, object] = {
        "id": entry_id,
        "topic": topic,
        "title": f"Вопрос {entry_id}?",
        "short": f"Кнопка {entry_id}",
        "brief": "Коротко.",
        "phrasings": ["первый вопрос", "второй вопрос", "третий вопрос", "четвертый вопрос"],
        "related": ["calls-b" if entry_id != "calls-b" else "calls-a"],
        "sources": ["002"],
    }
    answer = fields.pop("answer", "Ответ.")
    for key, value in fields.items():
        if value is None:
            front.pop(key, None)
        else:
            front[key] = value
    return "---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\n" + str(answer) + "\n"


def make_faq(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "faq"
    (root / "calls").mkdir(parents=True)
    (root / "chats").mkdir()
    (root / "topics.yaml").write_text(TOPICS, encoding="utf-8")
    defaults = {
        "calls/calls-a.md": entry_text("calls-a"),
        "calls/calls-b.md": entry_text("calls-b"),
        "chats/chats-a.md": entry_text("chats-a", topic="chats", related=["calls-a"]),
    }
    for name, text in {**defaults, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def errors_of(root: Path) -> list[str]:
    with pytest.raises(FaqError) as caught:
        load_faq(root)
    return caught.value.errors


def test_minimal_valid_content_loads(tmp_path: Path) -> None:
    book = load_faq(make_faq(tmp_path, {}))
    assert [t.id for t in book.topics] == ["calls", "chats"]
    assert book.render(book.entries["calls-a"]) == "Ответ."


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("calls/calls-x.md", entry_text("calls-x", title=None), "missing field 'title'"),
        ("calls/calls-x.md", entry_text("calls-x", related=["nope"]),
         "related id 'nope' does not exist"),
        ("calls/calls-x.md", entry_text("calls-x", related=["calls-x"]),
         "related id 'calls-x' refers to the entry itself"),
        ("calls/calls-x.md", entry_text("calls-x", topic="weather"),
         "topic 'weather' does not exist"),
        ("calls/calls-x.md", entry_text("calls-x", answer="Здравствуйте, {{ name }}!"),
         "answer cannot be rendered"),
        ("calls/calls-x.md", entry_text("calls-x", answer="Ответ {% if %} сломан"),
         "not a valid Jinja2 template"),
        ("calls/calls-x.md", entry_text("calls-x", short="Очень длинная надпись на кнопке, длиннее сорока"),
         "field 'short'"),
        ("calls/calls-x.md", entry_text("calls-x", title="Вопрос " * 20),
         "field 'title'"),
        ("calls/calls-x.md", entry_text("calls-x", phrasings=["один", "два"]),
         "field 'phrasings'"),
        ("calls/calls-x.md", entry_text("calls-x", id="Calls_X"), "field 'id'"),
        ("calls/calls-x.md", entry_text("calls-x", answer=""), "field 'answer'"),
        ("calls/calls-x.md", entry_text("calls-x", answer="**Жирный** текст"), "Markdown"),
        ("calls/calls-x.md", entry_text("calls-x", colour="red"), "unknown field 'colour'"),
        ("calls/calls-x.md", entry_text("calls-x", short="Кнопка calls-a"),
         "button label 'Кнопка calls-a' is already used"),
        ("calls/calls-x.md", entry_text("calls-x", brief="Б" * 301), "field 'brief'"),
        ("calls/calls-x.md", entry_text("calls-x", brief="{{ region.nope }}"),
         "brief cannot be rendered"),
        ("calls/calls-x.md", entry_text("calls-x", brief_for={"teacher": "Коротко."}),
         "unknown role(s) ['teacher']"),
        ("calls/calls-x.md", entry_text("calls-x", brief_for={"parent": "Б" * 301}),
         "the brief for 'parent' is 301 characters"),
        ("calls/calls-x.md", entry_text("calls-x", brief_for={"parent": " "}),
         "the brief for 'parent' is empty"),
        ("calls/calls-x.md", entry_text("calls-x", brief_for={"parent": "{{ region.nope }}"}),
         "brief_for.parent cannot be rendered"),
        ("calls/calls-x.md", entry_text("calls-x", brief_for=["parent"]), "field 'brief_for'"),
        ("calls/calls-x.md", entry_text("calls-x", short_for={"teacher": "Кнопка"}),
         "unknown role(s) ['teacher']"),
        ("calls/calls-x.md", entry_text("calls-x", short_for={"parent": "К" * 41}),
         "the button label for 'parent' is 41 characters, the limit is 40"),
        ("calls/calls-x.md", entry_text("calls-x", short_for={"parent": " "}),
         "the button label for 'parent' is empty"),
        ("calls/calls-x.md", entry_text("calls-x", short_for={"parent": "Кнопка calls-a"}),
         "button label 'Кнопка calls-a' for 'parent' is already used in topic 'calls'"),
        ("calls/calls-x.md", entry_text("calls-x", title_for={"parent": "В" * 81}),
         "the title for 'parent' is 81 characters, the limit is 80"),
        ("calls/calls-x.md", entry_text("calls-x", title_for={"pupil": "Вопрос?"}),
         "unknown role(s) ['pupil']"),
        ("calls/calls-x.md", entry_text("calls-x", audience=["staff", "teacher"]),
         "unknown role(s) ['teacher']"),
        ("calls/calls-x.md", entry_text("calls-x", audience=["staff", "staff"]),
         "audience roles must not repeat"),
        ("calls/calls-x.md", "Просто текст без заголовка", "no front matter"),
        ("calls/calls-x.md", "---\nid: [unclosed\n---\nОтвет", "invalid YAML"),
        ("calls/calls-y.md", entry_text("calls-x"), "file name must be 'calls-x.md'"),
        ("chats/calls-x.md", entry_text("calls-x"), "must be in folder 'calls/'"),
        ("calls/calls-x.md", entry_text("calls-x", answer="А" * (ANSWER_MAX + 1)),
         f"the limit is {ANSWER_MAX}"),
    ],
)
def test_broken_entry_is_rejected_naming_the_file(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    root = make_faq(tmp_path, {name: text})
    errors = errors_of(root)
    assert any(expected in e and e.startswith(f"{root / name}: ") for e in errors), errors


def test_a_role_gets_its_own_brief_filled_in_like_the_general_one(tmp_path: Path) -> None:
    root = make_faq(tmp_path, {"calls/calls-x.md": entry_text(
        "calls-x", brief="Учителям: {{ region.where }}.",
        brief_for={"parent": "Родителям: {{ region.where }}."})})
    (root / "region.yaml").write_text("values: {where: тут}\n", encoding="utf-8")
    book = load_faq(root)
    entry = book.entries["calls-x"]
    assert book.render_brief(entry, "parent") == "Родителям: тут."
    assert book.render_brief(entry, "staff") == book.render_brief(entry) == "Учителям: тут."
    (root / "region.yaml").write_text("values: {where: " + "т" * 300 + "}\n", encoding="utf-8")
    assert any("brief_for.parent is 312 characters" in e for e in errors_of(root))


def test_a_role_sees_its_own_label_and_title_but_matching_reads_the_general(
        tmp_path: Path) -> None:
    root = make_faq(tmp_path, {
        "calls/calls-x.md": entry_text(
            "calls-x", title="Зачем связка с ЕСИА?", short="Связка с ЕСИА",
            phrasings=["зачем есиа", "для чего есиа", "есиа в сферуме", "есиа и сферум"],
            title_for={"parent": "Зачем связывать с Госуслугами?"},
            short_for={"parent": "Связь с Госуслугами"}),
        "calls/calls-b.md": entry_text("calls-b", related=["calls-x", "calls-a"],
                                       audience=["org_admin", "staff"]),
        "calls/calls-a.md": entry_text("calls-a", related=["calls-b", "calls-x"])})
    book = load_faq(root)
    entry = book.entries["calls-x"]
    assert (book.label(entry, "parent"), book.title_of(entry, "parent")) == (
        "Связь с Госуслугами", "Зачем связывать с Госуслугами?")
    for role in (None, "", "staff", "coordinator"):
        assert (book.label(entry, role), book.title_of(entry, role)) == (
            "Связка с ЕСИА", "Зачем связка с ЕСИА?")
    # Only the general words are matched: a parent's label typed as a question finds nothing.
    index = FaqIndex.build(book)
    assert index.match("связка с есиа").entry is entry
    assert index.match("связь с госуслугами").entry is None
    # A staff-only entry is not offered to a parent unasked; to staff and newcomers it is.
    asked = book.entries["calls-a"]
    assert [e.id for e in book.related_of(asked, "parent")] == ["calls-x"]
    assert [e.id for e in book.related_of(asked, "staff")] == ["calls-b", "calls-x"]
    assert [e.id for e in book.related_of(asked, None)] == ["calls-b", "calls-x"]


@pytest.mark.parametrize(("topics", "expected"), [
    (TOPICS.replace("order: 2}", "order: 2, short_for: {parent: Звонки}}"),
     "topic label 'Звонки' for 'parent' is used 2 times"),
    (TOPICS.replace("order: 2}", "order: 2, short_for: {parent: " + "Ч" * 41 + "}}"),
     "the button label for 'parent' is 41 characters"),
    (TOPICS.replace("order: 2}", "order: 2, title_for: {pupil: Чаты}}"),
     "unknown role(s) ['pupil']"),
])
def test_a_topic_worded_for_a_role_is_checked(tmp_path: Path, topics: str,
                                              expected: str) -> None:
    root = make_faq(tmp_path, {})
    (root / "topics.yaml").write_text(topics, encoding="utf-8")
    assert any(expected in e for e in errors_of(root)), errors_of(root)


def test_duplicate_id_names_both_files(tmp_path: Path) -> None:
    root = make_faq(tmp_path, {"chats/calls-a.md": entry_text("calls-a", topic="chats")})
    errors = errors_of(root)
    duplicate = [e for e in errors if "duplicate id 'calls-a'" in e]
    assert duplicate, errors
    assert "calls-a.md" in duplicate[0] and "calls/calls-a.md" in duplicate[0]


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    root = make_faq(
        tmp_path,
        {
            "calls/calls-x.md": entry_text("calls-x", related=["nope"]),
            "calls/calls-y.md": entry_text("calls-y", title=None),
            "chats/chats-b.md": entry_text("chats-b", topic="chats", answer="{{ oops"),
        },
    )
    with pytest.raises(FaqError) as caught:
        load_faq(root)
    message = str(caught.value)
    assert "calls-x.md: related id 'nope' does not exist" in message
    assert "calls-y.md: missing field 'title'" in message
    assert "chats-b.md: answer is not a valid Jinja2 template" in message
    assert len(caught.value.errors) == 3


def test_error_paths_are_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_faq(tmp_path, {"calls/x.md": entry_text("x", related=["nope"])})
    monkeypatch.chdir(tmp_path)
    errors = errors_of(root)
    assert "faq/calls/x.md: related id 'nope' does not exist" in errors


def test_broken_topics_file(tmp_path: Path) -> None:
    root = make_faq(tmp_path, {})
    (root / "topics.yaml").write_text(
        TOPICS + "- {id: calls, title: Ещё раз, short: Ещё, order: 3}\n"
        "- {id: empty, title: Пусто, short: Звонки, order: 4}\n",
        encoding="utf-8",
    )
    errors = errors_of(root)
    assert any("topics.yaml: duplicate topic id 'calls'" in e for e in errors), errors
    assert any("topic label 'Звонки' is used 2 times" in e for e in errors), errors
    assert any("topic 'empty' has no entries" in e for e in errors), errors


def test_broken_synonyms_file(tmp_path: Path) -> None:
    root = make_faq(tmp_path, {})
    (root / "synonyms.yaml").write_text("groups:\n  - [одно]\n", encoding="utf-8")
    errors = errors_of(root)
    assert any("synonyms.yaml" in e and "at least two" in e for e in errors), errors


# --------------------------------------------------------------------------------------------
# (4) Normalisation, transliteration, synonyms, typo correction
# --------------------------------------------------------------------------------------------


def test_normalize() -> None:
    assert normalize("  Ёлки-палки!!! Как  дела?? 👍 ") == "елки палки как дела"
    assert normalize("web.vk.me") == "web vk me"
    assert normalize("🙂🙂") == ""


def test_transliteration(index: FaqIndex) -> None:
    text = index.text
    assert text.words("zvonok") == ["звонок"]
    assert text.words("Sferum chat") == ["сферум", "чат"]
    assert text.words("shchit zhurnal") == ["щит", "журнал"]
    assert text.words("iphone") == ["айфон"]
    assert index.query_terms("kak nachat urok") == index.query_terms("как начать урок")
    assert index.query_terms("elektronnyj dnevnik") == ["эжд"]
    # a «y»/«i» after a vowel is «й», at the end of a word the reading the dictionary knows wins
    assert text.words("dobryi dobriy drugoy kakoi") == ["добрый", "добрый", "другой", "какой"]
    assert text.words("zayti voyti moyu maya versii") == ["зайти", "войти", "мою", "мая", "версии"]
    assert index.query_terms("kak zayti v sferum") == index.query_terms("как зайти в сферум")


def test_lemmas_synonyms_and_stop_words(index: FaqIndex) -> None:
    assert index.query_terms("Звонками") == ["звонок"]
    # Synonyms from content/faq/synonyms.yaml fold to the group's first item.
    assert index.query_terms("созвон") == index.query_terms("звонок")
    assert index.query_terms("электронный журнал") == index.query_terms("эжд")
    assert index.query_terms("дневник") == ["эжд"]
    assert index.query_terms("есиа") == index.query_terms("госуслуги")
    assert index.query_terms("гу") == index.query_terms("госуслуги")
    assert index.query_terms("прямой эфир") == index.query_terms("трансляция")
    assert index.query_terms("вебка") == index.query_terms("камера")
    # Filler and stop words disappear; «ок» is not read as «около».
    assert index.query_terms("Добрый день! Спасибо") == []
    assert index.query_terms("ок понятно") == []
    # A class label such as «7б» reads as «класс».
    assert index.query_terms("7б") == index.query_terms("класс")


def test_slang_inflections_are_folded(index: FaqIndex) -> None:
    assert index.query_terms("учетки") == index.query_terms("учетка")
    assert index.query_terms("вебку") == index.query_terms("вебка")
    assert index.query_terms("учетка") == index.query_terms("учетная запись")


def test_typo_correction(index: FaqIndex) -> None:
    assert index.query_terms("сферуме") == ["сферум"]
    assert index.query_terms("сфирум") == ["сферум"]
    assert index.query_terms("трансляцыя") == ["трансляция"]
    assert index.query_terms("демонстрацыя экрана") == index.query_terms("демонстрация экрана")
    assert index.query_terms("руководитль") == index.query_terms("руководитель")
    # Short words and real dictionary words are left alone.
    assert index.correct("зум") == "зум"
    assert index.correct("погода") == "погода"


def test_text_processor_without_language_data() -> None:
    text = TextProcessor(LanguageData(), Synonyms())
    assert text.terms("Звонки, звонок!") == ["звонок", "звонок"]
    assert text.words("zvonok") == ["zvonok"]


# --------------------------------------------------------------------------------------------
# Matching behaviour
# --------------------------------------------------------------------------------------------


def test_match_shape(index: FaqIndex) -> None:
    match = index.match("как ученику поднять руку на уроке")
    assert match.confident and match.entry is not None
    assert match.entry.id == "calls-raise-hand"
    assert 0 < match.score <= 1
    assert match.topics[0] == "calls"
    assert len(match.alternatives) <= 3
    ids = [a.entry.id for a in match.alternatives]
    assert match.entry.id not in ids and len(set(ids)) == len(ids)
    assert all(0 <= a.score <= match.score for a in match.alternatives)


def test_fallback_shape(index: FaqIndex) -> None:
    empty = index.match("🙂 спасибо!")
    assert empty.entry is None and not empty.confident
    assert empty.score == 0 and empty.alternatives == () and empty.topics == ()
    unknown = index.match("какая погода завтра в новосибирске")
    assert unknown.entry is None and not unknown.confident
    assert unknown.score < index.settings.threshold


def test_very_long_message_is_cheap(index: FaqIndex) -> None:
    match = index.match("как начать урок " * 2000)
    assert match.entry is not None and match.entry.id == "calls-start-lesson"


def test_fast_fuzzy_scores_equal_rapidfuzz_token_scorers(index: FaqIndex, questions: list) -> None:
    # The fast fuzzy scorer (rapidfuzz's C loop over the phrasings sharing a word, found by an
    # index of words) must give the very scores of the plain one-by-one form, or tuned
    # thresholds would silently shift.
    term_lists = [index.query_terms(item["q"]) for item in questions]
    term_lists += [phrase.split() for phrase in index._phrases[::7]]
    term_lists += [["сферум", "сферум", "чат"], ["абракадабра"], ["чат", "абракадабра", "урок"]]
    checked = 0
    for terms in term_lists:
        if terms:
            assert index._fuzzy(terms) == index._fuzzy_reference(terms), terms
            checked += 1
    assert checked > 500


# --------------------------------------------------------------------------------------------
# (3) Accuracy on the labelled questions
# --------------------------------------------------------------------------------------------


def test_accuracy_on_labelled_questions(index: FaqIndex, questions: list) -> None:
    """The tuned set through the same decision the bot makes (small talk, several questions,
    answer / «did you mean» / «don't know»); bench/faq.py prints these figures and the frozen
    set's aggregates (tests/faq_frozen.yaml is never tuned on; test_faq_heldout.py checks its file)."""
    talk = load_smalltalk(FAQ_DIR)
    figures = evaluate(lambda text: understand(index, talk, text), questions)
    lines = [f"  MISS {item['q'][:70]!r}: expected {item.get('expect', item.get('parts'))}, "
             f"got {found.kind} {found.talk or found.entry_ids}"
             for item, found in figures.misses]
    report = "\n".join([
        "",
        f"in scope {figures.share('in_scope'):.1%}, out of scope {figures.share('out_of_scope'):.1%}, "
        f"small talk {figures.share('smalltalk'):.1%}",
        *lines,
    ])
    print(report)
    assert figures.total["in_scope"] >= 300 and figures.total["out_of_scope"] >= 60
    assert figures.total["smalltalk"] >= 40
    assert figures.share("in_scope") >= MIN_IN_SCOPE_ACCURACY, report
    assert figures.share("out_of_scope") >= MIN_FALLBACK_RATE, report
    assert figures.share("smalltalk") == 1.0, report


def test_index_is_built_once_and_reused(book: FaqBook) -> None:
    index = FaqIndex.build(book)
    first = index.match("как провести трансляцию")
    again = index.match("как провести трансляцию")
    assert first == again


def test_answers_render_without_variables(book: FaqBook) -> None:
    for entry in book.entries.values():
        rendered = book.render(entry)
        assert "{{" not in rendered and "{%" not in rendered


def test_related_buttons_fit_vk(book: FaqBook) -> None:
    for entry in book.entries.values():
        assert len(entry.short) <= 40
        for rel in entry.related:
            assert len(book.entries[rel].short) <= 40


HELDOUT = Path(__file__).resolve().parent / "faq_heldout.yaml"
# Floors on the FIRST frozen set, retired to tuning on 30.11.2026 (the new frozen set is
# tests/faq_frozen.yaml, measured only by bench/faq.py). Measured (bench/faq.py): 81.9 % /
# 92.1 % / 95.1 % when retired, 88.5 % / 96.8 % / 97.6 % after round 3 (which tuned on half of
# it and checked on the other half: see the README), 89.6 % / 96.8 % / 97.6 % after round 4.
RETIRED_FLOORS = {"in_scope": 0.89, "out_of_scope": 0.96, "smalltalk": 0.97}


def test_accuracy_floors_on_the_retired_heldout_set(index: FaqIndex) -> None:
    if not HELDOUT.is_file():
        pytest.skip("the retired held-out set is missing")
    talk = load_smalltalk(FAQ_DIR)
    items = yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))
    figures = evaluate(lambda text: understand(index, talk, text), items)
    shares = {kind: round(figures.share(kind), 3) for kind in RETIRED_FLOORS}
    assert all(shares[k] >= floor for k, floor in RETIRED_FLOORS.items()), shares


def test_service_remembers_readings_per_index(questions: list) -> None:
    # FaqService keeps each message's reading while its index lives: the same as reading it
    # afresh, and a reload (new content) starts afresh instead of serving old readings.
    from core.faq.dialog import FaqService

    faq = FaqService(FAQ_DIR)
    for item in questions[:60]:
        fresh = understand(faq.index, faq.talk, item["q"])
        assert faq.understand(item["q"]) == fresh
        assert faq.understand(item["q"]) is faq.understand(item["q"])
    before = faq.understand(questions[0]["q"])
    faq.reload()
    after = faq.understand(questions[0]["q"])
    assert after is not before and after == before


@pytest.mark.parametrize(("text", "expected"), [
    # numbered questions
    ("1) как начать урок 2) как включить демонстрацию экрана",
     ["calls-start-lesson", "calls-screen-share"]),
    # transliterated: the joint «i kak» is read in Cyrillic before splitting
    ("kak nachat urok i kak pokazat ekran", ["calls-start-lesson", "calls-screen-share"]),
    # the second part only asks «how»: its subject is the first part's
    ("зачем привязывать госуслуги к сферуму и как это сделать", ["gosuslugi-why", "gosuslugi-how"]),
    # a verb asked with «ли» after the joint
    ("что означают уровни в мониторинге и учитываются ли звонки", ["mon-levels", "mon-calls"]),
])
def test_several_questions_are_split_and_each_answered(index: FaqIndex, text: str,
                                                       expected: list[str]) -> None:
    found = understand(index, load_smalltalk(FAQ_DIR), text)
    assert found.kind == "parts" and found.entry_ids == expected, (found.kind, found.entry_ids)


def test_who_the_question_is_about_orders_siblings(index: FaqIndex) -> None:
    # «ученик» names whom the question is about: the entry on active pupils, not the general
    # criteria (which score a little higher on words alone).
    assert index.match("по мониторингу ученик активный если что").entry.id == "mon-active-student"


@pytest.mark.parametrize(("text", "expected"), [
    # clipped and colloquial names of things
    ("на винде сферум пойдёт?", ["app-windows"]),
    ("председатель родкома где общаться с родителями", ["chats-parent-committee"]),
    ("какие чаты создаются автоматом", ["chats-who-creates"]),
    # annoyance is heard, and the question beside it is still answered; beside thanks it is
    # thanks
    ("черт побери", "swearing"),
    ("капец, спасибо", "thanks"),
    ("это бот или человек?", "human"),
    ("ужас, как включить камеру", ["calls-controls"]),
])
def test_colloquial_words_and_annoyance(index: FaqIndex, text: str,
                                        expected: list[str] | str) -> None:
    found = understand(index, load_smalltalk(FAQ_DIR), text)
    if isinstance(expected, str):
        assert (found.kind, found.talk) == ("talk", expected)
    else:
        assert (found.kind, found.entry_ids) == ("answer", expected)


def test_a_detail_of_an_unknown_question_is_not_answered(index: FaqIndex) -> None:
    # «…, какие документы» after a question the FAQ knows nothing about asks about that, not
    # about documents in Sferum.
    found = understand(index, load_smalltalk(FAQ_DIR), "как оформить отпуск учителю, какие документы")
    assert found.kind in ("unknown", "suggest"), (found.kind, found.entry_ids)


def test_word_caches_stay_bounded_however_many_new_words_arrive(index: FaqIndex) -> None:
    """Typos and rare word forms keep coming for as long as the bot runs; the caches of words must
    not grow with them (30 000 distinct words cost ~14 MB, so the bound is a few MB)."""
    assert CACHE_LIMIT <= 10_000
    letters = "абвгдежзиклмнопрстуфхцчшщэюя"
    for n in range(CACHE_LIMIT + 500):
        word = "".join(letters[(n // len(letters) ** k) % len(letters)] for k in range(4)) + "ка"
        index.query_terms(f"как {word} в сферуме")
    for cached in (lemma, is_known_word, is_subject_word):
        assert cached.cache_info().currsize <= CACHE_LIMIT
    assert len(index.text._folded) <= CACHE_LIMIT
    assert len(index._corrections) <= CACHE_LIMIT


def test_small_talk_phrases_are_built_from_word_classes(index: FaqIndex) -> None:
    # smalltalk.yaml's ``compose``: greeting words × time of day × whom, thanks × intensifiers ×
    # what for; none of these exact phrases is listed, each is a combination of classes.
    assert composed([["добрый", "доброе"], ["день", "утро"], ["", "коллеги"]]) == [
        "добрый день", "добрый день коллеги", "добрый утро", "добрый утро коллеги",
        "доброе день", "доброе день коллеги", "доброе утро", "доброе утро коллеги"]
    talk = load_smalltalk(FAQ_DIR)
    for text, kind in (("доброго утречка", "greeting"), ("утро доброе, коллеги", "greeting"),
                       ("сенкс огромное", "thanks"), ("ура, всё заработало", "understood"),
                       ("мне нужен специалист", "human"), ("есть тут кто живой?", "greeting"),
                       # classes match in any inflection; cues are built from classes too
                       ("Доброго денёчка всем", "greeting"), ("доброго вечерочка", "greeting"),
                       ("спокойной ночи", "bye"), ("дайте человека", "human"),
                       ("соедините со специалистом", "human")):
        found = understand(index, talk, text)
        assert (found.kind, found.talk) == ("talk", kind), text
    # clipped, transliterated and apologetic openings, asking who answers, praise, «never mind»
    for text, kind in (("прив", "greeting"), ("ку", "greeting"), ("dobryi den", "greeting"),
                       ("dobriy vecher", "greeting"), ("доброго", "greeting"),
                       ("извините что поздно пишу", "ask"), ("простите за глупый вопрос", "ask"),
                       ("с кем я переписываюсь", "human"), ("это автоответчик?", "human"),
                       ("я с роботом переписываюсь что ли", "human"), ("молодец", "understood"),
                       ("неважно, забудьте", "ok"), ("дякую", "thanks"), ("бред", "swearing"),
                       ("оки", "ok"), ("извиняюсь", "ask"), ("sorry", "ask"),
                       ("это бот отвечает?", "human")):
        found = understand(index, talk, text)
        assert (found.kind, found.talk) == ("talk", kind), text
    # a cue («не пойму») beside a question about something the FAQ knows is not «не то»
    found = understand(index, talk, "пришла работать в сентябре, завуч велела быть в сферуме, а я "
                                    "не пойму как туда попасть")
    assert found.kind != "talk"
    assert understand(index, talk, "не понял ответ").talk == "wrong"
    for text, entry in (("прив, как зайти в сферум", "app-login"),
                        ("извините что поздно пишу, как добавить ребенка в чат класса",
                         "chats-join")):
        assert understand(index, talk, text).entry_ids == [entry], text
    # a bare word of a class is not small talk on its own («завтра» of «до завтра»)
    assert understand(index, talk, "какая погода завтра").kind != "talk"
    # a greeting built from classes still peels off a question
    found = understand(index, talk, "Доброго утречка, коллеги! как провести онлайн-урок")
    assert (found.kind, found.entry_ids) == ("answer", ["calls-start-lesson"])


@pytest.mark.parametrize("text, expected", [
    # colloquial fillers are not content («чё», «ваще», «пжл»), nor is how the answer should
    # be told («пошагово»): the thing asked about decides
    ("как подключить школу к сферуму пошагово", ["reg-steps"]),
    ("а нафига нам этот сферум ваще", ["about-what"]),
    ("чё делать если не пускает в сферум", ["app-login"]),
])
def test_colloquial_fillers_and_the_form_of_the_answer_are_not_content(
        index: FaqIndex, text: str, expected: list[str]) -> None:
    found = understand(index, load_smalltalk(FAQ_DIR), text)
    assert (found.kind, found.entry_ids) == ("answer", expected), (found.kind, found.entry_ids)


@pytest.mark.parametrize("text", ["у меня не работает", "ошибка", "всё сломалось", "не получается"])
def test_a_problem_without_its_subject_is_not_answered_outright(index: FaqIndex, text: str) -> None:
    # «не работает» alone: the bot cannot know what is broken, so it offers the closest entries
    # instead of answering one of them as if it knew
    found = understand(index, load_smalltalk(FAQ_DIR), text)
    assert found.kind in ("suggest", "unknown"), (found.kind, found.entry_ids)
    assert index.match(text).vague
    # with its subject it is a question like any other
    assert understand(index, load_smalltalk(FAQ_DIR), "не получается войти в сферум").entry_ids == [
        "app-login"]


@pytest.mark.parametrize("text, expected", [
    # naming nobody: most likely a teacher, a parent or a pupil, not the school's administrator
    ("как зарегистрироваться в сферуме", ["reg-teacher-join"]),
    # naming the office keeps its own entry first
    ("как администратору зарегистрироваться в сферуме", ["reg-admin-sferum"]),
])
def test_a_question_naming_nobody_is_not_taken_for_an_office(index: FaqIndex, text: str,
                                                             expected: list[str]) -> None:
    found = understand(index, load_smalltalk(FAQ_DIR), text)
    assert (found.kind, found.entry_ids) == ("answer", expected)


def test_an_unsure_answer_shows_a_guess_only_when_it_is_a_fair_one(index: FaqIndex) -> None:
    """«Не уверен… возможно, Вы спрашиваете: …» leads with a short answer only for a guess strong
    enough and ahead of the runner-up (talk.Decision.guess, guess_lead); a weak call keeps the
    plain «did you mean» buttons, and a message that only says something is broken gets none."""
    talk = load_smalltalk(FAQ_DIR)
    fair = understand(index, talk, "а частной школе можно в сферум?")
    assert (fair.kind, fair.guess) == ("suggest", "org-kinds")
    weak = understand(index, talk, "у меня в дневнике не видно второго ребенка")
    assert weak.kind == "suggest" and weak.best is not None and weak.best.score < 0.30
    assert weak.guess is None
    vague = understand(index, talk, "у меня ничего не работает")
    assert vague.guess is None
