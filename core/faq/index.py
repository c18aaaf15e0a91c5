"""FAQ: loading the question-answer files and matching free-text questions to them.

Content lives in ``content/faq/`` (data a methodist edits without touching code):

* ``topics.yaml`` -- the ordered list of topics;
* ``<topic>/<id>.md`` -- one entry per file: YAML front matter, then the answer, a Jinja2 template;
* ``synonyms.yaml`` -- groups of words and phrases that mean the same thing;
* ``language.yaml`` -- stop words, filler phrases and the Latin-to-Cyrillic tables.

``load_faq`` validates everything and raises one ``FaqError`` listing every problem, each prefixed
with the file it was found in. ``FaqIndex.build`` prepares the matcher once at start-up;
``FaqIndex.match`` answers a question in a few milliseconds.

Matching pipeline (the same for questions and for entry texts, so both sides meet half-way):
normalise (lowercase, «ё» -> «е», drop punctuation and emoji) -> transliterate Latin-letter words
-> lemmatise with pymorphy3 -> drop filler phrases -> apply synonyms -> drop stop words -> correct
typos against the index vocabulary. An entry's score mixes a normalised BM25 over the title and
phrasings, a fuzzy ``token_set_ratio`` against each phrasing and a smaller BM25 over the answer.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jinja2
import pymorphy3
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from rapidfuzz import fuzz, process

from core.kernel.domain import ROLES
from core.kernel.untrusted import unlinked
from core.kernel.yamltext import load_yaml

ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SOURCE_PATTERN = r"^(?:[0-9]{3}|max)$"  # a seed number, or the dated MAX facts
TITLE_MAX = 80
LABEL_MAX = 40  # VK keyboard button label limit
ANSWER_MAX = 3000
BRIEF_MAX = 300  # the short direct answer a person reads first
NOTE_MAX = 200  # the one line that says where the seeds disagree

TOPICS_FILE = "topics.yaml"
SYNONYMS_FILE = "synonyms.yaml"
LANGUAGE_FILE = "language.yaml"
REGION_FILE = "region.yaml"
SOURCES_FILE = "sources.yaml"
OFFTOPIC_FILE = "offtopic.yaml"
# The folder a bot's coordinators teach (see core/faq/learning.py): phrasings they attached to
# existing entries, and the entries they wrote that a bot admin published.
LEARNED_PHRASINGS = "phrasings.yaml"
LEARNED_ENTRIES = "entries"

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.DOTALL)
# Markdown that VK would show literally: bold/italic markers, headings, tables.
_MARKDOWN = re.compile(r"\*\*|__|^\s{0,3}#{1,6}\s|^\s*\|.*\|\s*$", re.MULTILINE)
_NON_WORD = re.compile(r"[^0-9a-zа-я]+")
_LATIN = re.compile(r"[a-z]")
CYRILLIC_LETTERS = "\u0400-\u04ff"  # a regex class range: the Cyrillic block, «ё» included
_CYRILLIC = re.compile(f"[{CYRILLIC_LETTERS}]")
SLANG_MIN_LENGTH = 4
SLANG_CUTOFF = 80.0
SLANG_PREFIX = 3
# Per-word caches are bounded: typos and rare forms keep coming for as long as the bot runs, and
# 30 000 distinct words cost ~14 MB; the FAQ's own vocabulary (~8 000 words) fits.
CACHE_LIMIT = 10_000
_CLASS_LABEL = re.compile(r"(?:[1-9]|1[01])[а-я]")  # a school class such as «7б» or «11а»


class FaqError(Exception):
    """The FAQ content is invalid; ``errors`` holds one line per problem, each naming its file."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__(
            f"{len(self.errors)} problem(s) in the FAQ content:\n" + "\n".join(self.errors)
        )

    def for_log(self) -> str:
        """How many problems and in which files, for the log: the problems themselves may
        quote a label or a title a person typed (a learned entry is made of their question)."""
        files = sorted({e.split(": ", 1)[0] for e in self.errors})
        return f"{len(self.errors)} problem(s) in {', '.join(files)}"


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _known_roles(roles: Iterable[str]) -> None:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown role(s) {unknown}; the bot knows {list(ROLES)}")


def _for_roles(value: dict[str, str], what: str, limit: int) -> dict[str, str]:
    """A text worded per role: known roles only, each non-empty and within the limit."""
    _known_roles(value)
    cleaned = {role: str(text).strip() for role, text in value.items()}
    for role, text in cleaned.items():
        if not text:
            raise ValueError(f"the {what} for '{role}' is empty")
        if len(text) > limit:
            raise ValueError(f"the {what} for '{role}' is {len(text)} characters, "
                             f"the limit is {limit}")
    return cleaned


class _Worded(_Model):
    """A title and a button label, each optionally worded per role (shown, never matched)."""

    title: str = Field(min_length=1, max_length=TITLE_MAX)
    short: str = Field(min_length=1, max_length=LABEL_MAX)
    short_for: dict[str, str] = Field(default_factory=dict)  # role -> its button label
    title_for: dict[str, str] = Field(default_factory=dict)  # role -> its title

    @field_validator("short_for")
    @classmethod
    def _short_for(cls, value: dict[str, str]) -> dict[str, str]:
        return _for_roles(value, "button label", LABEL_MAX)

    @field_validator("title_for")
    @classmethod
    def _title_for(cls, value: dict[str, str]) -> dict[str, str]:
        return _for_roles(value, "title", TITLE_MAX)


class FaqTopic(_Worded):
    """A topic; ``short_for``/``title_for`` word its button and title for a role, as an
    entry's do (a parent's «Госуслуги», not «Госуслуги (ЕСИА)»)."""

    id: str = Field(pattern=ID_PATTERN)
    order: int


class FaqEntry(_Worded):
    """One question: ``brief`` is the direct answer read first (a Jinja2 template, like the
    details after the front matter); ``brief_for`` words it for a role whose people would not
    read the general one as meant for them (a parent asked about «педагогам …»); ``note`` says
    in one line where the seeds disagree.

    ``short_for`` and ``title_for`` word the button label and the title for a role (a parent
    reads «Госуслуги», not «ЕСИА»); they are only shown: the matcher indexes ``title`` and
    ``short``, so what people type finds the same entries whoever asks. ``audience`` names the
    roles an entry is meant for (empty: everyone); it only keeps the entry out of the
    related-question buttons shown to others: anyone may still ask it or find it in its topic."""

    id: str = Field(pattern=ID_PATTERN)
    topic: str = Field(pattern=ID_PATTERN)
    brief: str = Field(min_length=1, max_length=BRIEF_MAX)
    brief_for: dict[str, str] = Field(default_factory=dict)  # role -> its brief
    audience: tuple[str, ...] = ()  # the roles the entry is meant for; empty: everyone
    note: str | None = Field(default=None, max_length=NOTE_MAX)
    phrasings: tuple[str, ...] = Field(min_length=4, max_length=16)
    related: tuple[str, ...] = Field(min_length=1, max_length=4)
    sources: tuple[str, ...] = Field(min_length=1)
    answer: str = Field(min_length=1)
    offer_coordinator: bool = False  # the seeds leave the question open: offer to ask a person
    learned: bool = False  # written by a coordinator (core/faq/learning.py), not from the seeds
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("phrasings")
    @classmethod
    def _phrasings(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(p.strip() for p in value)
        if any(not p for p in cleaned):
            raise ValueError("phrasings must not be empty")
        if len({p.casefold() for p in cleaned}) != len(cleaned):
            raise ValueError("phrasings must not repeat")
        return cleaned

    @field_validator("brief_for")
    @classmethod
    def _brief_for(cls, value: dict[str, str]) -> dict[str, str]:
        return _for_roles(value, "brief", BRIEF_MAX)

    @field_validator("audience")
    @classmethod
    def _audience(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _known_roles(value)
        if len(set(value)) != len(value):
            raise ValueError("audience roles must not repeat")
        return value

    @field_validator("related")
    @classmethod
    def _related(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("related ids must not repeat")
        return value

    @field_validator("sources")
    @classmethod
    def _sources(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [s for s in value if not re.match(SOURCE_PATTERN, s)]
        if bad:
            raise ValueError(f"sources must be seed numbers like '002', got {bad}")
        return value


class LearnedEntry(FaqEntry):
    """An entry a coordinator wrote from their answer: one phrasing (the question asked) is
    enough, and its source is the coordinator, not a seed."""

    phrasings: tuple[str, ...] = Field(min_length=1, max_length=50)
    related: tuple[str, ...] = Field(default=(), max_length=4)
    sources: tuple[str, ...] = ()
    learned: bool = True


class RegionData(_Model):
    """What differs by region (``region.yaml``, edited by the operator): answers use it as
    ``{{ region.<name> }}``. The packaged file holds the seeds' example, marked as one."""

    values: dict[str, str] = Field(default_factory=dict)

    @field_validator("values")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
                raise ValueError(f"name {key!r} must be lowercase Latin letters and '_'")
        return value


class SourceTitles(_Model):
    """Seed number -> how the answer names that document in its one line of sources."""

    titles: dict[str, str] = Field(default_factory=dict)


class LanguageData(_Model):
    """Stop words, filler phrases and transliteration tables (``language.yaml``)."""

    stop_words: frozenset[str] = frozenset()
    filler_phrases: tuple[str, ...] = ()
    class_label_word: str = ""  # what a class label such as «7б» stands for
    latin_words: dict[str, str] = Field(default_factory=dict)
    translit: dict[str, str] = Field(default_factory=dict)
    # Word endings read before the letter table («dobryi» -> «добрый», not «добрыи»): the
    # first reading that makes a dictionary word wins, else the first.
    translit_endings: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # Russian vowels: «ы» never follows one, so a Latin «y» after a vowel is «й» («zayti»).
    translit_vowels: str = ""
    translit_short_i: str = ""  # «й»
    # Latin letters that look like Cyrillic ones, read so inside a word that mixes the two.
    homoglyphs: dict[str, str] = Field(default_factory=dict)
    # Who a question is about («учитель», «ученик», «школа»…): an entry whose title names
    # someone else is a sibling about another person (see MatcherSettings.role_*).
    role_words: tuple[str, ...] = ()
    office_roles: tuple[str, ...] = ()  # those of role_words that are offices, not the public
    # Words that say something is wrong but not with what («не работает», «ошибка»): a message
    # made only of them is never answered outright (the bot cannot know which entry it means).
    vague_words: tuple[str, ...] = ()

    @field_validator("translit", "latin_words", "translit_endings", "homoglyphs")
    @classmethod
    def _latin_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.fullmatch(r"[a-z0-9.]+", key):
                raise ValueError(f"key {key!r} must be lowercase Latin letters")
        return value


class OffTopic(_Model):
    """Questions that use the FAQ's words about something else (``offtopic.yaml``): groups of
    phrasings matched like entries; ``keep_words`` are question words that count here."""

    keep_words: tuple[str, ...] = ()
    anchors: tuple[str, ...] = ()  # naming the platform makes a question about it
    groups: dict[str, tuple[str, ...]] = Field(default_factory=dict)


class Synonyms(_Model):
    """Groups of equivalent words/phrases; the first item of a group is its canonical form."""

    groups: tuple[tuple[str, ...], ...] = ()

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        for group in value:
            if len(group) < 2 or any(not str(item).strip() for item in group):
                raise ValueError(f"a group needs at least two non-empty items: {list(group)}")
        return value


# --------------------------------------------------------------------------------------------
# The book
# --------------------------------------------------------------------------------------------


def _jinja_env() -> jinja2.Environment:
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )


@dataclass(frozen=True)
class FaqBook:
    """Validated FAQ content: ordered topics, entries by id, language data."""

    topics: tuple[FaqTopic, ...]
    entries: Mapping[str, FaqEntry]
    language: LanguageData = field(default_factory=LanguageData)
    synonyms: Synonyms = field(default_factory=Synonyms)
    region: RegionData = field(default_factory=RegionData)
    source_titles: SourceTitles = field(default_factory=SourceTitles)
    offtopic: OffTopic = field(default_factory=OffTopic)
    _templates: Mapping[str, jinja2.Template] = field(default_factory=dict, repr=False)
    # Briefs by (entry id, role); the general one under the role "".
    _briefs: Mapping[tuple[str, str], jinja2.Template] = field(default_factory=dict, repr=False)
    # Rendered answers by (kind, entry id): the book and its region data never change once
    # loaded (a reload builds a new book), so each answer is rendered once, not per question.
    _rendered: dict[tuple[str, str], str] = field(default_factory=dict, repr=False, compare=False)

    def topic(self, topic_id: str) -> FaqTopic | None:
        return next((t for t in self.topics if t.id == topic_id), None)

    def by_topic(self, topic_id: str) -> list[FaqEntry]:
        """Entries of one topic, in file-name order."""
        return [e for e in self.entries.values() if e.topic == topic_id]

    def get(self, entry_id: str) -> FaqEntry | None:
        return self.entries.get(entry_id)

    def render(self, entry: FaqEntry) -> str:
        """The details, rendered with StrictUndefined and the region's data only; what a
        coordinator typed is shown as written, never rendered as a template."""
        return self._render_part(entry, "answer", entry.answer, self._templates.get(entry.id))

    def render_brief(self, entry: FaqEntry, role: str | None = None) -> str:
        """The short direct answer, in the words for the asker's role when the entry has them;
        a person without a role, or a role without its own words, gets the general one."""
        if role and role in entry.brief_for:
            return self._render_part(entry, f"brief.{role}", entry.brief_for[role],
                                     self._briefs.get((entry.id, role)))
        return self._render_part(entry, "brief", entry.brief, self._briefs.get((entry.id, "")))

    def label(self, item: FaqEntry | FaqTopic, role: str | None = None) -> str:
        """An entry's or a topic's button label as the asker's role reads it (never what is
        matched). A coordinator's label loses invisible direction marks (it could read
        backwards), never its length: VK shows a label as plain text."""
        label = item.short_for.get(role or "", item.short)
        if getattr(item, "learned", False):
            return "".join(ch for ch in label if unicodedata.category(ch) != "Cf") or label
        return label

    def title_of(self, item: FaqEntry | FaqTopic, role: str | None = None) -> str:
        """An entry's or a topic's title as the asker's role reads it (never what is matched);
        a coordinator's title is their words as data (``_render_part``)."""
        title = item.title_for.get(role or "", item.title)
        return unlinked(title) if getattr(item, "learned", False) else title

    def meant_for(self, entry: FaqEntry, role: str | None) -> bool:
        """Whether to offer the entry unasked (a related question) to someone of this role;
        a person who has not said who they are is offered everything."""
        return not entry.audience or not role or role in entry.audience

    def related_of(self, entry: FaqEntry, role: str | None, limit: int = 4) -> list[FaqEntry]:
        """The related entries to offer the asker: existing ones meant for their role."""
        found = (self.entries.get(rid) for rid in entry.related)
        return [e for e in found if e is not None and self.meant_for(e, role)][:limit]

    def _render_part(self, entry: FaqEntry, part: str, source: str,
                     template: jinja2.Template | None) -> str:
        """One part of an entry filled with the region's data, once per book for its own
        entries (an entry from elsewhere, e.g. a draft being previewed, is not cached)."""
        if entry.learned:
            # A coordinator's words, shown to everyone: never a template, no live VK mention
            # («[id1|…]», «@all») or invisible direction marks, as their relayed answer has none.
            return unlinked(source.strip())
        mine = self.entries.get(entry.id) is entry
        if mine and (part, entry.id) in self._rendered:
            return self._rendered[part, entry.id]
        if template is None:
            template = _jinja_env().from_string(source)
        text = template.render(region=self.region.values).strip()
        if mine:
            self._rendered[part, entry.id] = text
        return text

    def sources_of(self, entry: FaqEntry) -> list[str]:
        """The documents an answer rests on, as the answer names them."""
        return [self.source_titles.titles.get(s, s) for s in entry.sources]


def _display(path: Path) -> str:
    """A path as it should appear in error messages: relative to the working directory if under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _format_validation(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "missing":
            problems.append(f"missing field '{loc}'")
        elif err["type"] == "extra_forbidden":
            problems.append(f"unknown field '{loc}'")
        else:
            problems.append(f"field '{loc}': {err['msg']}")
    return problems


def _read_yaml(path: Path, errors: list[str]) -> Any:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(f"{_display(path)}: cannot read: {exc}")
    except yaml.YAMLError as exc:
        errors.append(f"{_display(path)}: invalid YAML: {exc}".replace("\n", " "))
    return None


def _load_topics(directory: Path, errors: list[str]) -> list[FaqTopic]:
    path = directory / TOPICS_FILE
    if not path.is_file():
        errors.append(f"{_display(path)}: file is missing")
        return []
    data = _read_yaml(path, errors)
    if data is None:
        return []
    if not isinstance(data, list):
        errors.append(f"{_display(path)}: must be a list of topics")
        return []
    topics: list[FaqTopic] = []
    seen: set[str] = set()
    for number, item in enumerate(data, start=1):
        try:
            topic = FaqTopic.model_validate(item)
        except ValidationError as exc:
            for problem in _format_validation(exc):
                errors.append(f"{_display(path)}: topic #{number}: {problem}")
            continue
        if topic.id in seen:
            errors.append(f"{_display(path)}: duplicate topic id '{topic.id}'")
            continue
        seen.add(topic.id)
        topics.append(topic)
    labels = Counter(t.short for t in topics)
    for label, count in labels.items():
        if count > 1:
            errors.append(f"{_display(path)}: topic label '{label}' is used {count} times")
    for role in ROLES:  # a role's own labels must not clash either
        seen_by_role = Counter(t.short_for.get(role, t.short) for t in topics)
        for label, count in seen_by_role.items():
            if count > 1 and labels[label] <= 1:
                errors.append(f"{_display(path)}: topic label '{label}' for '{role}' "
                              f"is used {count} times")
    return sorted(topics, key=lambda t: (t.order, t.id))


def _load_optional(directory: Path, name: str, model: type[_Model], errors: list[str]) -> Any:
    path = directory / name
    if not path.is_file():
        return model()
    data = _read_yaml(path, errors)
    if data is None:
        return model()
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors.extend(f"{_display(path)}: {p}" for p in _format_validation(exc))
        return model()


def parse_entry(path: Path, errors: list[str],
                 model: type[FaqEntry] = FaqEntry) -> FaqEntry | None:
    where = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(f"{where}: cannot read: {exc}")
        return None
    found = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if not found:
        errors.append(f"{where}: no front matter (the file must start with '---' and a closing '---')")
        return None
    try:
        front = load_yaml(found.group(1))
    except yaml.YAMLError as exc:
        errors.append(f"{where}: invalid YAML front matter: {exc}".replace("\n", " "))
        return None
    if not isinstance(front, dict):
        errors.append(f"{where}: front matter must be a mapping of fields")
        return None
    if "answer" in front or "path" in front:
        errors.append(f"{where}: the answer goes after the front matter, not into a field")
        return None
    # YAML reads «sources: [002]» as the number 2; accept it as the seed number it means.
    if isinstance(front.get("sources"), list):
        front["sources"] = [f"{s:03d}" if isinstance(s, int) else s for s in front["sources"]]
    try:
        return model.model_validate({**front, "answer": found.group(2).strip(), "path": path})
    except ValidationError as exc:
        errors.extend(f"{where}: {p}" for p in _format_validation(exc))
        return None


def _load_learned_phrasings(learned: Path, errors: list[str]) -> dict[str, list[str]]:
    path = learned / LEARNED_PHRASINGS
    if not path.is_file():
        return {}
    data = _read_yaml(path, errors)
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(x, str) for x in v)
        for k, v in data.items()
    ):
        errors.append(f"{_display(path)}: must map entry ids to lists of phrasings")
        return {}
    return data


def load_faq(directory: Path, learned: Path | None = None) -> FaqBook:
    """Load and validate the FAQ in ``directory`` plus what coordinators taught in ``learned``;
    raise ``FaqError`` listing every problem."""
    directory = Path(directory)
    errors: list[str] = []
    if not directory.is_dir():
        raise FaqError([f"{_display(directory)}: not a directory"])

    topics = _load_topics(directory, errors)
    topic_ids = {t.id for t in topics}
    language = _load_optional(directory, LANGUAGE_FILE, LanguageData, errors)
    synonyms = _load_optional(directory, SYNONYMS_FILE, Synonyms, errors)
    region = _load_optional(directory, REGION_FILE, RegionData, errors)
    sources = _load_optional(directory, SOURCES_FILE, SourceTitles, errors)
    offtopic = _load_optional(directory, OFFTOPIC_FILE, OffTopic, errors)

    parsed: list[FaqEntry] = []
    for path in sorted(directory.glob("*/*.md")):
        entry = parse_entry(path, errors)
        if entry is not None:
            parsed.append(entry)
    stray = sorted(p for p in directory.glob("*.md"))
    errors.extend(f"{_display(p)}: entries belong in a topic folder <topic>/<id>.md" for p in stray)
    extra_phrasings: dict[str, list[str]] = {}
    if learned is not None and learned.is_dir():
        for path in sorted((learned / LEARNED_ENTRIES).glob("*.md")):
            entry = parse_entry(path, errors, LearnedEntry)
            if entry is not None:
                parsed.append(entry)
        extra_phrasings = _load_learned_phrasings(learned, errors)

    entries: dict[str, FaqEntry] = {}
    first_path: dict[str, Path] = {}
    for entry in parsed:
        where = _display(entry.path) if entry.path else entry.id
        if entry.id in entries:
            errors.append(
                f"{where}: duplicate id '{entry.id}' (also in {_display(first_path[entry.id])})"
            )
            continue
        entries[entry.id] = entry
        first_path[entry.id] = entry.path or Path(entry.id)

    env = _jinja_env()
    templates: dict[str, jinja2.Template] = {}
    briefs: dict[tuple[str, str], jinja2.Template] = {}
    labels: dict[tuple[str, str], str] = {}
    for entry in entries.values():
        path = entry.path or Path(entry.id)
        where = _display(path)
        if path.stem != entry.id:
            errors.append(f"{where}: file name must be '{entry.id}.md' to match the id")
        if entry.topic not in topic_ids:
            errors.append(f"{where}: topic '{entry.topic}' does not exist in {TOPICS_FILE}")
        elif path.parent.name != entry.topic and not entry.learned:
            errors.append(f"{where}: entry of topic '{entry.topic}' must be in folder '{entry.topic}/'")
        for rel in entry.related:
            if rel == entry.id:
                errors.append(f"{where}: related id '{rel}' refers to the entry itself")
            elif rel not in entries:
                errors.append(f"{where}: related id '{rel}' does not exist")
        key = (entry.topic, entry.short.casefold())
        if key in labels:
            errors.append(
                f"{where}: button label '{entry.short}' is already used in topic "
                f"'{entry.topic}' by '{labels[key]}'"
            )
        else:
            labels[key] = entry.id
        if entry.learned:  # a coordinator's text: data, not a template
            if _MARKDOWN.search(entry.answer):
                errors.append(f"{where}: answer uses Markdown (VK shows it literally): use plain text")
            continue
        try:
            template = env.from_string(entry.answer)
            rendered = template.render(region=region.values).strip()
        except jinja2.TemplateSyntaxError as exc:
            errors.append(f"{where}: answer is not a valid Jinja2 template: {exc.message} (line {exc.lineno})")
            continue
        except jinja2.TemplateError as exc:
            errors.append(f"{where}: answer cannot be rendered: {exc}")
            continue
        variants = {"": ("brief", entry.brief)}
        variants.update({role: (f"brief_for.{role}", text)
                         for role, text in entry.brief_for.items()})
        for role, (name, source) in variants.items():
            try:
                brief_template = env.from_string(source)
                brief = brief_template.render(region=region.values).strip()
            except jinja2.TemplateError as exc:
                errors.append(f"{where}: {name} cannot be rendered: {exc}")
                continue
            if len(brief) > BRIEF_MAX:
                errors.append(f"{where}: {name} is {len(brief)} characters, "
                              f"the limit is {BRIEF_MAX}")
            briefs[entry.id, role] = brief_template
        for seed in entry.sources:
            if sources.titles and seed not in sources.titles:
                errors.append(f"{where}: source '{seed}' is not listed in {SOURCES_FILE}")
        if not rendered:
            errors.append(f"{where}: answer is empty")
        elif len(rendered) > ANSWER_MAX:
            errors.append(f"{where}: answer is {len(rendered)} characters, the limit is {ANSWER_MAX}")
        if _MARKDOWN.search(rendered):
            errors.append(f"{where}: answer uses Markdown (VK shows it literally): use plain text")
        templates[entry.id] = template

    for role in ROLES:  # a role's own labels must not clash in a topic either
        for entry in entries.values():
            if role not in entry.short_for:
                continue
            label = entry.short_for[role]
            for other in entries.values():
                if (other is not entry and other.topic == entry.topic
                        and other.short_for.get(role, other.short).casefold() == label.casefold()):
                    errors.append(f"{_display(entry.path or Path(entry.id))}: button label "
                                  f"'{label}' for '{role}' is already used in topic "
                                  f"'{entry.topic}' by '{other.id}'")
                    break

    for topic in topics:
        if not any(e.topic == topic.id for e in entries.values()):
            errors.append(f"{_display(directory / TOPICS_FILE)}: topic '{topic.id}' has no entries")

    for entry_id, phrasings in extra_phrasings.items():
        entry = entries.get(entry_id)
        if entry is None:  # the entry was removed from the content since; the phrasing waits
            continue
        known = {p.casefold() for p in entry.phrasings}
        added = tuple(p.strip() for p in phrasings
                      if p.strip() and p.strip().casefold() not in known)
        entries[entry_id] = entry.model_copy(update={"phrasings": entry.phrasings + added})

    if errors:
        raise FaqError(errors)
    return FaqBook(
        topics=tuple(topics),
        entries=MappingProxyType(entries),
        language=language,
        synonyms=synonyms,
        region=region,
        source_titles=sources,
        offtopic=offtopic,
        _templates=MappingProxyType(templates),
        _briefs=MappingProxyType(briefs),
    )


# --------------------------------------------------------------------------------------------
# Text processing
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _morph() -> pymorphy3.MorphAnalyzer:
    """The one MorphAnalyzer of the process (loading the dictionaries takes ~0.1 s)."""
    return pymorphy3.MorphAnalyzer()


@functools.lru_cache(maxsize=CACHE_LIMIT)
def lemma(word: str) -> str:
    """The dictionary form of a Cyrillic word, with «ё» folded to «е»; digits pass through."""
    if not word or word.isdigit():
        return word
    return _morph().parse(word)[0].normal_form.replace("ё", "е")


@functools.lru_cache(maxsize=CACHE_LIMIT)
def is_known_word(word: str) -> bool:
    return _morph().word_is_known(word)


# Parts of speech (OpenCorpora tags) that name things; an unknown word of these kinds suggests the
# question is about something the FAQ does not cover («зум», «зарплата», «погода»).
_SUBJECT_POS = frozenset({"NOUN", None})


@functools.lru_cache(maxsize=CACHE_LIMIT)
def is_subject_word(word: str) -> bool:
    """True for nouns and unparseable words; False for verbs, adjectives, adverbs, numbers."""
    if word.isdigit():
        return False
    return _morph().parse(word)[0].tag.POS in _SUBJECT_POS


def normalize(text: str) -> str:
    """Lowercase, fold «ё», replace everything but letters and digits by single spaces."""
    text = text.lower().replace("ё", "е")
    return _NON_WORD.sub(" ", text).strip()


class TextProcessor:
    """Turns any text into a list of lemma terms, the same way for questions and entries."""

    def __init__(self, language: LanguageData, synonyms: Synonyms) -> None:
        self.stop_words = frozenset(normalize(w) for w in language.stop_words)
        self.class_word = normalize(language.class_label_word)
        self.latin_words = {k.lower(): normalize(v) for k, v in language.latin_words.items()}
        # Longest sequences first, so «shch» wins over «sh» and «ch».
        self._translit = sorted(
            ((k.lower(), v) for k, v in language.translit.items()), key=lambda kv: -len(kv[0])
        )
        self._translit_re = (
            re.compile("|".join(re.escape(k) for k, _ in self._translit)) if self._translit else None
        )
        self._translit_map = dict(self._translit)
        self._after_vowel = (
            re.compile(f"(?<=[{re.escape(language.translit_vowels)}])ы")
            if language.translit_vowels and language.translit_short_i else None
        )
        self._short_i = language.translit_short_i
        self._homoglyphs = str.maketrans({k.lower(): v for k, v in language.homoglyphs.items()})
        self._endings = sorted(((k.lower(), v) for k, v in language.translit_endings.items()),
                               key=lambda kv: -len(kv[0]))
        self._folded: dict[str, str] = {}
        self._slang = sorted(
            {
                word
                for group in synonyms.groups
                for item in group
                for word in self.words(item)
                if len(word) >= SLANG_MIN_LENGTH and not word.isdigit() and not is_known_word(word)
            }
        )
        self.fillers = self._phrase_set(language.filler_phrases)
        # Phrase (tuple of lemmas) -> canonical tuple of lemmas.
        self.synonyms: dict[tuple[str, ...], tuple[str, ...]] = {}
        for group in synonyms.groups:
            canonical = self._lemmas_plain(group[0])
            for item in group:
                phrase = self._lemmas_plain(item)
                if phrase:
                    self.synonyms.setdefault(phrase, canonical)
        self._max_phrase = max((len(p) for p in (*self.synonyms, *self.fillers)), default=1)
        # A canonical form may itself contain words of another group («повысить активность»):
        # rewrite the canonical forms until nothing changes, so replacements chain.
        for _ in range(3):
            changed = False
            for phrase, canonical in self.synonyms.items():
                again = tuple(self.rewrite(canonical))
                if again != canonical:
                    self.synonyms[phrase], changed = again, True
            if not changed:
                break

    # -- surface --------------------------------------------------------------------------

    def transliterate(self, word: str) -> str:
        """Latin-letter Russian to Cyrillic: known product words first, then letter by letter."""
        if word in self.latin_words:
            return self.latin_words[word]
        if self._translit_re is None:
            return word
        for ending, readings in self._endings:
            if len(word) > len(ending) and word.endswith(ending) and readings:
                stem = self._letters(word[: -len(ending)])
                return next((stem + r for r in readings if is_known_word(stem + r)),
                            stem + readings[0])
        return self._letters(word)

    def _letters(self, word: str) -> str:
        assert self._translit_re is not None
        word = self._translit_re.sub(lambda m: self._translit_map[m.group(0)], word)
        return self._after_vowel.sub(self._short_i, word) if self._after_vowel else word

    def words(self, text: str) -> list[str]:
        """Normalised, transliterated surface words; class labels («7б») become one word."""
        out: list[str] = []
        for word in normalize(text).split():
            if _LATIN.search(word) and _CYRILLIC.search(word):
                word = word.translate(self._homoglyphs)  # «cфepум»: look-alikes slipped in
            if _LATIN.search(word):
                out.extend(self.transliterate(word).split())
            elif self.class_word and _CLASS_LABEL.fullmatch(word):
                out.append(self.class_word)
            else:
                out.append(word)
        return out

    def _lemmas_plain(self, text: str) -> tuple[str, ...]:
        return tuple(self.lemma(w) for w in self.words(text))

    def _phrase_set(self, phrases: Iterable[str]) -> set[tuple[str, ...]]:
        return {p for p in (self._lemmas_plain(x) for x in phrases) if p}

    # -- terms ----------------------------------------------------------------------------

    def rewrite(self, lemmas: Sequence[str]) -> list[str]:
        """Drop filler phrases, replace synonyms by their canonical form (longest match first)."""
        out: list[str] = []
        i, n = 0, len(lemmas)
        while i < n:
            for size in range(min(self._max_phrase, n - i), 0, -1):
                chunk = tuple(lemmas[i : i + size])
                if chunk in self.fillers:
                    i += size
                    break
                canonical = self.synonyms.get(chunk)
                if canonical is not None:
                    out.extend(canonical)
                    i += size
                    break
            else:
                out.append(lemmas[i])
                i += 1
        return out

    def lemma(self, word: str) -> str:
        """A word's lemma; a stop word keeps its own form (pymorphy3 reads «ок» as «около»).

        Slang the dictionary does not know («учетки», «вебку») gets a different guessed lemma
        in every case form, so such a word is first folded onto the closest word listed in
        synonyms.yaml that starts the same way («учетка», «вебка»).
        """
        if word in self.stop_words:
            return word
        folded = self._folded.get(word)
        if folded is None:
            folded = word
            if (
                self._slang
                and len(word) >= SLANG_MIN_LENGTH
                and word not in self._slang
                and not word.isdigit()
                and not is_known_word(word)
            ):
                found = process.extractOne(
                    word, self._slang, scorer=fuzz.ratio, score_cutoff=SLANG_CUTOFF
                )
                if found is not None and found[0][:SLANG_PREFIX] == word[:SLANG_PREFIX]:
                    folded = found[0]
            if len(self._folded) >= CACHE_LIMIT:
                self._folded.clear()
            self._folded[word] = folded
        return lemma(folded)

    def terms(self, text: str) -> list[str]:
        """Lemma terms of a text: synonyms applied, filler and stop words removed (order kept)."""
        lemmas = [self.lemma(w) for w in self.words(text)]
        return [t for t in self.rewrite(lemmas) if t not in self.stop_words]


# --------------------------------------------------------------------------------------------
# Index and matching
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatcherSettings:
    """Weights and thresholds of the matcher, calibrated on ``tests/faq_questions.yaml``."""

    # 0.25/0.20 (fuzzy/answer) won 6 tuned questions in scope, but answered more of the fresh
    # off-topic questions written to check it (18 of 80 against 16): the old weights stay.
    weight_bm25: float = 0.55  # BM25 over title + phrasings + button label
    weight_fuzzy: float = 0.20  # best token_set_ratio against a phrasing
    weight_answer: float = 0.25  # BM25 over the answer text
    bm25_k: float = 1.2  # term-frequency saturation
    bm25_b: float = 0.3  # document-length normalisation
    threshold: float = 0.38  # below it the question falls back to «не знаю»
    suggest_threshold: float = 0.25  # candidates offered as buttons after a fallback
    unknown_idf: float = 0.6  # weight of a word the FAQ never uses, as a share of the top IDF
    unknown_other: float = 0.4  # ... multiplied by this when it is not a noun (verbs, numbers)
    query_cap: float = 4.0  # long questions: normalise by at most this many "unknown" words
    fuzzy_sort_share: float = 0.2  # share of token_sort_ratio blended into token_set_ratio
    typo_cutoff: float = 80.0  # rapidfuzz ratio for an unknown word to count as a typo
    # Words the dictionary knows are real words, not typos; correcting them («форма» -> «формат»)
    # did not pay off on the labelled set, so it is off unless switched on here.
    correct_known_words: bool = False
    typo_cutoff_known: float = 92.0  # when on: stricter cutoff ...
    typo_prefix_known: int = 3  # ... and the same first letters (отказаться ≠ оказаться)
    typo_min_length: int = 4
    typo_frequency_bonus: float = 10.0  # ratio points for a word every entry uses
    max_words: int = 80  # only the first words of a very long message are read
    max_alternatives: int = 3
    max_topics: int = 3
    # Off-topic groups (offtopic.yaml): a question closer to one of them than to every entry by
    # this much is not answered from the FAQ.
    offtopic_margin: float = 0.0
    offtopic_marker_weight: float = 0.5  # a kept question word, as a share of unknown_idf
    offtopic_anchor_share: float = 0.8  # the off-topic score of a question naming the platform
    offtopic_unasked: float = 0.1  # margin given up when the entry is never asked «когда/кто…»
    # An entry whose title is about the person the question names gains this share of its
    # score; one whose title names only other people loses ``role_other`` of it.
    role_same: float = 0.05
    role_other: float = 0.05
    # A question naming nobody is most likely a teacher's, parent's or pupil's: an entry whose
    # title names only an office (``office_roles``: administrator, director…) loses this share.
    role_none: float = 0.05


@dataclass(frozen=True)
class Scored:
    entry: FaqEntry
    score: float


@dataclass(frozen=True)
class Match:
    """The result of matching one question.

    ``entry`` is the best entry, or None when its score is below the confidence threshold.
    ``score`` is the best candidate's score (0..1) even when ``entry`` is None.
    ``alternatives``: up to 3 distinct entries scoring at least the suggestion threshold, best
    first -- when confident the runners-up, otherwise the best candidates (to offer as buttons).
    ``topics``: the closest topic ids, best first, for the fallback menu.
    """

    query: str
    terms: tuple[str, ...]
    entry: FaqEntry | None
    score: float
    alternatives: tuple[Scored, ...]
    topics: tuple[str, ...]
    confident: bool
    off_topic: bool = False  # closer to a group of offtopic.yaml than to any entry
    vague: bool = False  # only says something is wrong (``vague_words``), not with what


@dataclass
class _Doc:
    tf: Counter[str]
    length: int


class FaqIndex:
    """Matcher over a FaqBook; build once at start-up with ``FaqIndex.build(book)``."""

    def __init__(self, book: FaqBook, settings: MatcherSettings) -> None:
        self.book = book
        self.settings = settings
        self.text = TextProcessor(book.language, book.synonyms)
        self.entries: list[FaqEntry] = list(book.entries.values())

        self._main: list[_Doc] = []
        self._answer: list[_Doc] = []
        self._phrases: list[str] = []  # lemma strings for the fuzzy scorer
        self._phrase_owner: list[int] = []
        surface_vocab: dict[str, str] = {}  # surface word -> lemma, for typo correction

        for number, entry in enumerate(self.entries):
            main_terms: list[str] = []
            for phrase in (entry.title, entry.short, *entry.phrasings):
                terms = self._index_terms(phrase, surface_vocab)
                main_terms.extend(terms)
                if terms:
                    self._phrases.append(" ".join(terms))
                    self._phrase_owner.append(number)
            answer_terms = self._index_terms(book.render(entry), surface_vocab)
            self._main.append(_Doc(Counter(main_terms), len(main_terms)))
            self._answer.append(_Doc(Counter(answer_terms), len(answer_terms)))

        self._synonym_words(surface_vocab)
        n = len(self.entries)
        df: Counter[str] = Counter()
        for main, answer in zip(self._main, self._answer, strict=True):
            df.update(set(main.tf) | set(answer.tf))
        self._idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self._idf_unknown = settings.unknown_idf * math.log(1 + (n + 0.5) / 0.5)
        self._avg_main = sum(d.length for d in self._main) / max(n, 1)
        self._avg_answer = sum(d.length for d in self._answer) / max(n, 1)
        self._postings: dict[str, list[int]] = defaultdict(list)
        for number, (main, answer) in enumerate(zip(self._main, self._answer, strict=True)):
            for term in set(main.tf) | set(answer.tf):
                self._postings[term].append(number)

        # Typo correction works on words of at least typo_min_length letters. Stop words and
        # filler words are targets too, so that a misspelt «пожалуйсто» is dropped, not counted
        # as an unknown word.
        noise = set(self.text.stop_words) | {p[0] for p in self.text.fillers if len(p) == 1}
        self._vocab = sorted(
            t for t in set(self._idf) | noise if len(t) >= settings.typo_min_length
        )
        self._surface = {w: l for w, l in surface_vocab.items() if len(w) >= settings.typo_min_length}
        self._surface_keys = sorted(self._surface)
        self._corrections: dict[str, str] = {}
        self._roles = frozenset(t for w in book.language.role_words for t in self.text.terms(w))
        self._offices = frozenset(t for w in book.language.office_roles
                                  for t in self.text.terms(w)) & self._roles
        self._entry_roles = [
            self._roles.intersection(self.text.terms(f"{e.title} {e.short}")) for e in self.entries
        ]
        self._vague = frozenset(t for w in book.language.vague_words for t in self.text.terms(w))
        self._prepare_fuzzy()
        self._prepare_offtopic()

    @classmethod
    def build(cls, book: FaqBook, settings: MatcherSettings | None = None) -> FaqIndex:
        return cls(book, settings or MatcherSettings())

    # -- query processing -----------------------------------------------------------------

    def _synonym_words(self, surface_vocab: dict[str, str]) -> None:
        for group in self.book.synonyms.groups:
            for item in group:
                for word in self.text.words(item):
                    surface_vocab.setdefault(word, lemma(word))

    def _index_terms(self, text: str, surface_vocab: dict[str, str]) -> list[str]:
        for word in self.text.words(text):
            if not word.isdigit():
                surface_vocab.setdefault(word, lemma(word))
        return self.text.terms(text)

    def correct(self, term: str) -> str:
        """Map a term unknown to the index to the closest vocabulary lemma, if close enough."""
        if (
            term in self._idf
            or term in self.text.stop_words
            or term.isdigit()
            or len(term) < self.settings.typo_min_length
        ):
            return term
        cached = self._corrections.get(term)
        if cached is not None:
            return cached
        known = is_known_word(term)
        if known and not self.settings.correct_known_words:
            return term
        cutoff = self.settings.typo_cutoff_known if known else self.settings.typo_cutoff
        prefix = self.settings.typo_prefix_known if known else 0
        # Among close words the more common one wins a near tie (a noisy-channel prior):
        # «сфорум» is «сферум», which nearly every entry uses, not «форум», which one mentions.
        best, best_score = term, -1.0
        bonus = self.settings.typo_frequency_bonus / max(len(self.entries), 1)
        for choices, lookup in ((self._vocab, None), (self._surface_keys, self._surface)):
            for candidate, score, _ in process.extract(
                term, choices, scorer=fuzz.ratio, score_cutoff=cutoff, limit=5
            ):
                if candidate[:prefix] != term[:prefix]:
                    continue
                target = lookup[candidate] if lookup else candidate
                score += bonus * len(self._postings.get(target, ()))
                if score > best_score:
                    best, best_score = target, score
        if len(self._corrections) >= CACHE_LIMIT:
            self._corrections.clear()
        self._corrections[term] = best
        return best

    def _prepare_offtopic(self) -> None:
        """The off-topic groups as small documents over the same terms as the entries."""
        off = self.book.offtopic
        self._keep = [p for p in (self.text._lemmas_plain(w) for w in off.keep_words) if p]
        self._anchors = frozenset(t for a in off.anchors for t in self.text.terms(a))
        # The kept question words each entry is asked with («когда закроют чаты…»): a question
        # asking «когда…» of an entry never asked so leans towards the off-topic groups.
        self._entry_markers = [
            frozenset(m for phrase in (e.title, *e.phrasings)
                      for m in self._with_markers([], self.text._lemmas_plain(phrase)))
            for e in self.entries
        ]
        self._off_docs: list[_Doc] = []
        self._off_phrases: list[str] = []
        self._off_owner: list[int] = []
        for number, phrasings in enumerate(off.groups.values()):
            group: list[str] = []
            for phrase in phrasings:
                lemmas = list(self.text._lemmas_plain(phrase))
                terms = self._with_markers(self.text.rewrite(lemmas), lemmas)
                terms = [t for t in terms if t not in self.text.stop_words]
                if terms:
                    group.extend(terms)
                    self._off_phrases.append(" ".join(terms))
                    self._off_owner.append(number)
            self._off_docs.append(_Doc(Counter(group), len(group)))
        self._off_avg = sum(d.length for d in self._off_docs) / max(len(self._off_docs), 1)

    def _with_markers(self, terms: list[str], lemmas: Sequence[str]) -> list[str]:
        """Terms plus a marker for each kept question word («когда», «кто») found in ``lemmas``."""
        found = list(terms)
        for phrase in self._keep:
            size = len(phrase)
            if any(tuple(lemmas[i:i + size]) == phrase for i in range(len(lemmas) - size + 1)):
                found.append("?" + "_".join(phrase))
        return found

    def _off_weight(self, term: str) -> float:
        if term.startswith("?"):
            return self._idf_unknown * self.settings.offtopic_marker_weight
        return self._weight(term)

    def offtopic_score(self, terms: Sequence[str]) -> float:
        """How close a question (terms with markers) is to the nearest off-topic group, 0..1."""
        if not self._off_docs or not terms:
            return 0.0
        s = self.settings
        weights = {t: self._off_weight(t) for t in terms}
        total = min(sum(weights.values()), s.query_cap * self._idf_unknown)
        if total <= 0:
            return 0.0
        bm25 = []
        for doc in self._off_docs:
            norm = s.bm25_k * (1 - s.bm25_b + s.bm25_b * doc.length / self._off_avg)
            score = sum(w * doc.tf[t] / (doc.tf[t] + norm) for t, w in weights.items() if doc.tf[t])
            bm25.append(min(1.0, score / total))
        fuzzy = [0.0] * len(self._off_docs)
        for _, ratio, at in process.extract(" ".join(terms), self._off_phrases,
                                            scorer=fuzz.token_set_ratio, limit=None):
            owner = self._off_owner[at]
            fuzzy[owner] = max(fuzzy[owner], ratio / 100)
        blend = s.weight_bm25 + s.weight_answer
        best = max(blend * b + s.weight_fuzzy * f for b, f in zip(bm25, fuzzy, strict=True))
        if self._anchors.intersection(terms):
            best *= s.offtopic_anchor_share
        return best

    def _query_lemmas(self, text: str) -> list[str]:
        words = self.text.words(text)[: self.settings.max_words]
        lemmas = []
        for word in words:
            base = self.text.lemma(word)
            if (base not in self._idf and base not in self.text.stop_words and not word.isdigit()
                    and (base,) not in self.text.synonyms):  # «конфа»: a synonym, not a typo
                fixed = self.correct(base)
                if fixed == base and word != base:
                    # pymorphy3 guessed a lemma for an unknown word; try the surface form too.
                    fixed = self.correct(word)
                    fixed = base if fixed == word else fixed
                base = fixed
            lemmas.append(base)
        return lemmas

    def query_terms(self, text: str) -> list[str]:
        """The lemma terms a question is matched with (typos corrected, synonyms applied)."""
        return self._terms_of(self._query_lemmas(text))

    def _terms_of(self, lemmas: list[str]) -> list[str]:
        terms = [t for t in self.text.rewrite(lemmas) if t not in self.text.stop_words]
        return list(dict.fromkeys(terms))  # unique, order kept

    def known_terms(self, text: str) -> list[str]:
        """The terms of a question that occur somewhere in the FAQ."""
        return self.known(self.query_terms(text))

    def known(self, terms: Iterable[str]) -> list[str]:
        """Those of already computed terms (e.g. ``Match.terms``) that occur in the FAQ."""
        return [t for t in terms if t in self._idf]

    # -- scoring --------------------------------------------------------------------------

    def _bm25(self, terms: Sequence[str], docs: list[_Doc], avg: float) -> dict[int, float]:
        """BM25 normalised to 0..1 by the query weight (unknown terms count against it)."""
        k, b = self.settings.bm25_k, self.settings.bm25_b
        total = self._query_weight(terms)
        scores: dict[int, float] = defaultdict(float)
        if total <= 0:
            return scores
        for term in terms:
            idf = self._idf.get(term)
            if idf is None:
                continue
            for number in self._postings[term]:
                doc = docs[number]
                tf = doc.tf.get(term, 0)
                if tf:
                    norm = k * (1 - b + b * doc.length / avg) if avg else k
                    scores[number] += idf * tf / (tf + norm)
        return {n: min(1.0, s / total) for n, s in scores.items()}

    def _weight(self, term: str) -> float:
        """IDF of a known term; for an unknown one a fixed weight, lower unless it is a noun."""
        idf = self._idf.get(term)
        if idf is not None:
            return idf
        if is_subject_word(term):
            return self._idf_unknown
        return self._idf_unknown * self.settings.unknown_other

    def _query_weight(self, terms: Sequence[str]) -> float:
        """The IDF mass of a question, capped so long, rambling questions are not drowned."""
        total = sum(self._weight(t) for t in terms)
        return min(total, self.settings.query_cap * self._idf_unknown)

    def _prepare_fuzzy(self) -> None:
        """Which phrasings hold each term, so a question is compared only with the phrasings
        that share a word with it (the others' character-level similarity is noise: counting
        them changed no decision on the labelled sets, and skipping them spares numpy, ~15 MB)."""
        by_token: dict[str, list[int]] = defaultdict(list)
        for number, phrase in enumerate(self._phrases):
            for token in dict.fromkeys(phrase.split()):
                by_token[token].append(number)
        self._phrases_with = dict(by_token)

    def _coverage(self, terms: Sequence[str]) -> float:
        """A fuzzy hit only counts as much as the known part of the question, so questions made
        mostly of words the FAQ never uses are not lifted by one shared word."""
        known = sum(self._idf.get(t, 0.0) for t in terms)
        total = self._query_weight(terms)
        return min(1.0, known / total) if total else 0.0

    def _fuzzy(self, terms: Sequence[str]) -> dict[int, float]:
        """Per entry, the best blend of token_set_ratio and token_sort_ratio over its phrasings
        that share a word with the question (two C passes over those phrasings)."""
        scores: dict[int, float] = {}
        if not terms or not self._phrases:
            return scores
        query = " ".join(terms)
        shared = sorted({n for t in set(query.split()) for n in self._phrases_with.get(t, ())})
        if not shared:
            return scores
        subset = [self._phrases[n] for n in shared]
        share = self.settings.fuzzy_sort_share
        combined = [0.0] * len(shared)
        for _, score, at in process.extract(query, subset, scorer=fuzz.token_set_ratio,
                                            limit=None):
            combined[at] = (1 - share) * score
        if share:
            for _, score, at in process.extract(query, subset, scorer=fuzz.token_sort_ratio,
                                                limit=None):
                combined[at] += share * score
        for number, score in zip(shared, combined, strict=True):
            owner = self._phrase_owner[number]
            if score > scores.get(owner, 0.0):
                scores[owner] = score
        coverage = self._coverage(terms)
        return {n: s / 100 * coverage for n, s in scores.items()}

    def _fuzzy_reference(self, terms: Sequence[str]) -> dict[int, float]:
        """The straightforward form of ``_fuzzy`` (every phrasing, one by one, through
        rapidfuzz's own token scorers); kept for the test that both give the same scores."""
        scores: dict[int, float] = {}
        if not terms:
            return scores
        query = " ".join(terms)
        words = set(query.split())
        share = self.settings.fuzzy_sort_share
        for phrase, owner in zip(self._phrases, self._phrase_owner, strict=True):
            if not words.intersection(phrase.split()):
                continue
            score = ((1 - share) * fuzz.token_set_ratio(query, phrase)
                     + share * fuzz.token_sort_ratio(query, phrase))
            if score > scores.get(owner, 0.0):
                scores[owner] = score
        coverage = self._coverage(terms)
        return {n: s / 100 * coverage for n, s in scores.items()}

    def scores(self, terms: Sequence[str]) -> list[tuple[int, float]]:
        s = self.settings
        main = self._bm25(terms, self._main, self._avg_main)
        answer = self._bm25(terms, self._answer, self._avg_answer)
        fuzzy = self._fuzzy(terms)
        combined = {
            n: s.weight_bm25 * main.get(n, 0.0)
            + s.weight_fuzzy * fuzzy.get(n, 0.0)
            + s.weight_answer * answer.get(n, 0.0)
            for n in set(main) | set(answer) | set(fuzzy)
        }
        asked = self._roles.intersection(terms)
        if asked and (s.role_same or s.role_other):
            # Only the order changes: each entry keeps its own score, so the decision between
            # answer and «не знаю» is not moved by who the question is about.
            def agree(n: int) -> float:
                named = self._entry_roles[n]
                factor = 1 + s.role_same if named & asked else 1 - s.role_other if named else 1.0
                return combined[n] * factor
            return sorted(combined.items(), key=lambda kv: (-agree(kv[0]), kv[0]))
        if not asked and s.role_none and self._offices:
            def plain(n: int) -> float:
                named = self._entry_roles[n]
                return combined[n] * (1 - s.role_none if named and named <= self._offices else 1.0)
            return sorted(combined.items(), key=lambda kv: (-plain(kv[0]), kv[0]))
        return sorted(combined.items(), key=lambda kv: (-kv[1], kv[0]))

    def match(self, text: str) -> Match:
        s = self.settings
        lemmas = self._query_lemmas(text)
        terms = self._terms_of(lemmas)
        ranked = self.scores(terms) if terms else []
        if not ranked:
            return Match(text, tuple(terms), None, 0.0, (), (), False)

        best_number, best_score = ranked[0]
        marked = self._with_markers(terms, lemmas)
        off = self.offtopic_score(marked)
        asked = {t for t in marked if t.startswith("?")} - self._entry_markers[best_number]
        margin = s.offtopic_margin - (s.offtopic_unasked if asked else 0.0)
        off_topic = off > 0 and off >= best_score + margin
        vague = all(t in self._vague for t in terms)  # «не работает»: but what?
        confident = best_score >= s.threshold and not off_topic and not vague
        # Confident: the runners-up; not confident: the best candidates, offered as suggestions.
        candidates = ranked[1:] if confident else ranked
        alternatives = tuple(
            Scored(self.entries[n], round(sc, 4))
            for n, sc in candidates[: s.max_alternatives]
            if sc >= s.suggest_threshold
        )
        topic_best: dict[str, float] = {}
        for number, score in ranked:
            topic = self.entries[number].topic
            if topic not in topic_best:
                topic_best[topic] = score
        topics = tuple(sorted(topic_best, key=lambda t: -topic_best[t])[: s.max_topics])
        return Match(
            query=text,
            terms=tuple(terms),
            entry=self.entries[best_number] if confident else None,
            score=round(min(max(best_score, 0.0), 1.0), 4),
            alternatives=alternatives,
            topics=topics,
            confident=confident,
            off_topic=off_topic,
            vague=vague,
        )
