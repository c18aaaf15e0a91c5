"""What a message is before it is a question: small talk, a polite opening, several questions.

``understand(index, talk, text)`` turns one message into a decision the dialog acts on:

* ``talk`` -- greetings, thanks, «ок», «не то», «человека позовите», swearing: answered briefly
  from content (``content/faq/smalltalk.yaml`` lists the phrases), never logged as unanswered;
* ``answer`` -- one entry, confident enough to answer outright;
* ``parts`` -- several questions in one message, each answered;
* ``suggest`` -- not sure: «возможно, Вы об этом» with the closest entries as buttons, led by
  the best one's short answer when it is a fair guess (``guess``);
* ``unknown`` -- the honest «не знаю» and an offer to ask a coordinator.

A greeting or a polite opening («Добрый день! подскажите пожалуйста, …») is dropped before
matching, so it neither hides the question nor adds noise to it. The thresholds live in
``Decision`` and were chosen on the tuned labelled set (tests/faq_questions.yaml) with
bench/faq.py; see the README.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rapidfuzz import fuzz, process

from core.faq.index import (
    LANGUAGE_FILE,
    FaqError,
    FaqIndex,
    LanguageData,
    Match,
    CYRILLIC_LETTERS,
    Synonyms,
    TextProcessor,
    is_known_word,
    is_subject_word,
    lemma,
    normalize,
)
from core.kernel.yamltext import load_yaml

SMALLTALK_FILE = "smalltalk.yaml"
KINDS = ("human", "wrong", "swearing", "thanks", "bye", "understood", "ok", "greeting", "ask")
# Kinds that may open or close a question («Добрый день, …», «…, спасибо»); the others count
# only as the whole message («класс» is praise alone, a school class at the end of a question).
EDGE_KINDS = frozenset({"greeting", "ask", "thanks", "bye"})
# Kinds that make a message small talk even with a few other words («тупой бот», «спасибо,
# всё получилось»), unlike a greeting before an unknown question, which is still a question.
TALK_KINDS = frozenset({"human", "wrong", "swearing", "thanks", "bye", "understood", "ok",
                        "annoyed"})
# «капец», «ужас»: annoyance, answered as swearing only when the message says nothing else
# («капец, спасибо» is thanks).
ANNOYED = "annoyed"
FUZZY_MIN_LENGTH = 7  # «здраствуйте», «спасибоо»: a typo in a long word is still that word
FUZZY_CUTOFF = 84.0
# Inside a longer message a word the dictionary does not know («спасиба», «пасибки», «здрасти»)
# is read as the closest small-talk word from this length on.
WORD_TYPO_MIN_LENGTH = 5
# Where one message holds several questions: sentence ends, or a joint word before a question
# word (both listed in smalltalk.yaml). Parts shorter than MIN_PART_WORDS join their neighbour.
_SENTENCES = re.compile(r"[?!;\n]+|\.(?:\s|$)+|(?:^|\s)\d{1,2}\)")  # «1) … 2) …» too
# A word in Latin letters (transliterated before splitting: «kak … i kak …»).
# Not a run of Latin letters inside a Cyrillic word («cфepум»: look-alikes, read by the index).
_LATIN_WORD = re.compile(
    f"(?<![{CYRILLIC_LETTERS}])[A-Za-z][A-Za-z0-9]*(?![{CYRILLIC_LETTERS}])")
MIN_PART_WORDS = 2
# «Здравствуйте, я мама ученика 3 класса» is an introduction; a longer message that starts the
# same way describes a situation («…, в школе сказали перейти в сферум, не понимаю с чего
# начать») and is matched as a question.
INTRODUCTION_MAX_WORDS = 8


class _SmallTalkFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: dict[str, list[str]]
    swear_words: list[str] = Field(default_factory=list)
    swear_stems: list[str] = Field(default_factory=list)
    annoyance_words: list[str] = Field(default_factory=list)
    split: dict[str, list[str]] = Field(default_factory=dict)
    introductions: list[str] = Field(default_factory=list)
    cues: dict[str, list[str]] = Field(default_factory=dict)
    # Phrases built from word classes: each pattern is a list of slots, each slot the words
    # that may stand there ("" = the slot may stay empty); every combination is a phrase.
    compose: dict[str, list[list[list[str]]]] = Field(default_factory=dict)
    compose_cues: dict[str, list[list[list[str]]]] = Field(default_factory=dict)  # the same for cues


def composed(pattern: list[list[str]]) -> list[str]:
    """Every phrase a pattern of word classes makes («добрый|доброе × день|утро»)."""
    phrases = [""]
    for slot in pattern:
        phrases = [f"{head} {word}".strip() for head in phrases for word in slot]
    return [p for p in dict.fromkeys(phrases) if p]


@dataclass(frozen=True)
class SmallTalk:
    """Phrases of each kind, as tuples of normalised words."""

    phrases: dict[tuple[str, ...], str]
    swear: frozenset[str]
    longest: int
    joint: re.Pattern[str] | None = None  # «и/а (ещё)» before a question word
    question_word: re.Pattern[str] | None = None
    comma: re.Pattern[str] | None = None  # a comma before a question word
    introductions: tuple[tuple[str, ...], ...] = ()
    _vocabulary: frozenset[str] = frozenset()  # every word of every phrase
    _single: tuple[str, ...] = ()  # one-word phrases, for typo matching
    _typos: dict[str, str | None] = field(default_factory=dict)  # word -> phrase word or None
    # Words in any order that make a kind wherever they stand («поговорить … с живым человеком»):
    # (kind, lemmas), longest first.
    cues: tuple[tuple[str, frozenset[str]], ...] = ()
    swear_stems: tuple[str, ...] = ()
    annoyance: frozenset[str] = frozenset()
    words_of: Callable[[str], list[str]] | None = None  # normalise + transliterate
    _canon: dict[str, str] = field(default_factory=dict)  # word -> small-talk word it stands for
    _long_words: tuple[str, ...] = ()  # typo targets: vocabulary words of 4+ letters
    question_lemmas: frozenset[str] = frozenset()  # «как», «зачем»: ask, but say nothing
    latin: Callable[[str], str] | None = None  # a Latin-letter word in Cyrillic («kak» -> «как»)
    # Phrases built from word classes, as dictionary forms: a class matches in any inflection
    # («доброго денёчка» is «добрый денёчек»).
    lemma_phrases: dict[tuple[str, ...], str] = field(default_factory=dict)
    _lemma_vocabulary: frozenset[str] = frozenset()

    def kind_of(self, words: tuple[str, ...]) -> str | None:
        kind = self.phrases.get(words)
        if kind is None and self.lemma_phrases:
            kind = self.lemma_phrases.get(tuple(lemma(w) for w in words))
        if kind is None and len(words) == 1 and len(words[0]) >= FUZZY_MIN_LENGTH:
            word = words[0]
            if word not in self._typos:
                if len(self._typos) > 50_000:
                    self._typos.clear()
                found = process.extractOne(word, self._single, scorer=fuzz.ratio,
                                           score_cutoff=FUZZY_CUTOFF)
                self._typos[word] = found[0] if found else None
            close = self._typos[word]
            return self.phrases.get((close,)) if close else None
        return kind

    def maybe_talk(self, word: str) -> bool:
        """Cheap check before the phrase search: could this word be part of small talk?"""
        return (word in self._vocabulary or word in self.swear or word in self.annoyance
                or len(word) >= FUZZY_MIN_LENGTH or lemma(word) in self._lemma_vocabulary)

    def introduces(self, words: list[str]) -> bool:
        """«я мама…», «мы из школы…»: the person says who they are."""
        return any(tuple(words[:len(p)]) == p for p in self.introductions)

    def asks(self, text: str) -> bool:
        """A question mark or a question word: the message asks something."""
        return "?" in text or bool(self.question_word and self.question_word.search(text))

    def is_swear(self, word: str) -> bool:
        """Rude or annoyed («блин», «капец»): said in anger, not asked."""
        return word in self.swear or word in self.annoyance or word.startswith(self.swear_stems)

    def swear_kind(self, words: list[str]) -> str:
        """Swearing if any of these words is rude, else mere annoyance."""
        return ANNOYED if all(w in self.annoyance for w in words if self.is_swear(w)) else "swearing"

    def _canonical(self, word: str) -> str:
        if word in self._vocabulary or len(word) < WORD_TYPO_MIN_LENGTH or word.isdigit():
            return word
        known = self._canon.get(word)
        if known is None:
            known = word
            if not is_known_word(word):
                found = process.extractOne(word, self._long_words, scorer=fuzz.ratio,
                                           score_cutoff=FUZZY_CUTOFF)
                known = found[0] if found else word
            if len(self._canon) > 50_000:
                self._canon.clear()
            self._canon[word] = known
        return known

    def cued(self, text: str) -> tuple[list[str], frozenset[str]]:
        """(kinds whose cue words all occur in the message, the dictionary forms of those words)."""
        raw = self.words_of(text) if self.words_of else normalize(text).split()
        present = {lemma(self._canonical(w)) for w in raw}
        kinds: list[str] = []
        used: set[str] = set()
        for kind, cue in self.cues:
            if cue <= present and not cue <= used:
                kinds.append(kind)
                used |= cue
        return kinds, frozenset(used)

    def cover(self, words: list[str]) -> list[str]:
        """The kinds of a message made only of small-talk phrases («ок, понятно, спасибо»);
        empty when some word is not small talk."""
        if not all(self.maybe_talk(w) for w in words):
            return []
        best: list[list[str] | None] = [None] * (len(words) + 1)
        best[0] = []
        for end in range(1, len(words) + 1):
            for size in range(1, min(self.longest, end) + 1):
                start = best[end - size]
                if start is None:
                    continue
                kind = self.kind_of(tuple(words[end - size:end]))
                if kind is None and size == 1 and self.is_swear(words[end - 1]):
                    kind = self.swear_kind([words[end - 1]])
                if kind is not None:
                    best[end] = [*start, kind]
                    break
        return best[len(words)] or []

    def peel(self, text: str,
             is_term: Callable[[str], bool] = lambda word: False) -> tuple[list[str], list[str]]:
        """(kinds found at the edges of the message, the words left in the middle).

        Greetings, thanks and polite openings peel off either edge; the other kinds («понятно»,
        «не то», «ок») too, unless the phrase is one word that the FAQ uses (``is_term``:
        «класс» closing a question is a school class, not praise). The words left are returned
        as written (transliterated, not read as small talk), for matching."""
        raw = self.words_of(text) if self.words_of else normalize(text).split()
        words = [self._canonical(w) for w in raw]
        covered = self.cover(words)
        if covered:
            return covered, []
        found: list[str] = []
        lo, hi = 0, len(words)
        changed = True
        while lo < hi and changed:
            changed = False
            for size in range(min(self.longest, hi - lo), 0, -1):
                head = self.kind_of(tuple(words[lo:lo + size]))
                if head is not None and (head in EDGE_KINDS or size == hi - lo
                                         or size > 1 or not is_term(words[lo])):
                    found.append(head)
                    lo, changed = lo + size, True
                    break
                tail = self.kind_of(tuple(words[hi - size:hi]))
                if tail is not None and size < hi - lo and (
                        tail in EDGE_KINDS or size > 1 or not is_term(words[hi - 1])):
                    found.append(tail)
                    hi, changed = hi - size, True
                    break
        middle = words[lo:hi]
        if middle and all(self.is_swear(w) for w in middle):
            found.append(self.swear_kind(middle))
            return found, []
        if any(self.is_swear(w) for w in middle):
            # «ужас, как включить камеру»: the annoyance is heard, the question is matched.
            found.append(self.swear_kind(middle))
            return found, [w for w, c in zip(raw[lo:hi], middle, strict=True)
                           if not self.is_swear(c)]
        return found, raw[lo:hi]


def load_smalltalk(directory: Path) -> SmallTalk:
    path = Path(directory) / SMALLTALK_FILE
    try:
        data = _SmallTalkFile.model_validate(load_yaml(path.read_text(encoding="utf-8")))
        language_path = Path(directory) / LANGUAGE_FILE
        language = LanguageData.model_validate(
            load_yaml(language_path.read_text(encoding="utf-8")) or {}
        ) if language_path.is_file() else LanguageData()
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise FaqError([f"{path}: {exc}".replace("\n", " ")]) from exc
    unknown = sorted((set(data.kinds) | set(data.cues) | set(data.compose)
                      | set(data.compose_cues)) - set(KINDS))
    if unknown:
        raise FaqError([f"{path}: unknown kinds {unknown}; known: {list(KINDS)}"])
    # The same reading of words as the FAQ's (Latin spellings transliterated), so «spasibo»
    # and «спасибо» are one phrase.
    reader = TextProcessor(language, Synonyms())
    words_of = reader.words
    phrases: dict[tuple[str, ...], str] = {}
    lemma_phrases: dict[tuple[str, ...], str] = {}
    for kind in KINDS:  # the order of KINDS decides which kind owns a phrase listed twice
        built = [p for pattern in data.compose.get(kind, []) for p in composed(pattern)]
        for phrase in [*data.kinds.get(kind, []), *built]:
            words = tuple(words_of(str(phrase)))
            if words:
                phrases.setdefault(words, kind)
        for phrase in built:
            lemmas = tuple(lemma(w) for w in words_of(phrase))
            if lemmas:
                lemma_phrases.setdefault(lemmas, kind)
    swear = frozenset(normalize(w) for w in data.swear_words if normalize(w))
    cues = sorted(
        ((kind, frozenset(lemma(w) for w in words_of(str(cue))))
         for kind in KINDS
         for cue in [*data.cues.get(kind, []),
                     *(c for pattern in data.compose_cues.get(kind, []) for c in composed(pattern))]
         if words_of(str(cue))),
        key=lambda kc: -len(kc[1]))
    joints = sorted(data.split.get("joints", []), key=len, reverse=True)
    words = sorted(data.split.get("question_words", []), key=len, reverse=True)
    # Between a joint and its question word a preposition may stand («и до какого числа …»);
    # a word followed by a question particle is a question too («и учитываются ли …»).
    prepositions = data.split.get("prepositions", [])
    particles = data.split.get("particles", [])
    joint = None
    if joints and words:
        asking = "(?:" + "|".join(re.escape(w) for w in words) + r")\b"
        if prepositions:
            asking = "(?:(?:" + "|".join(re.escape(p) for p in prepositions) + r")\s+)?" + asking
        ahead = [asking]
        if particles:
            ahead.append(r"\w+\s+(?:" + "|".join(re.escape(p) for p in particles) + r")\b")
        joint = re.compile(
            r"[\s,]+(?:" + "|".join(re.escape(j) for j in joints) + r")[\s,]+(?="
            + "|".join(ahead) + ")", re.IGNORECASE)
    question_word = comma = None
    if words:
        comma = re.compile(r"\s*,\s*(?=(?:" + "|".join(re.escape(w) for w in words) + r")\b)",
                           re.IGNORECASE)
        question_word = re.compile(
            r"(?:^|\W)(?:" + "|".join(re.escape(w) for w in words) + r")(?:\W|$)", re.IGNORECASE)
    introductions = tuple(tuple(normalize(p).split()) for p in data.introductions
                          if normalize(p))
    vocabulary = frozenset(w for p in phrases for w in p)
    return SmallTalk(phrases, swear, max((len(p) for p in phrases), default=1), joint,
                     question_word, comma, introductions, vocabulary,
                     tuple(p[0] for p in phrases if len(p) == 1),
                     cues=tuple(cues),
                     swear_stems=tuple(normalize(w) for w in data.swear_stems if normalize(w)),
                     annoyance=frozenset(normalize(w) for w in data.annoyance_words if normalize(w)),
                     question_lemmas=frozenset(lemma(w) for w in words if " " not in w),
                     words_of=words_of, latin=reader.transliterate,
                     lemma_phrases=lemma_phrases,
                     _lemma_vocabulary=frozenset(w for p in lemma_phrases for w in p),
                     _long_words=tuple(sorted(w for w in vocabulary
                                              if len(w) >= WORD_TYPO_MIN_LENGTH - 1)))


@dataclass(frozen=True)
class Decision:
    """Thresholds of the answer / «did you mean» / «don't know» decision (0..1 scores).

    Chosen on the tuned set with bench/faq_calibrate.py: ``answer`` alone keeps out-of-scope
    questions out; since off-topic questions are caught by their own groups (offtopic.yaml) it
    could drop from 0.40 to 0.38 (0.36 wins about one tuned question in scope and loses one out
    of scope: too close to call, so the safer one). A lower score trusted on a clear lead over the runner-up (``margin_answer`` with
    ``margin``) did not pay on the tuned set, so ``margin_answer`` equals ``answer``.
    """

    answer: float = 0.38
    margin_answer: float = 0.38  # = answer: the margin rule did not pay on the tuned set
    margin: float = 1.6  # best / second best
    suggest: float = 0.25
    # «Не уверен… возможно, Вы спрашиваете: …» with the short answer shown: only for a guess
    # this strong and this far ahead of the runner-up. On the four tuning sets any guess was
    # right 35 times and wrong 48 (19 in scope, 29 off-topic); this one 16 and 10.
    guess: float = 0.30
    guess_lead: float = 1.15
    part: float = 0.45  # each of several questions must reach this on its own
    max_parts: int = 4


@dataclass(frozen=True)
class Understanding:
    kind: str  # "talk" | "answer" | "parts" | "suggest" | "unknown"
    text: str  # the question without the greeting (what is matched, logged and forwarded)
    talk: str | None = None  # the small-talk kind, for kind == "talk"
    matches: tuple[Match, ...] = ()  # answer: one; parts: one per answered part
    best: Match | None = None  # the whole question's match (suggest/unknown show its candidates)
    guess: str | None = None  # suggest: the entry whose short answer leads the reply

    @property
    def entry_ids(self) -> list[str]:
        return [m.entry.id for m in self.matches if m.entry is not None]


def trusted(found: Match, decision: Decision) -> bool:
    """Confident enough to answer: high score, or a clear lead over the runner-up; never a
    question closer to an off-topic group than to any entry."""
    if found.off_topic or found.vague:
        return False
    if found.entry is None and found.score < decision.margin_answer:
        return False
    if found.score >= decision.answer:
        return True
    if found.score < decision.margin_answer:
        return False
    second = found.alternatives[0].score if found.alternatives else 0.0
    best = found.alternatives[0] if found.entry is None else None
    if best is not None:  # not confident: the alternatives start with the best itself
        second = found.alternatives[1].score if len(found.alternatives) > 1 else 0.0
    return found.score >= decision.margin * max(second, 1e-9) or second == 0.0


def fair_guess(found: Match, decision: Decision) -> str | None:
    """The entry worth showing as a guess, or None: not for a message that only says something
    is broken (nothing to guess from), nor for a weak or close call."""
    if found.vague or not found.alternatives:
        return None
    top = found.alternatives[0]
    second = found.alternatives[1].score if len(found.alternatives) > 1 else 0.0
    if top.score < decision.guess or top.score < decision.guess_lead * second:
        return None
    return top.entry.id


def best_entry(found: Match) -> Match:
    """A Match that names its best candidate as the entry (used once ``trusted`` said yes)."""
    if found.entry is not None or not found.alternatives:
        return found
    top = found.alternatives[0]
    return Match(found.query, found.terms, top.entry, found.score, found.alternatives[1:],
                 found.topics, True)


def split_questions(talk: SmallTalk, text: str, limit: int) -> list[str]:
    """The questions of a message, in order; one element when it holds one question."""
    if talk.latin is not None and _LATIN_WORD.search(text):
        text = _LATIN_WORD.sub(lambda m: talk.latin(m.group(0).lower()), text)
    pieces: list[str] = []
    for sentence in _SENTENCES.split(text):
        if talk.joint is None:
            pieces.append(sentence)
        else:
            pieces.extend(p for p in talk.joint.split(" " + sentence) if p and p.strip())
    if talk.comma is not None:
        # «как начать урок, как показать экран»: two questions; «учителя зарегались, что дальше
        # делать»: the first clause tells where the person is, so it stays with the question.
        split: list[str] = []
        for piece in pieces:
            clauses = talk.comma.split(piece)
            merged = [clauses[0]]
            for clause in clauses[1:]:
                if talk.asks(merged[-1]):
                    merged.append(clause)
                else:
                    merged[-1] = f"{merged[-1]}, {clause}"
            split.extend(merged)
        pieces = split
    parts: list[str] = []
    for piece in (p.strip(" ,.-—") for p in pieces):
        if not piece:
            continue
        if parts and len(normalize(piece).split()) < MIN_PART_WORDS:
            parts[-1] = f"{parts[-1]} {piece}"
        else:
            parts.append(piece)
    return parts[:limit] if parts else [text]


def _talk(kinds: list[str], rest: list[str], text: str) -> Understanding:
    kind = next((k for k in KINDS if k in kinds),
                "swearing" if ANNOYED in kinds else "ask" if rest else "ok")
    return Understanding("talk", text, talk=kind)


def _about_something(index: FaqIndex, talk: SmallTalk, left: Match, words: list[str]) -> bool:
    """What is left beside a cue asks about a thing the FAQ knows («…завуч велела быть в
    сферуме, а я не пойму, как туда попасть»): a question, even when its score is low, not
    «не то» («не понял ответ» names nothing and asks nothing)."""
    return talk.asks(" ".join(words)) and any(is_subject_word(t) for t in index.known(left.terms))


def understand(index: FaqIndex, talk: SmallTalk, text: str,
               decision: Decision | None = None) -> Understanding:
    decision = decision or Decision()

    def is_term(word: str) -> bool:
        return bool(index.known(index.query_terms(word)))

    kinds, rest = talk.peel(text, is_term)
    question = " ".join(rest)
    # Small talk: nothing left once the greeting/thanks are peeled off, or next to them only
    # words the FAQ does not know or that match nothing («блин достали уже», «тупой бот»). A
    # message with no small talk and no known words is an out-of-scope question, not small talk.
    whole = index.match(question) if rest else None  # its terms are reused below, not recomputed
    if whole is None or not whole.terms:
        return _talk(kinds, rest, question or text)
    # Cues stand anywhere and in any order («можно поговорить с живым человеком?», «можно
    # задать вопрос?»); what is left without them decides, like the rest after the edges.
    cue_kinds, used = talk.cued(text)
    residue = [w for w in rest if lemma(talk._canonical(w)) not in used]
    found_kinds = [*kinds, *cue_kinds]
    if TALK_KINDS & set(found_kinds) or cue_kinds:
        left = whole if len(residue) == len(rest) else (index.match(" ".join(residue))
                                                        if residue else None)
        if left is None or not left.terms or TALK_KINDS & set(found_kinds) and (
                not index.known(left.terms) or left.score < decision.suggest
                and not _about_something(index, talk, left, residue)):
            return _talk(found_kinds, residue, question or text)
    if not [t for t in whole.terms if t not in talk.question_lemmas]:
        # «ну и зачем мне это», «как?»: a question word and nothing to ask about.
        return _talk(found_kinds, rest, question or text)
    if found_kinds and not talk.asks(text) and (
            TALK_KINDS & set(found_kinds) or not index.known(whole.terms)):
        # «спасибо огромное, всё работает», «Добрый вечер, извините за беспокойство»: small
        # talk around words that ask nothing (no question mark, no question word).
        return _talk(found_kinds, residue, question or text)
    if (kinds and talk.introduces(rest) and not talk.asks(text)
            and len(rest) <= INTRODUCTION_MAX_WORDS):
        # «Здравствуйте, я мама ученика 3 класса»: an introduction, not yet a question.
        return Understanding("talk", question, talk="ask")
    parts = split_questions(talk, text, decision.max_parts)
    whole_entry = best_entry(whole).entry if trusted(whole, decision) else None
    if len(parts) > 1:
        answered: list[Match] = []
        subject: list[str] = []  # what the previous part asked about, for «…и как это сделать»
        follows_unknown = False  # an answered part came after a question the FAQ cannot answer
        unknown_before = False
        for part in parts:
            part_kinds, part_rest = talk.peel(part, is_term)
            if not part_rest:
                continue
            found = index.match(" ".join(part_rest))
            own = [w for w in part_rest if lemma(w) not in talk.question_lemmas]
            if subject and not [t for t in found.terms if t not in talk.question_lemmas]:
                # «зачем связывать ЭЖД со Сферумом и как это сделать»: the part only asks
                # (how, why, who), its subject is the previous part's.
                found = index.match(" ".join([*part_rest, *subject]))
            elif own:  # the things it names («ЭЖД», «Сферум»), not what it does with them
                subject = [w for w in own if is_subject_word(lemma(w))]
            # A part stands on its own above ``part``; a weaker one counts when the whole
            # message points at the same entry.
            if trusted(found, decision) and (
                    found.score >= decision.part or whole_entry is not None
                    and best_entry(found).entry is whole_entry):
                found = best_entry(found)
                if found.entry is not None and found.entry.id not in {
                        m.entry.id for m in answered if m.entry}:
                    answered.append(found)
                    follows_unknown = follows_unknown or unknown_before
            elif own and (found.off_topic or found.score < decision.suggest):
                unknown_before = True
        if len(answered) > 1:
            return Understanding("parts", question, matches=tuple(answered), best=whole)
        # One part answered after a question the FAQ knows nothing about («как оформить отпуск,
        # какие документы»), or while the whole message is far from everything: the part is a
        # detail of that unknown question, not a question of its own.
        if (len(answered) == 1 and not trusted(whole, decision) and not follows_unknown
                and whole.score >= decision.suggest):
            return Understanding("answer", question, matches=tuple(answered), best=whole)
    if trusted(whole, decision):
        return Understanding("answer", question, matches=(best_entry(whole),), best=whole)
    if whole.off_topic:
        # «кто директор нашей школы»: about the school, not the platform; no «did you mean».
        return Understanding("unknown", question, best=whole)
    if whole.score >= decision.suggest and whole.alternatives:
        return Understanding("suggest", question, best=whole, guess=fair_guess(whole, decision))
    return Understanding("unknown", question, best=whole)
